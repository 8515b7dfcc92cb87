// Package stats holds what a load run measures: HDR histograms of
// latencies (exact merges across goroutines and load nodes), the latency
// recorder with its per-interval view for time series, errors by kind and
// the counters of one run. It must not do I/O.
package stats
