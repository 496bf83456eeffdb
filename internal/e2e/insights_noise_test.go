package e2e

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// insNoisyAPI is an API with random ordinary traffic: perMinute draws the
// number of its calls in a minute.
type insNoisyAPI struct {
	name, source string
	write        bool
	errorCode    string
	perMinute    func(r *rand.Rand, minute time.Time) int
}

// insPoisson draws a Poisson count of mean lambda (Knuth's method; the
// means here are small).
func insPoisson(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// insNoisyAPIs are the kinds of traffic a security engineer sees every day:
// a rarely called API, a steady one, one that follows office hours, one
// that bursts once an hour, and a steady trickle of errors.
func insNoisyAPIs(burstMinute map[int64]int) []insNoisyAPI {
	return []insNoisyAPI{
		{"CreateUser", "iam.amazonaws.com", true, "", func(r *rand.Rand, _ time.Time) int { return insPoisson(r, 0.2) }},
		{"PutObjectAcl", "s3.amazonaws.com", true, "", func(r *rand.Rand, _ time.Time) int { return insPoisson(r, 6) }},
		{"UpdateItem", "dynamodb.amazonaws.com", true, "", func(r *rand.Rand, m time.Time) int {
			if h := m.Hour(); h >= 9 && h < 17 {
				return insPoisson(r, 15)
			}
			return insPoisson(r, 1)
		}},
		{"SendCommand", "ssm.amazonaws.com", true, "", func(r *rand.Rand, m time.Time) int {
			// A cron job: one minute of each hour sends 30–50 commands.
			if m.Minute() == burstMinute[m.Unix()/3600] {
				return 30 + r.IntN(21)
			}
			return insPoisson(r, 0.3)
		}},
		{"GetSecretValue", "secretsmanager.amazonaws.com", false, "AccessDenied", func(r *rand.Rand, _ time.Time) int {
			return insPoisson(r, 2)
		}},
	}
}

// insNoisyRecords is the records of one minute of the noisy APIs, with
// eventTime inside that minute and no later than latest.
func insNoisyRecords(r *rand.Rand, apis []insNoisyAPI, minute, latest time.Time) []map[string]any {
	var out []map[string]any
	for _, a := range apis {
		for range a.perMinute(r, minute) {
			at := minute.Add(time.Duration(r.IntN(60)) * time.Second)
			if at.After(latest) {
				at = latest
			}
			extra := map[string]any{"readOnly": !a.write, "eventID": dlNewID()}
			if a.errorCode != "" {
				extra["errorCode"] = a.errorCode
			}
			out = append(out, Record(a.name, a.source, "us-east-1", at, extra))
		}
	}
	return out
}

// TestInsightsNoisyTrafficRaisesNone: three days (the baseline window) of
// random ordinary traffic of
// five kinds (rare, steady, office hours, an hourly cron burst, a trickle
// of errors) backfilled, then the same traffic live for three judged
// minutes → no Insight for any of them. Then one API called 60 times in a
// minute against its 0.5 a minute → exactly one ApiCallRateInsight Start,
// for that API: the engine was judging all along.
func TestInsightsNoisyTrafficRaisesNone(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig("\ninsights: {baseline_window: 72h, settle: 2s}\n")})
	ctx := context.Background()
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	b := dlDir{name: "noisy-logs", dir: dlMkBucket(t, srv, "noisy-logs")}
	arn := dlTrail(t, c, "noisy", b.name, nil)
	if _, err := c.PutInsightSelectors(ctx, &cloudtrail.PutInsightSelectorsInput{TrailName: aws.String(arn),
		InsightSelectors: []types.InsightSelector{{InsightType: types.InsightTypeApiCallRateInsight},
			{InsightType: types.InsightTypeApiErrorRateInsight}}}); err != nil {
		t.Fatalf("PutInsightSelectors: %v", err)
	}

	rng := rand.New(rand.NewPCG(16, 2026))
	burstMinute := map[int64]int{}
	now := time.Now().UTC()
	start := now.Add(-72 * time.Hour).Truncate(time.Hour)
	for h := start.Unix() / 3600; h <= now.Unix()/3600+1; h++ {
		burstMinute[h] = rng.IntN(60)
	}
	apis := insNoisyAPIs(burstMinute)
	control := insNoisyAPI{"AttachRolePolicy", "iam.amazonaws.com", true, "", func(r *rand.Rand, _ time.Time) int { return insPoisson(r, 0.5) }}
	all := append(apis, control)

	// The window (three days) before this minute.
	thisMinute := now.Truncate(time.Minute)
	var recs []map[string]any
	for m := start; m.Before(thisMinute); m = m.Add(time.Minute) {
		recs = append(recs, insNoisyRecords(rng, all, m, m.Add(59*time.Second))...)
		if len(recs) >= 900 {
			dlIngest(t, srv, recs...)
			recs = recs[:0]
		}
	}
	if len(recs) > 0 {
		dlIngest(t, srv, recs...)
	}

	// Three live minutes of the same traffic, each sent early in its minute.
	for range 3 {
		now := time.Now().UTC()
		if now.Second() > 40 {
			time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
			now = time.Now().UTC()
		}
		if recs := insNoisyRecords(rng, all, now.Truncate(time.Minute), now); len(recs) > 0 {
			dlIngest(t, srv, recs...)
		}
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(time.Now().UTC()))
	}

	// The control: 60 AttachRolePolicy calls in one minute.
	now = time.Now().UTC()
	if now.Second() > 40 {
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
		now = time.Now().UTC()
	}
	dlIngest(t, srv, insBurst(60, "AttachRolePolicy", "iam.amazonaws.com", now.Truncate(time.Second), map[string]any{"readOnly": false})...)

	var got []insRecord
	if !dlPoll(3*time.Minute, func() bool {
		got = insLookup(t, srv)
		for _, r := range got {
			if r.InsightDetails.EventName == "AttachRolePolicy" {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no Insight for the control burst after 3 minutes; Insights: %v\nserver log:\n%s", got, dlTail(srv.Log(), 30))
	}
	var whats []string
	for _, r := range got {
		whats = append(whats, r.what())
	}
	if w := strings.Join(whats, ","); !strings.HasPrefix(w, "AttachRolePolicy/ApiCallRateInsight/") || strings.Count(w, ",") > 1 ||
		(len(got) == 2 && w != "AttachRolePolicy/ApiCallRateInsight/End,AttachRolePolicy/ApiCallRateInsight/Start") {
		t.Fatalf("Insights %s, want only the control's (AttachRolePolicy/ApiCallRateInsight Start, perhaps its End)", w)
	}
}
