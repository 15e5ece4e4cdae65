package ticket

import (
	"bytes"
	"fmt"
	"html"

	qrcode "github.com/skip2/go-qrcode"
)

// Recovery is the QR error correction level: medium (≈15 % of the symbol
// may be damaged), a balance between a smudged paper in a truck cab and a
// symbol small enough for a manifest page.
const Recovery = qrcode.Medium

// PrintPixels is the least width of a PNG: about 50 mm at 300 dpi, so a
// module is ≥ 0.5 mm on an A4 print of a ~400-byte ticket URL.
const PrintPixels = 600

// QuietZone is the white border, in modules, that Bitmap includes (the
// 4 modules ISO/IEC 18004 requires).
const QuietZone = 4

// Bitmap returns the QR symbol of content, quiet zone included:
// bitmap[y][x] is true for a dark module.
func Bitmap(content string) ([][]bool, error) {
	q, err := qrcode.New(content, Recovery)
	if err != nil {
		return nil, fmt.Errorf("ticket: qr: %w", err)
	}
	return q.Bitmap(), nil
}

// PNG renders content as a black-on-white PNG whose modules are whole
// pixels (no resampling blur), at least PrintPixels wide.
func PNG(content string) ([]byte, error) {
	q, err := qrcode.New(content, Recovery)
	if err != nil {
		return nil, fmt.Errorf("ticket: qr: %w", err)
	}
	n := len(q.Bitmap())
	scale := (PrintPixels + n - 1) / n
	b, err := q.PNG(-scale)
	if err != nil {
		return nil, fmt.Errorf("ticket: qr: %w", err)
	}
	return b, nil
}

// SVG renders content as a standalone SVG document: one path of unit
// squares on a viewBox of one unit per module (quiet zone included),
// drawn sizeMM millimetres wide (50 when sizeMM ≤ 0). It has no XML
// declaration, so the same bytes can be inlined in HTML.
func SVG(content string, sizeMM int) ([]byte, error) {
	bm, err := Bitmap(content)
	if err != nil {
		return nil, err
	}
	if sizeMM <= 0 {
		sizeMM = 50
	}
	n := len(bm)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 %d %d" width="%dmm" height="%dmm" shape-rendering="crispEdges" role="img" aria-label="QR">`, n, n, sizeMM, sizeMM)
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(content))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bm {
		for x := 0; x < n; {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < n && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}
