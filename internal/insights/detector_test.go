package insights

import (
	"math/rand/v2"
	"testing"
	"time"
)

var testKey = Key{Account: "111111111111", Region: "us-east-1", EventSource: "ec2.amazonaws.com",
	EventName: "RunInstances", InsightType: TypeCallRate}

var (
	alice    = Attrs{UserIdentityARN: "arn:aws:iam::111111111111:user/alice", UserAgent: "aws-cli/2"}
	mallory  = Attrs{UserIdentityARN: "arn:aws:iam::111111111111:user/mallory", UserAgent: "boto3/1.34"}
	t0       = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	t0Minute = Minute(t0)
)

// backfill gives the detector days of history before t0, count(m) events
// per minute, as late events (eventTimes in the past).
func backfill(d *Detector, days int, count func(m int64) uint32) {
	for m := t0Minute - int64(days)*1440; m < t0Minute; m++ {
		d.observeN(testKey, time.Unix(m*60, 0), alice, count(m))
		if m%60 == 59 {
			d.Flush()
		}
	}
	d.Flush()
}

// live feeds minute m with n events by who, then closes it.
func live(d *Detector, m int64, n uint32, who Attrs) []Transition {
	d.observeN(testKey, time.Unix(m*60, 0), who, n)
	return d.Close(m, nil)
}

func newTestDetector() *Detector {
	return NewDetector(Config{Window: 168 * time.Hour}, t0Minute-1)
}

func TestBurstStartsAndEndsOneInsight(t *testing.T) {
	d := newTestDetector()
	rng := rand.New(rand.NewPCG(1, 2))
	backfill(d, 7, func(int64) uint32 { return poisson(rng, 20) })
	var got []Transition
	m := t0Minute
	for ; m < t0Minute+60; m++ {
		got = append(got, live(d, m, poisson(rng, 20), alice)...)
	}
	if len(got) != 0 {
		t.Fatalf("steady traffic started Insights: %+v", got)
	}
	burst := m
	got = append(got, live(d, m, 400, mallory)...)
	m++
	got = append(got, live(d, m, 300, mallory)...)
	m++
	for ; m < burst+10; m++ {
		got = append(got, live(d, m, poisson(rng, 20), alice)...)
	}
	if len(got) != 2 || got[0].State != "Start" || got[1].State != "End" {
		t.Fatalf("want one Start and one End, got %+v", got)
	}
	start, end := got[0], got[1]
	if start.SharedEventID != end.SharedEventID || start.SharedEventID != SharedEventID(nil, testKey, burst) {
		t.Errorf("sharedEventIDs %s, %s", start.SharedEventID, end.SharedEventID)
	}
	if !start.Time.Equal(time.Unix(burst*60, 0)) || !end.Time.Equal(time.Unix((burst+2)*60, 0)) {
		t.Errorf("times %v, %v", start.Time, end.Time)
	}
	s := start.Statistics
	if s.Insight.Average != 400 || s.InsightDuration != 1 || s.BaselineDuration != 7*1440 ||
		s.Baseline.Average < 19 || s.Baseline.Average > 21 {
		t.Errorf("start statistics %+v", s)
	}
	e := end.Statistics
	if e.Insight.Average != 350 || e.InsightDuration != 2 || e.BaselineDuration != s.BaselineDuration || e.Baseline != s.Baseline {
		t.Errorf("end statistics %+v", e)
	}
	who := end.Attributions[0]
	if who.Attribute != AttrUserIdentityARN || who.Insight[0].Value != mallory.UserIdentityARN || who.Insight[0].Average != 350 ||
		who.Baseline[0].Value != alice.UserIdentityARN {
		t.Errorf("identity attribution %+v", who)
	}
	if ua := end.Attributions[1]; ua.Attribute != AttrUserAgent || ua.Insight[0].Value != "boto3/1.34" {
		t.Errorf("user agent attribution %+v", ua)
	}
	if ec := end.Attributions[2]; ec.Attribute != AttrErrorCode || ec.Insight[0].Value != "null" {
		t.Errorf("error code attribution %+v", ec)
	}
}

func TestRarelyCalledAPI(t *testing.T) {
	d := newTestDetector()
	// Once a day.
	backfill(d, 7, func(m int64) uint32 { return b2u(m%1440 == 600) })
	if tr := live(d, t0Minute, 8, mallory); len(tr) != 0 {
		t.Fatalf("8 calls of a rarely called API started an Insight: %+v", tr)
	}
	if tr := live(d, t0Minute+1, 30, mallory); len(tr) != 1 || tr[0].State != "Start" {
		t.Fatalf("30 calls of a rarely called API: %+v", tr)
	}
}

