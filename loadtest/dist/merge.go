package dist

import (
	"errors"

	"github.com/meridian-xmpp/meridian/loadtest"
	"github.com/meridian-xmpp/meridian/loadtest/stats"
)

// Merge combines the results of one run's agents. Counts add; rates add
// (the agents ran at the same time); histograms merge exactly, for the
// whole run and for each second of the series; the server's figures come
// from the agent that measured it.
func Merge(rs []*loadtest.Result) (*loadtest.Result, error) {
	if len(rs) == 0 {
		return nil, errors.New("dist: nothing to merge")
	}
	out := *rs[0]
	out.Users, out.Connected, out.MessagesSent, out.MessagesReceived = 0, 0, 0, 0
	out.LoginsPerSec, out.MessagesPerSec, out.Rate, out.LoginS, out.LoadS, out.DurationS = 0, 0, 0, 0, 0, 0
	out.Errors = map[string]int64{}
	out.Series = nil
	out.Histograms = nil
	out.Agents = len(rs)
	hists := map[string]*stats.Histogram{}
	var points []*stats.Histogram
	for _, r := range rs {
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		out.DurationS = max(out.DurationS, r.DurationS)
		out.Users += r.Users
		out.Connected += r.Connected
		out.LoginS = max(out.LoginS, r.LoginS)
		out.LoadS = max(out.LoadS, r.LoadS)
		out.Rate += r.Rate
		out.MessagesSent += r.MessagesSent
		out.MessagesReceived += r.MessagesReceived
		out.MessagesPerSec += r.MessagesPerSec
		for k, v := range r.Errors {
			out.Errors[k] += v
		}
		if r.Server.PID != 0 {
			out.Server = r.Server
		}
		for name, enc := range r.Histograms {
			h, err := stats.Decode(enc)
			if err != nil {
				return nil, err
			}
			if hists[name] == nil {
				hists[name] = stats.NewHistogram()
			}
			hists[name].Merge(h)
		}
		for i, p := range r.Series {
			if i >= len(out.Series) {
				out.Series = append(out.Series, loadtest.Point{T: p.T})
				points = append(points, stats.NewHistogram())
			}
			q := &out.Series[i]
			q.Sent += p.Sent
			q.Received += p.Received
			q.Connected += p.Connected
			q.Errors += p.Errors
			q.RSSBytes = max(q.RSSBytes, p.RSSBytes)
			q.CPUPercent = max(q.CPUPercent, p.CPUPercent)
			if p.Hist != "" {
				h, err := stats.Decode(p.Hist)
				if err != nil {
					return nil, err
				}
				points[i].Merge(h)
			}
		}
	}
	if out.LoginS > 0 {
		out.LoginsPerSec = float64(out.Connected) / out.LoginS
	}
	for i := range out.Series {
		s := points[i].Summary()
		out.Series[i].P50ms, out.Series[i].P99ms = s.P50, s.P99
	}
	for name, dst := range map[string]*loadtest.Summary{
		"latency": &out.Latency, "connect": &out.Connect, "tls": &out.TLS, "auth": &out.Auth, "bind": &out.Bind, "send_lag": &out.SendLag,
	} {
		if h := hists[name]; h != nil {
			*dst = h.Summary()
		}
	}
	return &out, nil
}
