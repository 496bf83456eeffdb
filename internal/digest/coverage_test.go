package digest

import (
	"strings"
	"testing"
	"time"
)

func TestCheckCoverage(t *testing.T) {
	due := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	rule := CoverageRule{Due: due, Interval: time.Hour, Grace: 30 * time.Second}
	th := rule.Threshold() // 10:59:30
	fresh, stale := due.Add(-10*time.Minute), th.Add(-time.Second)
	for _, tc := range []struct {
		name   string
		chains []Chain
		since  time.Time
		want   []string // regions that fail
	}{
		{"all fresh", []Chain{{"1", "a", fresh}, {"1", "b", fresh}}, time.Time{}, nil},
		{"one region gone", []Chain{{"1", "a", fresh}, {"1", "b", time.Time{}}}, time.Time{}, []string{"b"}},
		{"one region stale", []Chain{{"1", "a", fresh}, {"1", "b", stale}}, time.Time{}, []string{"b"}},
		{"all stale, logging unknown: stopped or new", []Chain{{"1", "a", stale}, {"1", "b", time.Time{}}}, time.Time{}, nil},
		{"all stale, logging long since", []Chain{{"1", "a", stale}, {"1", "b", time.Time{}}}, due.Add(-24 * time.Hour), []string{"a", "b"}},
		{"trail newer than an interval", []Chain{{"1", "a", time.Time{}}}, due.Add(-10 * time.Minute), nil},
		{"exactly at the threshold", []Chain{{"1", "a", th}}, due.Add(-24 * time.Hour), nil},
	} {
		r := rule
		r.LoggingSince = tc.since
		got := CheckCoverage("bkt", "", "", tc.chains, r)
		var regions []string
		for _, x := range got {
			if x.Status != StatusUncovered || !strings.HasPrefix(x.String(), "Digest files\ts3://bkt/AWSLogs/1/CloudTrail-Digest/") {
				t.Errorf("%s: result %q", tc.name, x.String())
			}
			for _, c := range tc.chains {
				if strings.Contains(x.Path, "/CloudTrail-Digest/"+c.Region+"/") {
					regions = append(regions, c.Region)
				}
			}
		}
		if strings.Join(regions, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: failing regions %v, want %v", tc.name, regions, tc.want)
		}
	}
}

// TestCheckCoverageStopped: once logging stopped, each chain must have the
// final digest written at the stop (ending at most FinalDigestSlack before
// it), not just one within a digest interval of it; an epoch that began
// after the threshold still needs its final digests.
func TestCheckCoverageStopped(t *testing.T) {
	stop := time.Date(2026, 12, 6, 9, 13, 59, 980e6, time.UTC)
	rule := CoverageRule{Due: stop, Interval: 30 * time.Second, Grace: 30 * time.Second, Stopped: stop,
		LoggingSince: stop.Add(-time.Hour)}
	final := stop.Truncate(time.Second) // delivery stamps the pass time, truncated
	previous := time.Date(2026, 12, 6, 9, 13, 30, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		chains []Chain
		since  time.Time
		want   []string
	}{
		{"final digests present", []Chain{{"1", "a", final}, {"1", "b", final.Add(time.Second)}}, rule.LoggingSince, nil},
		{"final digest ends a pass before the stop (planned end)", []Chain{{"1", "a", stop.Add(-300 * time.Millisecond)}}, rule.LoggingSince, nil},
		{"final digest deleted", []Chain{{"1", "a", final}, {"1", "b", previous}}, rule.LoggingSince, []string{"b"}},
		{"all final digests deleted", []Chain{{"1", "a", previous}, {"1", "b", previous}}, rule.LoggingSince, []string{"a", "b"}},
		{"short epoch, all deleted", []Chain{{"1", "a", time.Time{}}}, stop.Add(-2 * time.Second), []string{"a"}},
		{"logging time unknown", []Chain{{"1", "a", previous}}, time.Time{}, nil},
	} {
		r := rule
		r.LoggingSince = tc.since
		var regions []string
		for _, x := range CheckCoverage("bkt", "", "", tc.chains, r) {
			if x.Status != StatusUncovered || !strings.Contains(x.Problem, "logging stopped at") {
				t.Errorf("%s: result %q", tc.name, x.String())
			}
			regions = append(regions, x.Path[strings.LastIndex(strings.TrimSuffix(x.Path, "/"), "/")+1:len(x.Path)-1])
		}
		if strings.Join(regions, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: failing regions %v, want %v", tc.name, regions, tc.want)
		}
	}
	// A short interval narrows the slack to half of it.
	short := rule
	short.Interval = 2 * time.Second
	if got := CheckCoverage("bkt", "", "", []Chain{{"1", "a", stop.Add(-1500 * time.Millisecond)}}, short); len(got) != 1 {
		t.Errorf("2s interval, digest 1.5s before the stop: %v, want it uncovered", got)
	}
	// Without Stopped the same deletion passes: the old threshold is a
	// digest interval and the grace before the stop.
	r := rule
	r.Stopped = time.Time{}
	if got := CheckCoverage("bkt", "", "", []Chain{{"1", "a", previous}}, r); len(got) != 0 {
		t.Errorf("running rule: %v", got)
	}
}

