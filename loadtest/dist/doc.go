// Package dist runs one load scenario from several load nodes. Agents
// serve runs over HTTP+JSON; a controller splits the users (each agent
// gets its own user numbers) and the rate among them, has every agent
// provision its users, starts them all at one instant, waits until all
// have logged in and prepared, starts their load phases at one instant,
// shows their combined progress and merges their results: counts add, and HDR
// histograms (whole run and each second) merge exactly, so percentiles
// are those of all stanzas together. It owns the wire protocol and the
// merge only; the load itself is package loadtest's.
//
// Agent endpoints:
//
//	POST /v1/prepare  loadtest.Config → 200 {"users": n}   provision, then wait
//	POST /v1/start    {"start_at": time} → 202               log in from start_at, prepare, then wait ("ready")
//	POST /v1/load     {"start_at": time} → 202               start the load phase at start_at
//	GET  /v1/status   → loadtest.Status                      while it runs
//	GET  /v1/result   → loadtest.Result (with histograms)    blocks until done
//	POST /v1/abort    → 204                                  stop the current run
//
// End-to-end latency is measured where a stanza is received against the
// stamp the same process wrote (each agent's users talk among
// themselves), so agents need no synchronised clocks; start_at does
// (NTP), to start together.
package dist
