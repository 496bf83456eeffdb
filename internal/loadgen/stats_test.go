package loadgen

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentileNearestRank(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, ms(i))
	}
	ten := hundred[:10]
	cases := []struct {
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{hundred, 50, ms(50)},
		{hundred, 90, ms(90)},
		{hundred, 99, ms(99)},
		{hundred, 99.5, ms(100)},
		{hundred, 100, ms(100)},
		{hundred, 0.1, ms(1)},
		{ten, 50, ms(5)},
		{ten, 90, ms(9)},
		{ten, 91, ms(10)},
		{ten, 99, ms(10)},
		{ten[:1], 50, ms(1)},
		{ten[:1], 99, ms(1)},
		{ten[:2], 50, ms(1)},
		{ten[:2], 51, ms(2)},
		{nil, 50, 0},
	}
	for _, c := range cases {
		if got := Percentile(c.samples, c.p); got != c.want {
			t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(c.samples), c.p, got, c.want)
		}
	}
}

func TestSummarizeIsExact(t *testing.T) {
	// 1000 samples 1..1000 µs in random order, plus one outlier.
	var s []time.Duration
	for i := 1; i <= 1000; i++ {
		s = append(s, time.Duration(i)*time.Microsecond)
	}
	s = append(s, 5*time.Second)
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	l := Summarize(s)
	want := Latency{Count: 1001, Min: time.Microsecond, P50: 501 * time.Microsecond, P90: 901 * time.Microsecond,
		P99: 991 * time.Microsecond, Max: 5 * time.Second,
		Mean: (500500*time.Microsecond + 5*time.Second) / 1001}
	if l != want {
		t.Errorf("Summarize = %+v\nwant        %+v", l, want)
	}
	if !slices.IsSorted(s) {
		t.Error("Summarize did not sort the samples")
	}
	if (Summarize(nil) != Latency{}) {
		t.Error("Summarize(nil) is not zero")
	}
	b, err := json.Marshal(Latency{Count: 2, P50: 1500 * time.Microsecond, Max: 2*time.Second + 345*time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"count":2`, `"p50_ms":1.5`, `"max_ms":2000.345`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1000: "-1,000"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}
