package ticket_test

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wasteledger/gateway/ticket"
)

const printBase = "https://wasteledger.gdee.gov.cn"

func realTicketURL(t *testing.T, kr *keyring) (url, token string) {
	t.Helper()
	tok, err := ticket.Issue(kr, sampleTicket())
	if err != nil {
		t.Fatal(err)
	}
	return ticket.URL(printBase, tok), tok
}

// zbarimg finds the independent decoder, failing with an install hint when
// it is missing (skipped only with WASTELEDGER_SKIP_ZBAR=1).
func zbarimg(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("WASTELEDGER_SKIP_ZBAR") == "1" {
			t.Skip("zbarimg missing and WASTELEDGER_SKIP_ZBAR=1")
		}
		t.Fatal("zbarimg (Debian zbar-tools) is not installed: run scripts/install-deps.sh (or make deps), or set WASTELEDGER_SKIP_ZBAR=1 to skip")
	}
	return p
}

func TestQRDecodesWithZbar(t *testing.T) {
	zbar := zbarimg(t)
	kr := newKeyring(t, "gateway-2026")
	url, tok := realTicketURL(t, kr)
	pngBytes, err := ticket.PNG(url)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ticket.png")
	if err := os.WriteFile(file, pngBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--raw", "-q", file).Output()
	if err != nil {
		t.Fatalf("zbarimg --raw -q: %v (output %q)", err, out)
	}
	got := strings.TrimRight(string(out), "\r\n")
	if got != url {
		t.Fatalf("zbarimg decoded %q, want %q", got, url)
	}
	vt, err := ticket.Verify(kr, ticket.FromURL(got), ticket.DefaultIssuer, issued.Add(time.Minute))
	if err != nil {
		t.Fatalf("Verify(decoded ticket) = %v", err)
	}
	if vt.Manifest != "20264401000123" || vt.Hash != hashV2 || ticket.FromURL(got) != tok {
		t.Errorf("decoded ticket = %+v", vt)
	}
	// Printed size: the PNG is large enough for 300 dpi, and the symbol
	// small enough that a module is at least 0.5 mm in a 50 mm print.
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	bm, _ := ticket.Bitmap(url)
	if w := img.Bounds().Dx(); w < ticket.PrintPixels || w%len(bm) != 0 {
		t.Errorf("PNG is %d px wide for %d modules; want ≥ %d and whole pixels per module", w, len(bm), ticket.PrintPixels)
	}
	if mm := 50.0 / float64(len(bm)); mm < 0.5 {
		t.Errorf("a %d-module symbol printed 50 mm wide has %.2f mm modules, want ≥ 0.5 mm", len(bm), mm)
	}
}

// TestQRDecodesDamagedPrint shows that zbar still reads a print with a
// scratch (medium recovery) and that the ticket inside still verifies.
func TestQRDecodesDamagedPrint(t *testing.T) {
	zbar := zbarimg(t)
	kr := newKeyring(t, "gateway-2026")
	url, _ := realTicketURL(t, kr)
	pngBytes, err := ticket.PNG(url)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	p := img.(*image.Paletted)
	// A white scratch across the lower middle, about 4 % of the symbol.
	w := p.Bounds().Dx()
	for y := w * 70 / 100; y < w*72/100; y++ {
		for x := w * 30 / 100; x < w*70/100; x++ {
			p.SetColorIndex(x, y, 0)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "scratched.png")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--raw", "-q", file).Output()
	if err != nil {
		t.Fatalf("zbarimg on a scratched print: %v", err)
	}
	if _, err := ticket.Verify(kr, ticket.FromURL(strings.TrimSpace(string(out))), "", issued.Add(time.Minute)); err != nil {
		t.Fatalf("Verify(ticket from scratched print) = %v", err)
	}
}

func TestSVGMatchesPNG(t *testing.T) {
	kr := newKeyring(t, "gateway-2026")
	url, _ := realTicketURL(t, kr)
	svg, err := ticket.SVG(url, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, and read back its module matrix.
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Title   string   `xml:"title"`
		Paths   []struct {
			D    string `xml:"d,attr"`
			Fill string `xml:"fill,attr"`
		} `xml:"path"`
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("SVG is not well-formed XML: %v", err)
	}
	if doc.XMLName.Space != "http://www.w3.org/2000/svg" || len(doc.Paths) != 1 || doc.Title != url {
		t.Fatalf("SVG = namespace %q, %d paths, title %q", doc.XMLName.Space, len(doc.Paths), doc.Title)
	}
	var n int
	if _, err := fmtSscanf(doc.ViewBox, &n); err != nil {
		t.Fatalf("viewBox %q: %v", doc.ViewBox, err)
	}
	fromSVG := make([][]bool, n)
	for i := range fromSVG {
		fromSVG[i] = make([]bool, n)
	}
	cmd := regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	d := doc.Paths[0].D
	for len(d) > 0 {
		m := cmd.FindStringSubmatch(d)
		if m == nil {
			t.Fatalf("unexpected path data at %.30q", d)
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		run, _ := strconv.Atoi(m[3])
		for i := 0; i < run; i++ {
			fromSVG[y][x+i] = true
		}
		d = d[len(m[0]):]
	}

	// The PNG, sampled at each module's centre.
	pngBytes, err := ticket.PNG(url)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx()%n != 0 {
		t.Fatalf("PNG width %d is not a multiple of the SVG's %d modules", img.Bounds().Dx(), n)
	}
	scale := img.Bounds().Dx() / n
	dark := 0
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			r, _, _, _ := img.At(x*scale+scale/2, y*scale+scale/2).RGBA()
			isDark := r < 0x8000
			if isDark != fromSVG[y][x] {
				t.Fatalf("module (%d,%d): PNG dark=%v, SVG dark=%v", x, y, isDark, fromSVG[y][x])
			}
			if isDark {
				dark++
			}
		}
	}
	if dark < n*n/4 {
		t.Errorf("only %d of %d modules dark; the comparison proves nothing", dark, n*n)
	}
}

func fmtSscanf(viewBox string, n *int) (int, error) {
	f := strings.Fields(viewBox)
	if len(f) != 4 || f[0] != "0" || f[1] != "0" || f[2] != f[3] {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.Atoi(f[2])
	*n = v
	return 1, err
}
