// Package procstat reads a process's resident memory and CPU time from
// Linux's /proc, for measuring a server that runs on the load machine. It
// must not know what the process is.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// RSS returns the process's resident set size in bytes (VmRSS in
// /proc/PID/status).
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			break
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("procstat: no VmRSS for pid %d", pid)
}

// CPU returns the process's user+system CPU time (/proc/PID/stat fields
// 14 and 15).
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	// The command name may hold spaces and parentheses: the fields that
	// follow start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("procstat: malformed /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("procstat: malformed /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	s, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("procstat: malformed /proc/%d/stat", pid)
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// Sampler turns successive CPU readings into a utilisation.
type Sampler struct {
	PID  int
	cpu  time.Duration
	when time.Time
}

// Sample returns the RSS now and the CPU use since the previous sample in
// percent of one core (200 is two cores busy). The first sample's CPU is 0.
func (s *Sampler) Sample() (rss int64, cpuPercent float64, err error) {
	rss, err = RSS(s.PID)
	if err != nil {
		return 0, 0, err
	}
	c, err := CPU(s.PID)
	if err != nil {
		return 0, 0, err
	}
	now := time.Now()
	if !s.when.IsZero() {
		if el := now.Sub(s.when); el > 0 {
			cpuPercent = 100 * float64(c-s.cpu) / float64(el)
		}
	}
	s.cpu, s.when = c, now
	return rss, cpuPercent, nil
}
