// Package report writes a load run's result: JSON, and a self-contained
// HTML page (inline SVG charts, no scripts, no external resources) with
// throughput, latency, connected users and the server's memory and CPU
// over time. It owns presentation only.
package report
