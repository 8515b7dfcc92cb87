package config

import (
	"fmt"
	"strings"
	"time"
)

// Duration is a time.Duration written in the file as a Go duration string
// ("30s", "5m", "1h30m"). Bare integers are rejected: "300" could mean
// seconds or nanoseconds, and a config must not be read two ways.
type Duration struct{ time.Duration }

// UnmarshalText parses a duration string such as "30s".
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(text)))
	if err != nil {
		return fmt.Errorf("invalid duration %q", text)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in its shortest form: "5m" rather than
// time.Duration's "5m0s".
func (d Duration) MarshalText() ([]byte, error) {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return []byte(s), nil
}
