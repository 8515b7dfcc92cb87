package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"os"
	"sort"

	"github.com/meridian-xmpp/meridian/loadtest"
)

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":    func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"num":   func(v float64) string { return fmt.Sprintf("%.0f", v) },
	"bytes": func(v int64) string { return fmt.Sprintf("%.1f KiB", float64(v)/1024) },
	"mib":   func(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>meridian-load {{.R.Scenario}} against {{.R.Target}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:960px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}svg{display:block;margin:1em 0}
</style></head>
<body>
<h1>meridian-load: {{.R.Scenario}} against {{.R.Target}}</h1>
<p>Started {{.R.Started.Format "2006-01-02 15:04:05 UTC"}}, {{printf "%.1f" .R.DurationS}} s in all;
transport {{.R.Transport}}, domain {{.R.Domain}}{{if .R.Agents}}, {{.R.Agents}} load agents{{end}}.</p>
<table>
<tr><th>users</th><th>connected</th><th>logins/s</th><th>load phase</th><th>target rate</th><th>sent</th><th>received</th><th>received/s</th></tr>
<tr><td>{{.R.Users}}</td><td>{{.R.Connected}}</td><td>{{num .R.LoginsPerSec}}</td><td>{{printf "%.1f" .R.LoadS}} s</td><td>{{num .R.Rate}}/s</td>
<td>{{.R.MessagesSent}}</td><td>{{.R.MessagesReceived}}</td><td>{{num .R.MessagesPerSec}}</td></tr>
</table>
<h2>Latency (ms)</h2>
<table><tr><th class="l"></th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>
{{range .Rows}}<tr><th class="l">{{.Name}}</th><td>{{.S.Count}}</td><td>{{ms .S.P50}}</td><td>{{ms .S.P90}}</td><td>{{ms .S.P99}}</td><td>{{ms .S.P999}}</td><td>{{ms .S.Max}}</td><td>{{ms .S.Mean}}</td></tr>
{{end}}</table>
{{with .R.Server}}{{if .PID}}<h2>Server process {{.PID}}</h2>
<table><tr><th>RSS before login</th><th>RSS all idle</th><th>per session</th><th>RSS max</th><th>CPU (load phase)</th><th>CPU max</th></tr>
<tr><td>{{mib .RSSBefore}}</td><td>{{mib .RSSAfter}}</td><td>{{bytes .RSSPerSession}}</td><td>{{mib .RSSMax}}</td><td>{{printf "%.0f" .CPUPercent}} %</td><td>{{printf "%.0f" .CPUPercentMax}} %</td></tr></table>{{end}}{{end}}
<h2>Errors</h2>
{{if .Errors}}<table><tr><th class="l">kind</th><th>count</th></tr>{{range .Errors}}<tr><td class="l">{{.Kind}}</td><td>{{.N}}</td></tr>{{end}}</table>{{else}}<p>None.</p>{{end}}
<h2>Over time</h2>
{{range .Charts}}{{.}}{{end}}
</body></html>
`))

type row struct {
	Name string
	S    loadtest.Summary
}

type errorRow struct {
	Kind string
	N    int64
}

// Render writes the HTML report.
func Render(w io.Writer, res *loadtest.Result) error {
	var xs []float64
	var sent, recv, p50, p99, conn, rss, cpu []float64
	for _, p := range res.Series {
		xs = append(xs, p.T)
		sent = append(sent, float64(p.Sent))
		recv = append(recv, float64(p.Received))
		p50 = append(p50, p.P50ms)
		p99 = append(p99, p.P99ms)
		conn = append(conn, float64(p.Connected))
		rss = append(rss, float64(p.RSSBytes)/(1<<20))
		cpu = append(cpu, p.CPUPercent)
	}
	charts := []template.HTML{
		chart("Throughput", "stanzas per second", xs, line{"sent", palette[0], sent}, line{"received", palette[1], recv}),
		chart("End-to-end latency", "ms, per second", xs, line{"p50", palette[2], p50}, line{"p99", palette[1], p99}),
		chart("Connected users", "sessions", xs, line{"connected", palette[0], conn}),
	}
	if res.Server.PID != 0 {
		charts = append(charts,
			chart("Server resident memory", "MiB", xs, line{"RSS", palette[3], rss}),
			chart("Server CPU", "% of one core", xs, line{"CPU", palette[1], cpu}))
	}
	var errs []errorRow
	for k, v := range res.Errors {
		errs = append(errs, errorRow{k, v})
	}
	sort.Slice(errs, func(i, j int) bool {
		return errs[i].N > errs[j].N || (errs[i].N == errs[j].N && errs[i].Kind < errs[j].Kind)
	})
	return page.Execute(w, map[string]any{
		"R": res,
		"Rows": []row{
			{"end to end", res.Latency}, {"connect", res.Connect}, {"TLS", res.TLS},
			{"authentication", res.Auth}, {"bind", res.Bind}, {"send lag", res.SendLag},
		},
		"Errors": errs,
		"Charts": charts,
	})
}

// WriteHTML writes the HTML report to path.
func WriteHTML(path string, res *loadtest.Result) error {
	var b bytes.Buffer
	if err := Render(&b, res); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