// TestVerifyUnlistedAndNewest: a log file no digest lists is reported;
// the newest digest is found before Start when asked; files before the
// chain began, or after the newest digest, are not reported.
func TestVerifyUnlistedAndNewest(t *testing.T) {
	k := testKey(t)
	src := newMemSource()
	o := trailOpts("", "", k)
	ds, _ := chain(t, src, k, o, testRegion, t0, 4, standardLogs, nil)
	body, err := Gzip(logBody(testRegion, t0, 1))
	if err != nil {
		t.Fatal(err)
	}
	planted := LogKey("", "", o.Account, testRegion, t0.Add(90*time.Minute), "PLANTEDPLANTED00")
	before := LogKey("", "", o.Account, testRegion, t0.Add(-30*time.Minute), "BEFORETHECHAIN00")
	after := LogKey("", "", o.Account, testRegion, t0.Add(4*time.Hour+time.Minute), "AFTERTHENEWEST00")
	odd := "AWSLogs/" + o.Account + "/CloudTrail/" + testRegion + "/" + t0.Add(time.Hour).Format("2006/01/02") + "/notes.txt"
	for _, key := range []string{planted, before, after, odd} {
		src.put(key, body, nil)
	}
	opts := verifyOpts(o, 4)
	opts.Start = t0.Add(-time.Hour)
	opts.Unlisted = true
	rep := mustVerify(t, src, opts)
	got := map[string]string{}
	for _, r := range rep.Results {
		if r.Status == StatusUnlisted {
			got[strings.TrimPrefix(r.Path, "s3://"+o.Bucket+"/")] = r.String()
		}
	}
	if len(got) != 2 || got[planted] == "" || got[odd] == "" || !strings.HasSuffix(got[planted], "\tINVALID: not listed in any digest") {
		t.Errorf("unlisted files: %v, want %s and %s\n%s", got, planted, odd, dumpReport(rep))
	}
	if rep.OK() || len(rep.Chains) != 1 || !rep.Chains[0].Newest.Equal(ds[3].File.DigestEndTime) {
		t.Errorf("report OK %v, chains %+v, want not OK and the newest digest's end %s", rep.OK(), rep.Chains, ds[3].File.DigestEndTime)
	}

	// A Start after the newest digest: the walk checks nothing, and
	// NewestFrom still finds it.
	opts = verifyOpts(o, 4)
	opts.Start, opts.End = t0.Add(4*time.Hour+time.Minute), t0.Add(4*time.Hour+30*time.Minute)
	opts.NewestFrom = t0.Add(3 * time.Hour)
	rep = mustVerify(t, src, opts)
	if len(rep.Chains) != 1 || !rep.Chains[0].Newest.Equal(ds[3].File.DigestEndTime) {
		t.Errorf("newest before Start: chains %+v, want %s\n%s", rep.Chains, ds[3].File.DigestEndTime, dumpReport(rep))
	}
}

// TestVerifyUnlistedOtherTrail: a log file that another trail writing to
// the same folder lists in its signed digest is not reported; one that
// only an unsigned digest lists is.
func TestVerifyUnlistedOtherTrail(t *testing.T) {
	k := testKey(t)
	src := newMemSource()
	o := trailOpts("", "", k)
	chain(t, src, k, o, testRegion, t0, 3, standardLogs, nil)
	body, err := Gzip(logBody(testRegion, t0, 1))
	if err != nil {
		t.Fatal(err)
	}
	theirs := LogKey("", "", o.Account, testRegion, t0.Add(70*time.Minute), "OTHERTRAILFILE00")
	planted := LogKey("", "", o.Account, testRegion, t0.Add(80*time.Minute), "PLANTEDPLANTED00")
	src.put(theirs, body, nil)
	src.put(planted, body, nil)
	other := o
	other.TrailName = "other-trail"
	end := t0.Add(2 * time.Hour)
	for _, c := range []struct {
		key    string
		signer KeyPair
	}{{theirs, k}, {planted, otherKey(t)}} {
		f := File{AWSAccountID: o.Account, DigestStartTime: end.Add(-time.Hour), DigestEndTime: end, DigestS3Bucket: o.Bucket,
			DigestPublicKeyFingerprint: c.signer.Fingerprint, DigestSignatureAlgorithm: SignatureAlgorithm,
			LogFiles: []LogFile{{S3Bucket: o.Bucket, S3Object: c.key, SHA256: sha256Sum(logBody(testRegion, t0, 1)), OldestEventTime: t0, NewestEventTime: t0}}}
		name := other.TrailName
		if c.key == planted {
			name = "forged-trail"
		}
		f.DigestS3Object = DigestKey("", "", o.Account, testRegion, name, o.HomeRegion, end)
		sealed, err := Seal(c.signer, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		src.put(f.DigestS3Object, sealed.Body, sealed.Metadata)
	}
	opts := verifyOpts(o, 3)
	opts.Unlisted = true
	rep := mustVerify(t, src, opts)
	var got []string
	for _, r := range rep.Results {
		if r.Status == StatusUnlisted {
			got = append(got, strings.TrimPrefix(r.Path, "s3://"+o.Bucket+"/"))
		}
	}
	if len(got) != 1 || got[0] != planted {
		t.Errorf("unlisted: %v, want only %s (listed by a digest with an unknown key)\n%s", got, planted, dumpReport(rep))
	}
}
