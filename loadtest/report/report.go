// Package report writes a load run's result as JSON and as a
// self-contained HTML page with throughput and latency charts (inline SVG,
// no scripts). It owns presentation only.
package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"strings"

	"github.com/meridian-xmpp/meridian/loadtest"
)

// WriteJSON writes the result to path ("-" for w).
func WriteJSON(path string, w io.Writer, res *loadtest.Result) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = w.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// chart renders one or two series as an SVG polyline chart.
func chart(title, unit string, xs []float64, series map[string][]float64) template.HTML {
	const w, h, pad = 640.0, 200.0, 40.0
	maxX, maxY := 1.0, 1.0
	for _, x := range xs {
		maxX = max(maxX, x)
	}
	for _, ys := range series {
		for _, y := range ys {
			maxY = max(maxY, y)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" role="img"><title>%s</title>`, w, h+pad, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="14" font-size="13">%s (%s)</text>`, pad, template.HTMLEscapeString(title), unit)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#888"/>`, pad, h, w-10, h)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="20" x2="%.0f" y2="%.0f" stroke="#888"/>`, pad, pad, h)
	fmt.Fprintf(&b, `<text x="2" y="28" font-size="10">%.0f</text><text x="2" y="%.0f" font-size="10">0</text>`, maxY, h)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10">%.0f s</text>`, w-40, h+14, maxX)
	colors := []string{"#1f77b4", "#d62728", "#2ca02c"}
	i := 0
	for _, name := range sortedKeys(series) {
		ys := series[name]
		var pts []string
		for j, y := range ys {
			if j >= len(xs) {
				break
			}
			px := pad + (xs[j]/maxX)*(w-10-pad)
			py := h - (y/maxY)*(h-20)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
		}
		c := colors[i%len(colors)]
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`, c, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" fill="%s">%s</text>`, pad+10+float64(i)*120, h+30, c, template.HTMLEscapeString(name))
		i++
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func sortedKeys(m map[string][]float64) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>meridian-load: {{.R.Scenario}} against {{.R.Target}}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#eee}</style></head>
<body><h1>meridian-load: {{.R.Scenario}} against {{.R.Target}}</h1>
<p>Started {{.R.Started}}, {{printf "%.1f" .R.DurationS}} s, transport {{.R.Transport}}, {{.R.Users}} users ({{.R.Connected}} connected).</p>
<table><tr><th>logins/s</th><th>sent</th><th>received</th><th>messages/s</th><th>target rate</th></tr>
<tr><td>{{printf "%.0f" .R.LoginsPerSec}}</td><td>{{.R.MessagesSent}}</td><td>{{.R.MessagesReceived}}</td><td>{{printf "%.0f" .R.MessagesPerSec}}</td><td>{{printf "%.0f" .R.TargetRate}}</td></tr></table>
<h2>Latency (ms)</h2>
<table><tr><th></th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
{{range .Rows}}<tr><th>{{.Name}}</th><td>{{.S.Count}}</td><td>{{.S.P50}}</td><td>{{.S.P90}}</td><td>{{.S.P99}}</td><td>{{.S.P999}}</td><td>{{.S.Max}}</td></tr>{{end}}</table>
{{with .R.ServerStats}}<h2>Server process {{.PID}}</h2><p>RSS before {{.RSSBefore}} B, after login {{.RSSAfter}} B ({{.RSSPerSession}} B per session), max {{.RSSMax}} B; CPU {{printf "%.1f" .CPUPercent}} %.</p>{{end}}
<h2>Errors</h2><p>{{if .R.Errors}}{{range $k, $v := .R.Errors}}{{$k}}: {{$v}}; {{end}}{{else}}none{{end}}</p>
<h2>Over time</h2>
{{.Throughput}}<br>{{.P99}}<br>{{.Connected}}
</body></html>
`))

// WriteHTML writes the HTML report to path.
func WriteHTML(path string, res *loadtest.Result) error {
	var xs []float64
	sent, recv, p99, conn := []float64{}, []float64{}, []float64{}, []float64{}
	for _, p := range res.Series {
		xs = append(xs, p.T)
		sent = append(sent, float64(p.Sent))
		recv = append(recv, float64(p.Received))
		p99 = append(p99, p.P99ms)
		conn = append(conn, float64(p.Connected))
	}
	type row struct {
		Name string
		S    loadtest.Summary
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return page.Execute(f, map[string]any{
		"R":          res,
		"Rows":       []row{{"end to end", res.Latency}, {"connect", res.Connect}, {"TLS", res.TLS}, {"auth", res.Auth}},
		"Throughput": chart("Throughput per interval", "stanzas", xs, map[string][]float64{"sent": sent, "received": recv}),
		"P99":        chart("End-to-end p99", "ms", xs, map[string][]float64{"p99": p99}),
		"Connected":  chart("Connected users", "users", xs, map[string][]float64{"connected": conn}),
	})
}