func TestNeverCalledAPIBeforeBaseline(t *testing.T) {
	// A young account and region (an hour of history) raises no Insight.
	d := newTestDetector()
	d.Seen(testKey.Account, testKey.Region, t0.Add(-time.Hour))
	if tr := live(d, t0Minute, 500, mallory); len(tr) != 0 {
		t.Fatalf("Insight before the minimum baseline: %+v", tr)
	}
	// A well-observed account: an API never called before bursts.
	d = newTestDetector()
	d.Seen(testKey.Account, testKey.Region, t0.Add(-72*time.Hour))
	if tr := live(d, t0Minute, 50, mallory); len(tr) != 1 {
		t.Fatalf("first burst of a new API in an observed account: %+v", tr)
	}
}

func TestDailyRhythm(t *testing.T) {
	d := newTestDetector()
	rng := rand.New(rand.NewPCG(3, 4))
	rate := func(m int64) float64 {
		if h := (m % 1440) / 60; h >= 9 && h < 17 {
			return 100
		}
		return 2
	}
	backfill(d, 7, func(m int64) uint32 { return poisson(rng, rate(m)) })
	var got []Transition
	for m := t0Minute; m < t0Minute+1440; m++ {
		got = append(got, live(d, m, poisson(rng, rate(m)), alice)...)
	}
	if len(got) != 0 {
		t.Fatalf("a day of the usual rhythm started Insights: %+v", got)
	}
	// At 03:00 the day's busy rate is unusual.
	night := t0Minute + 1440 + 180
	d.Close(night-1, nil)
	if tr := live(d, night, 100, mallory); len(tr) != 1 || tr[0].State != "Start" {
		t.Fatalf("daytime rate at night: %+v", tr)
	}
}

func TestBurstyAPI(t *testing.T) {
	// 50 calls in one minute of every hour, nothing else: such a burst is
	// usual, a burst three times as large is not.
	d := newTestDetector()
	backfill(d, 7, func(m int64) uint32 { return 50 * b2u(m%60 == 17) })
	var got []Transition
	for m := t0Minute; m < t0Minute+120; m++ {
		got = append(got, live(d, m, 50*b2u(m%60 == 17), alice)...)
	}
	if len(got) != 0 {
		t.Fatalf("usual bursts started Insights: %+v", got)
	}
	if tr := live(d, t0Minute+120, 150, mallory); len(tr) != 1 {
		t.Fatalf("a burst three times the usual: %+v", tr)
	}
}

func TestLateEventsCountTowardBaselineOnly(t *testing.T) {
	d := newTestDetector()
	d.Seen(testKey.Account, testKey.Region, t0.Add(-72*time.Hour))
	// A burst backfilled into a closed minute is history, not an Insight.
	d.observeN(testKey, t0.Add(-10*time.Minute), mallory, 1000)
	if tr := d.Close(t0Minute+5, nil); len(tr) != 0 {
		t.Fatalf("late burst started an Insight: %+v", tr)
	}
	st := d.apis[testKey].base.stats(t0Minute+6, t0Minute-72*60, d.window)
	if st.Peak != 1000 {
		t.Fatalf("late burst not in the baseline: %+v", st)
	}
}

func TestInsightMinutesStayOutOfBaseline(t *testing.T) {
	d := newTestDetector()
	rng := rand.New(rand.NewPCG(5, 6))
	backfill(d, 7, func(int64) uint32 { return poisson(rng, 5) })
	live(d, t0Minute, 500, mallory)
	live(d, t0Minute+1, 5, alice)
	// The same burst an hour later is as unusual as the first.
	for m := t0Minute + 2; m < t0Minute+60; m++ {
		live(d, m, 5, alice)
	}
	if tr := live(d, t0Minute+60, 500, mallory); len(tr) != 1 || tr[0].State != "Start" {
		t.Fatalf("second burst: %+v", tr)
	}
}

func TestIdsDeterministic(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a, b := SharedEventID(secret, testKey, 5), SharedEventID(secret, testKey, 5)
	start := Transition{Key: testKey, State: "Start", SharedEventID: a, Time: time.Unix(5*60, 0)}
	end := start
	end.State = "End"
	if a != b || a == SharedEventID(secret, testKey, 6) || EventID(secret, start) == EventID(secret, end) {
		t.Fatal("IDs not deterministic per Insight and state")
	}
	if len(a) != 36 || a[14] != '5' {
		t.Fatalf("not UUID-shaped: %s", a)
	}
}

func TestBoundedMemory(t *testing.T) {
	d := newTestDetector()
	if got := d.BytesPerAPI(); got != 169*16 {
		t.Fatalf("BytesPerAPI = %d", got)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	backfill(d, 60, func(int64) uint32 { return poisson(rng, 3) })
	if n := len(d.apis[testKey].base.Slots); n != 169 {
		t.Fatalf("ring grew to %d slots with 60 days of history", n)
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
