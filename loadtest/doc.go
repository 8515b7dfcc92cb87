// Package loadtest is meridian-load's engine. It provisions a run's users,
// logs them in at a controlled pace over real XMPP (STARTTLS, direct TLS
// or WebSocket, from many source addresses), runs a scenario from
// loadtest/scenario, drains, and measures: connect, TLS, authentication
// and end-to-end latencies in HDR histograms, stanzas sent and received
// per second, errors by kind, and the server process's resident memory
// and CPU when it runs on this machine. It works against any XMPP server
// (Meridian, Prosody, ejabberd) and must not know any server's internals.
//
// # JSON result
//
// Run returns a Result; meridian-load writes it as JSON (loadtest/README.md
// has the full table):
//
//	{
//	  "scenario": "chat", "transport": "starttls", "target": "127.0.0.1:5222", "domain": "localhost",
//	  "started": "2026-11-26T18:00:00Z", "duration_s": 14.2,
//	  "users": 200, "connected": 200, "login_s": 0.4, "logins_per_sec": 500,
//	  "load_s": 10, "rate": 20000,
//	  "messages_sent": 200000, "messages_received": 200000, "messages_per_sec": 19990,
//	  "latency_ms": {"count", "p50", "p90", "p99", "p999", "max", "mean"},
//	  "connect_ms": {...}, "tls_ms": {...}, "auth_ms": {...}, "bind_ms": {...}, "send_lag_ms": {...},
//	  "errors": {"kind": n},
//	  "server": {"address", "pid", "rss_bytes_before", "rss_bytes_after", "rss_per_session_bytes",
//	             "rss_bytes_max", "cpu_percent", "cpu_percent_max"},
//	  "series": [{"t", "sent", "received", "p50_ms", "p99_ms", "connected", "errors", "rss_bytes", "cpu_percent"}],
//	  "agents": 2, "histograms": {...}
//	}
//
// Latencies are milliseconds. "server" always holds the address; its
// memory and CPU figures need --server-pid. "histograms" (HdrHistogram V2,
// base64) and per-point "hist" appear only in load agents' answers, so
// that the controller merges them exactly.
package loadtest
