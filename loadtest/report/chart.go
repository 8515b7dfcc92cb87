package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// line is one series of a chart.
type line struct {
	name  string
	color string
	ys    []float64
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}

// chart renders lines over xs (seconds) as an inline SVG.
func chart(title, unit string, xs []float64, lines ...line) template.HTML {
	const (
		w, h          = 720.0, 220.0
		left, right   = 64.0, 16.0
		top, bottom   = 28.0, 44.0
		plotW, plotH  = w - left - right, h - top - bottom
		gridLineCount = 4
	)
	maxX, maxY := 1.0, 0.0
	for _, x := range xs {
		maxX = math.Max(maxX, x)
	}
	for _, l := range lines {
		for _, y := range l.ys {
			maxY = math.Max(maxY, y)
		}
	}
	maxY = niceCeil(maxY)
	px := func(x float64) float64 { return left + x/maxX*plotW }
	py := func(y float64) float64 { return top + plotH - y/maxY*plotH }
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s">`, w, h, w, h, esc(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="16" font-size="13" font-weight="bold">%s</text>`, left, esc(title+" ("+unit+")"))
	for i := 0; i <= gridLineCount; i++ {
		y := maxY * float64(i) / gridLineCount
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`, left, py(y), w-right, py(y))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="end">%s</text>`, left-4, py(y)+3, esc(short(y)))
	}
	for i := 0; i <= 4; i++ {
		x := maxX * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" text-anchor="middle">%.0f s</text>`, px(x), h-bottom+14, x)
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888"/>`, left, top+plotH, w-right, top+plotH)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888"/>`, left, top, left, top+plotH)
	for i, l := range lines {
		var pts []string
		for j, y := range l.ys {
			if j < len(xs) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(xs[j]), py(y)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, l.color, strings.Join(pts, " "))
		lx := left + float64(i)*140
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="12" height="3" fill="%s"/><text x="%.1f" y="%.1f" font-size="11">%s</text>`,
			lx, h-14, l.color, lx+16, h-10, esc(l.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// short formats an axis value: 1.5k, 20M, 0.25.
func short(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}
