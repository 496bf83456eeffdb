package insights

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// poisson draws a Poisson(λ) count exactly (Knuth's method, in pieces of
// at most 25 so that exp(-λ) stays representable).
func poisson(rng *rand.Rand, lambda float64) uint32 {
	var n uint32
	for lambda > 0 {
		l := min(lambda, 25)
		lambda -= l
		limit, p := math.Exp(-l), 1.0
		for {
			p *= rng.Float64()
			if p <= limit {
				break
			}
			n++
		}
	}
	return n
}

// gamma4 draws a Gamma(4, 1/4) factor: mean 1, standard deviation 0.5.
func gamma4(rng *rand.Rand) float64 {
	return (rng.ExpFloat64() + rng.ExpFloat64() + rng.ExpFloat64() + rng.ExpFloat64()) / 4
}

// scenario is one kind of ordinary traffic: the count of minute m.
type scenario struct {
	name  string
	count func(rng *rand.Rand, m int64) uint32
}

func steady(lambda float64) func(*rand.Rand, int64) uint32 {
	return func(rng *rand.Rand, _ int64) uint32 { return poisson(rng, lambda) }
}

var scenarios = []scenario{
	{"steady λ=0.01/min (rare)", steady(0.01)},
	{"steady λ=0.5/min", steady(0.5)},
	{"steady λ=5/min", steady(5)},
	{"steady λ=50/min", steady(50)},
	{"steady λ=500/min", steady(500)},
	{"noisy λ=20/min, rate ×Gamma(4) each minute", func(rng *rand.Rand, _ int64) uint32 { return poisson(rng, 20*gamma4(rng)) }},
	{"noisy λ=20/min, rate ×Gamma(4) each hour", func(rng *rand.Rand, m int64) uint32 {
		h := rand.New(rand.NewPCG(uint64(m/60), 99))
		return poisson(rng, 20*gamma4(h))
	}},
	{"daily rhythm 09-17 λ=100, else λ=3, ±30 min start", func(rng *rand.Rand, m int64) uint32 {
		day := rand.New(rand.NewPCG(uint64(m/1440), 7))
		shift := int64(day.IntN(61)) - 30
		if mod := m%1440 - shift; mod >= 9*60 && mod < 17*60 {
			return poisson(rng, 100)
		}
		return poisson(rng, 3)
	}},
	{"bursty: 40±20 calls in a random minute of each hour, λ=1 else", func(rng *rand.Rand, m int64) uint32 {
		h := rand.New(rand.NewPCG(uint64(m/60), 13))
		if m%60 == int64(h.IntN(60)) {
			return uint32(20 + h.IntN(41))
		}
		return poisson(rng, 1)
	}},
}

// TestFalsePositiveRate runs each scenario for many simulated days after a
// week of backfilled history and counts the Insights it starts: every one
// is a false positive. The numbers are the README's and BENCHMARKS.md's.
func TestFalsePositiveRate(t *testing.T) {
	days := 60
	if testing.Short() {
		days = 10
	}
	var totalStarts, totalDays int
	for i, sc := range scenarios {
		rng := rand.New(rand.NewPCG(uint64(i), 2026))
		d := NewDetector(Config{Window: 168 * time.Hour}, t0Minute-1)
		backfill(d, 7, func(m int64) uint32 { return sc.count(rng, m) })
		starts, minutes := 0, 0
		for m := t0Minute; m < t0Minute+int64(days)*1440; m++ {
			for _, tr := range live(d, m, sc.count(rng, m), alice) {
				if tr.State == "Start" {
					starts++
					minutes += int(tr.Statistics.InsightDuration)
				}
			}
		}
		t.Logf("%-62s %3d days: %d Insights (%.3f per API-day)", sc.name, days, starts, float64(starts)/float64(days))
		totalStarts += starts
		totalDays += days
		if float64(starts)/float64(days) > 0.1 {
			t.Errorf("%s: %d false Insights in %d days", sc.name, starts, days)
		}
	}
	t.Logf("all scenarios: %d Insights in %d API-days (%.4f per API-day)", totalStarts, totalDays, float64(totalStarts)/float64(totalDays))
}

// TestDetectsWhatItShould is the other side of the false-positive rate:
// in each scenario, a burst of ten times the usual daytime rate (at least
// 40 calls) in one minute starts an Insight.
func TestDetectsWhatItShould(t *testing.T) {
	for i, sc := range scenarios {
		if i == len(scenarios)-1 {
			continue // bursty: checked by TestBurstyAPI
		}
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		d := NewDetector(Config{Window: 168 * time.Hour}, t0Minute-1)
		backfill(d, 7, func(m int64) uint32 { return sc.count(rng, m) })
		var peak uint32
		for m := t0Minute - 1440; m < t0Minute; m++ {
			peak = max(peak, sc.count(rng, m))
		}
		burst := max(40, 3*peak)
		m := t0Minute + 12*60 // noon
		for x := t0Minute; x < m; x++ {
			live(d, x, sc.count(rng, x), alice)
		}
		tr := live(d, m, burst, mallory)
		if len(tr) != 1 || tr[0].State != "Start" {
			t.Errorf("%s: a burst of %d calls: %+v", sc.name, burst, tr)
		}
	}
}

// TestMemoryPerAPI measures the heap of 10,000 tracked APIs, each with a
// full week of baseline and three attribution values per attribute: the
// numbers of BENCHMARKS.md.
func TestMemoryPerAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory of 10,000 APIs")
	}
	const apis = 10000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := NewDetector(Config{Window: 168 * time.Hour}, t0Minute-1)
	who := []Attrs{alice, mallory, {UserIdentityARN: "arn:aws:iam::111111111111:role/deployer", UserAgent: "terraform/1.9", ErrorCode: "AccessDenied"}}
	for i := range apis {
		k := testKey
		k.EventName = fmt.Sprintf("Operation%05d", i)
		for h := int64(0); h < 169; h++ {
			d.observeN(k, time.Unix((t0Minute-h*60)*60, 0), who[h%3], 3)
		}
	}
	d.Flush()
	runtime.GC()
	runtime.ReadMemStats(&after)
	total := after.HeapAlloc - before.HeapAlloc
	t.Logf("%d APIs with a full %s baseline: %.1f MiB heap, %d bytes per API (hour slots alone: %d bytes)",
		apis, d.cfg.Window, float64(total)/(1<<20), total/apis, d.BytesPerAPI())
	runtime.KeepAlive(d)
}
