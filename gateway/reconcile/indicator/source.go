package indicator

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"wasteledger/gateway/index"
	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
)

// Facts is what the indicators read: the index.
type Facts interface {
	Facts(ctx context.Context, s index.Scan, fn func(*index.Fact) error) error
}

// FromIndex computes the report over the facts of the region and period.
func FromIndex(ctx context.Context, src Facts, p Params) (Report, error) {
	c, err := New(p)
	if err != nil {
		return Report{}, err
	}
	err = src.Facts(ctx, index.Scan{Region: p.Region, From: p.Period.From, To: p.Period.To}, func(f *index.Fact) error {
		c.Add(f)
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	return c.Report(), nil
}

// Contributing returns the manifests that contribute to indicator id, in
// number order.
func Contributing(ctx context.Context, src Facts, p Params, id string) ([]string, error) {
	if !Known(id) {
		return nil, manifest.Errorf(manifest.NotFound, "no indicator %q", id)
	}
	c, err := New(p)
	if err != nil {
		return nil, err
	}
	out := []string{}
	err = src.Facts(ctx, index.Scan{Region: p.Region, From: p.Period.From, To: p.Period.To}, func(f *index.Fact) error {
		if c.Add(f).Has(id) {
			out = append(out, f.ID)
		}
		return nil
	})
	return out, err
}

// WriteCSV writes the report as CSV, one indicator per row.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"region", "period", "as_of", "indicator", "name_zh", "name_en", "value", "unit", "numerator", "numerator_unit",
		"denominator", "denominator_unit", "manifests", "formula", "note"})
	for _, in := range r.Indicators {
		v, dv, du := "", "", ""
		if in.Value != nil {
			v = *in.Value
		}
		if in.Denominator != nil {
			dv, du = in.Denominator.Value, in.Denominator.Unit
		}
		cw.Write([]string{r.Region, r.Period, r.AsOf.Format("2006-01-02T15:04:05Z07:00"), in.ID, in.NameZH, in.NameEN, v, in.Unit,
			in.Numerator.Value, in.Numerator.Unit, dv, du, fmt.Sprint(in.Manifests), in.Formula, in.Note})
	}
	cw.Flush()
	return cw.Error()
}

// ParseInstitutions reads the registry of medical institutions: CSV lines
// "uscc,region,name" (a header line starting with "uscc" and # comments
// are skipped).
func ParseInstitutions(r io.Reader) ([]Institution, error) {
	var out []Institution
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(strings.ToLower(line), "uscc") {
			continue
		}
		f := strings.SplitN(line, ",", 3)
		if len(f) < 2 {
			return nil, fmt.Errorf("institutions line %d: want uscc,region,name", n)
		}
		in := Institution{ID: strings.TrimSpace(f[0]), Region: strings.TrimSpace(f[1])}
		if len(f) == 3 {
			in.Name = strings.TrimSpace(f[2])
		}
		if err := manifest.ValidUSCC(in.ID); err != nil {
			return nil, fmt.Errorf("institutions line %d: %v", n, err)
		}
		if err := catalog.ValidRegion(in.Region); err != nil {
			return nil, fmt.Errorf("institutions line %d: %v", n, err)
		}
		out = append(out, in)
	}
	return out, sc.Err()
}
