package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Env describes where and when a run happened.
type Env struct {
	Time       time.Time `json:"time"`
	GoVersion  string    `json:"go_version"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	NumCPU     int       `json:"num_cpu"`
	OS         string    `json:"os"`
	Arch       string    `json:"arch"`
	Hostname   string    `json:"hostname,omitempty"`
}

func currentEnv(start time.Time) Env {
	host, _ := os.Hostname()
	return Env{
		Time:       start.UTC(),
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		NumCPU:     runtime.NumCPU(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		Hostname:   host,
	}
}

func (e Env) writeText(w io.Writer) {
	fmt.Fprintf(w, "  time        %s\n", e.Time.Format(time.RFC3339))
	fmt.Fprintf(w, "  client      %s %s/%s, GOMAXPROCS=%d, %d CPUs, host %s\n", e.GoVersion, e.OS, e.Arch, e.GOMAXPROCS, e.NumCPU, e.Hostname)
}

// ClientCPU is the CPU time the load generator itself used in the timed
// phase: when it shares a machine with the server, this is CPU the server
// did not have.
type ClientCPU struct {
	Seconds float64 `json:"seconds"`
	// Cores is Seconds over the elapsed time.
	Cores float64 `json:"cores"`
}

// cpuMeter measures the process's CPU time over an interval.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	d, ok := processCPU()
	return cpuMeter{d, ok}
}

func (m cpuMeter) stop(elapsed time.Duration) *ClientCPU {
	d, ok := processCPU()
	if !m.ok || !ok || elapsed <= 0 {
		return nil
	}
	used := d - m.start
	return &ClientCPU{Seconds: seconds(used), Cores: float64(int64(used.Seconds()/elapsed.Seconds()*100)) / 100}
}

func (c *ClientCPU) writeText(w io.Writer, numCPU int) {
	if c == nil {
		return
	}
	fmt.Fprintf(w, "  client CPU  %.2fs (%.2f of %d CPUs) used by this load generator\n", c.Seconds, c.Cores, numCPU)
}

// ErrorCount is one kind of error and how often it happened.
type ErrorCount struct {
	Error string `json:"error"`
	Count int64  `json:"count"`
}

// errorTally counts errors by kind, keeping at most maxKinds kinds.
type errorTally struct {
	mu     sync.Mutex
	counts map[string]int64
	total  int64
}

const maxErrorKinds = 20

func (t *errorTally) add(kind string, n int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = map[string]int64{}
	}
	if len(kind) > 300 {
		kind = kind[:300] + "…"
	}
	if _, ok := t.counts[kind]; !ok && len(t.counts) >= maxErrorKinds {
		kind = "(other errors)"
	}
	t.counts[kind] += n
	t.total += n
}

func (t *errorTally) list() []ErrorCount {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := []ErrorCount{}
	for k, n := range t.counts {
		out = append(out, ErrorCount{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Error < out[j].Error
	})
	return out
}

// WriteJSONFile writes a report as indented JSON to path.
func WriteJSONFile(path string, report any) error {
	b, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// jsonDuration writes a duration as its string ("30s") in JSON.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func seconds(d time.Duration) float64 { return float64(int64(d.Seconds()*1000)) / 1000 }

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// group writes n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func groupf(f float64) string {
	if f >= 100 {
		return group(int64(f + 0.5))
	}
	return fmt.Sprintf("%.1f", f)
}

func latencyLine(w io.Writer, label string, l Latency) {
	fmt.Fprintf(w, "  %-22s p50 %-9s p90 %-9s p99 %-9s max %-9s (mean %s, min %s, n=%d)\n", label,
		fmtDur(l.P50), fmtDur(l.P90), fmtDur(l.P99), fmtDur(l.Max), fmtDur(l.Mean), fmtDur(l.Min), l.Count)
}
