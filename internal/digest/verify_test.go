package digest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const testRegion = "eu-west-1"

// verifyOpts are options to check every digest of a chain that starts at t0
// and has n digests.
func verifyOpts(o Options, n int) Options {
	o.Regions = []string{testRegion}
	o.Start, o.End = t0, t0.Add(time.Duration(n)*time.Hour)
	return o
}

func mustVerify(t *testing.T, src Source, o Options) Report {
	t.Helper()
	rep, err := Verify(context.Background(), src, o)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func dumpReport(rep Report) string {
	var b strings.Builder
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "  %-7s %-6s %s %s\n", r.Kind, r.Status, r.Path, r.Problem)
	}
	fmt.Fprintf(&b, "  digests %d valid %d invalid, logs %d valid %d invalid", rep.DigestsValid, rep.DigestsInvalid, rep.LogsValid, rep.LogsInvalid)
	return b.String()
}

// find returns the result for path s3://bucket/key of kind, failing the
// test when there is not exactly one.
func find(t *testing.T, rep Report, kind, key string) Result {
	t.Helper()
	var out []Result
	for _, r := range rep.Results {
		if r.Kind == kind && strings.HasSuffix(r.Path, "/"+key) && r.Status != StatusGap && r.Status != StatusRestart {
			out = append(out, r)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d results for %s %s:\n%s", len(out), kind, key, dumpReport(rep))
	}
	return out[0]
}

func wantCounts(t *testing.T, rep Report, dv, di, lv, li int) {
	t.Helper()
	if rep.DigestsValid != dv || rep.DigestsInvalid != di || rep.LogsValid != lv || rep.LogsInvalid != li {
		t.Errorf("counts: got digests %d/%d logs %d/%d, want %d/%d %d/%d\n%s",
			rep.DigestsValid, rep.DigestsInvalid, rep.LogsValid, rep.LogsInvalid, dv, di, lv, li, dumpReport(rep))
	}
}

func TestVerifyValidChain(t *testing.T) {
	k := testKey(t)
	for _, c := range []struct{ prefix, org string }{{"", ""}, {"audit/logs", ""}, {"", "o-abc123def4"}, {"p", "o-abc123def4"}} {
		t.Run(fmt.Sprintf("prefix=%q org=%q", c.prefix, c.org), func(t *testing.T) {
			src := newMemSource()
			o := trailOpts(c.prefix, c.org, k)
			ds, logs := chain(t, src, k, o, testRegion, t0, 3, standardLogs, nil)
			// Another trail's digests in the same folder are not looked at.
			other := o
			other.TrailName = "audit"
			chain(t, src, k, other, testRegion, t0, 3, standardLogs, nil)

			rep := mustVerify(t, src, verifyOpts(o, 3))
			if !rep.OK() {
				t.Fatalf("not OK:\n%s", dumpReport(rep))
			}
			wantCounts(t, rep, 3, 0, 5, 0)
			// Newest first, each digest followed by its logs.
			var order []string
			for i := len(ds) - 1; i >= 0; i-- {
				order = append(order, s3Path(o.Bucket, ds[i].File.DigestS3Object))
				for _, l := range logs[i] {
					order = append(order, s3Path(o.Bucket, l))
				}
			}
			if len(rep.Results) != len(order) {
				t.Fatalf("results:\n%s", dumpReport(rep))
			}
			for i, r := range rep.Results {
				if r.Path != order[i] || r.Status != StatusValid {
					t.Errorf("result %d = %+v, want %s valid", i, r, order[i])
				}
			}
			if got := rep.Results[0].String(); got != "Digest file\t"+order[0]+"\tvalid" {
				t.Errorf("String() = %q", got)
			}
		})
	}
}

func TestVerifyRange(t *testing.T) {
	k := testKey(t)
	src := newMemSource()
	o := trailOpts("", "", k)
	ds, _ := chain(t, src, k, o, testRegion, t0, 6, func(int) int { return 1 }, nil)
	key := func(i int) string { return ds[i].File.DigestS3Object }

	// [t0+2h10m, t0+3h10m]: digests are listed when their end (the key's
	// time) is in [Start, End+1h]: digest 2 (ends t0+3h) and digest 3 (ends
	// t0+4h, after End but within End+1h, so logs delivered just before End
	// are covered); digest 4 (ends t0+5h) is not. The walk starts at the
	// newest listed, follows the chain and stops after the first digest
	// that starts before Start (2).
	opts := verifyOpts(o, 6)
	opts.Start, opts.End = t0.Add(2*time.Hour+10*time.Minute), t0.Add(3*time.Hour+10*time.Minute)
	rep := mustVerify(t, src, opts)
	wantCounts(t, rep, 2, 0, 2, 0)
	for _, i := range []int{2, 3} {
		find(t, rep, KindDigest, key(i))
	}
	// Start on a digest's end: that digest is listed (the CLI lists from
	// the key of Start-1m) and checked.
	opts.Start, opts.End = t0.Add(2*time.Hour), t0.Add(2*time.Hour)
	rep = mustVerify(t, src, opts)
	wantCounts(t, rep, 2, 0, 2, 0)
	find(t, rep, KindDigest, key(1))
	find(t, rep, KindDigest, key(2))
	// Nothing in range: no digests, OK (as the CLI: "No digests found").
	opts.Start, opts.End = t0.Add(30*time.Hour), t0.Add(40*time.Hour)
	rep = mustVerify(t, src, opts)
	if !rep.OK() || len(rep.Results) != 0 {
		t.Errorf("empty range:\n%s", dumpReport(rep))
	}
	// A region without digests is fine too.
	opts = verifyOpts(o, 6)
	opts.Regions = []string{"ap-south-1", testRegion}
	if rep := mustVerify(t, src, opts); !rep.OK() || rep.DigestsValid != 6 {
		t.Errorf("two regions:\n%s", dumpReport(rep))
	}
}

func TestVerifyMultiRegion(t *testing.T) {
	k := testKey(t)
	k2 := otherKey(t)
	src := newMemSource()
	o := trailOpts("p", "", k)
	chain(t, src, k, o, "us-east-1", t0, 2, standardLogs, nil)
	chain(t, src, k2, o, "eu-west-1", t0, 3, standardLogs, nil)
	opts := verifyOpts(o, 3)
	opts.Regions = []string{"us-east-1", "eu-west-1"}
	opts.Keys = []PublicKey{k.Public(), k2.Public()}
	rep := mustVerify(t, src, opts)
	if !rep.OK() {
		t.Fatalf("not OK:\n%s", dumpReport(rep))
	}
	wantCounts(t, rep, 5, 0, 7, 0)
	// Each region's chain is its own: the home region's digests first.
	if !strings.Contains(rep.Results[0].Path, "CloudTrail-Digest/us-east-1/") {
		t.Errorf("first result %s", rep.Results[0].Path)
	}
}

func TestVerifyFailures(t *testing.T) {
	k := testKey(t)
	type env struct {
		src  *memSource
		o    Options
		ds   []Sealed
		logs [][]string
	}
	dkey := func(e env, i int) string { return e.ds[i].File.DigestS3Object }
	for _, c := range []struct {
		name string
		// change breaks the standard 3-digest chain (digest 1 has no logs).
		change func(t *testing.T, e *env)
		check  func(t *testing.T, e env, rep Report)
	}{
		{"missing digest", func(t *testing.T, e *env) { e.src.del(dkey(*e, 1)) },
			func(t *testing.T, e env, rep Report) {
				r := find(t, rep, KindDigest, dkey(e, 1))
				if r.Status != StatusMissing || !strings.Contains(r.Problem, "previousDigestS3Object of "+s3Path(e.o.Bucket, dkey(e, 2))) {
					t.Errorf("missing: %+v", r)
				}
				if r.String() != "Digest file\t"+r.Path+"\tINVALID: not found" {
					t.Errorf("String() = %q", r.String())
				}
				// The walk goes on with the next older digest, as the CLI.
				if find(t, rep, KindDigest, dkey(e, 0)).Status != StatusValid {
					t.Error("digest 0 not checked")
				}
				wantCounts(t, rep, 2, 1, 5, 0)
			}},
		{"gap", func(t *testing.T, e *env) {
			// Digest 2 starts 10 minutes after digest 1 ends, but links to it.
			f := e.ds[2].File
			f.DigestStartTime = f.DigestStartTime.Add(10 * time.Minute)
			reseal(t, e.src, k, f, &e.ds[1])
		}, func(t *testing.T, e env, rep Report) {
			var gaps []Result
			for _, r := range rep.Results {
				if r.Status == StatusGap {
					gaps = append(gaps, r)
				}
			}
			if len(gaps) != 1 || gaps[0].Path != s3Path(e.o.Bucket, dkey(e, 2)) ||
				!strings.Contains(gaps[0].Problem, "no digest covers 2026-11-26T10:17:28Z to 2026-11-26T10:27:28Z") {
				t.Errorf("gap results %+v", gaps)
			}
			wantCounts(t, rep, 3, 0, 5, 0) // the files themselves are valid
		}},
		{"moved digest", func(t *testing.T, e *env) {
			// Digest 0, signed and intact, copied over digest 1.
			o := e.src.obj(dkey(*e, 0))
			e.src.put(dkey(*e, 1), o.body, o.md)
		}, func(t *testing.T, e env, rep Report) {
			r := find(t, rep, KindDigest, dkey(e, 1))
			if r.Status != StatusInvalid || !strings.HasPrefix(r.Problem, "has been moved from its original location") {
				t.Errorf("moved: %+v", r)
			}
			wantCounts(t, rep, 2, 1, 5, 0)
		}},
		{"bad signature metadata", func(t *testing.T, e *env) {
			o := e.src.obj(dkey(*e, 1))
			o.md[MetaSignature] = flipHex(o.md[MetaSignature], 100)
			e.src.put(dkey(*e, 1), o.body, o.md)
		}, func(t *testing.T, e env, rep Report) {
			r := find(t, rep, KindDigest, dkey(e, 1))
			if r.Status != StatusInvalid || !strings.HasPrefix(r.Problem, "signature verification failed") {
				t.Errorf("signature: %+v", r)
			}
			wantCounts(t, rep, 2, 1, 5, 0)
		}},
		{"changed digest content", func(t *testing.T, e *env) {
			o := e.src.obj(dkey(*e, 2))
			// One byte: the account id.
			js := strings.Replace(string(e.ds[2].JSON), `"awsAccountId":"111122223333"`, `"awsAccountId":"111122223334"`, 1)
			body, _ := Gzip([]byte(js))
			e.src.put(dkey(*e, 2), body, o.md)
		}, func(t *testing.T, e env, rep Report) {
			r := find(t, rep, KindDigest, dkey(e, 2))
			if r.Status != StatusInvalid || r.Problem != "signature verification failed" {
				t.Errorf("changed: %+v", r)
			}
			wantCounts(t, rep, 2, 1, 2, 0) // its logs are not checked
		}},
		{"canonical metadata key", func(t *testing.T, e *env) {
			o := e.src.obj(dkey(*e, 0))
			e.src.put(dkey(*e, 0), o.body, map[string]string{"Signature": o.md[MetaSignature], "Signature-Algorithm": SignatureAlgorithm})
		}, func(t *testing.T, e env, rep Report) {
			if r := find(t, rep, KindDigest, dkey(e, 0)); r.Status != StatusInvalid || r.Problem != "signature verification failed" {
				t.Errorf("canonical metadata: %+v", r)
			}
		}},
		{"not gzip", func(t *testing.T, e *env) {
			o := e.src.obj(dkey(*e, 0))
			e.src.put(dkey(*e, 0), e.ds[0].JSON, o.md)
		}, func(t *testing.T, e env, rep Report) {
			if r := find(t, rep, KindDigest, dkey(e, 0)); r.Status != StatusInvalid || r.Problem != "invalid format" {
				t.Errorf("not gzip: %+v", r)
			}
		}},
		{"unknown key", func(t *testing.T, e *env) {
			e.o.Keys = []PublicKey{otherKey(t).Public()}
		}, func(t *testing.T, e env, rep Report) {
			for i := range 3 {
				r := find(t, rep, KindDigest, dkey(e, i))
				if r.Status != StatusInvalid || r.Problem != "public key not found in region eu-west-1 for fingerprint "+k.Fingerprint {
					t.Errorf("digest %d: %+v", i, r)
				}
			}
			wantCounts(t, rep, 0, 3, 0, 0)
		}},
		{"key outside its validity", func(t *testing.T, e *env) {
			p := k.Public()
			p.ValidFrom, p.ValidTo = t0.Add(-48*time.Hour), t0.Add(-24*time.Hour)
			e.o.Keys = []PublicKey{p, otherKey(t).Public()}
		}, func(t *testing.T, e env, rep Report) {
			wantCounts(t, rep, 0, 3, 0, 0)
		}},
		{"changed log file", func(t *testing.T, e *env) {
			body, _ := Gzip([]byte(`{"Records":[]}`))
			e.src.put(e.logs[2][1], body, nil)
		}, func(t *testing.T, e env, rep Report) {
			r := find(t, rep, KindLog, e.logs[2][1])
			if r.Status != StatusInvalid || r.Problem != "hash value doesn't match" {
				t.Errorf("changed log: %+v", r)
			}
			if r.String() != "Log file\t"+r.Path+"\tINVALID: hash value doesn't match" {
				t.Errorf("String() = %q", r.String())
			}
			wantCounts(t, rep, 3, 0, 4, 1)
		}},
		{"missing log file", func(t *testing.T, e *env) { e.src.del(e.logs[0][0]) },
			func(t *testing.T, e env, rep Report) {
				if r := find(t, rep, KindLog, e.logs[0][0]); r.Status != StatusMissing {
					t.Errorf("missing log: %+v", r)
				}
				wantCounts(t, rep, 3, 0, 4, 1)
			}},
		{"log file with a second gzip member", func(t *testing.T, e *env) {
			o := e.src.obj(e.logs[0][1])
			extra, _ := Gzip([]byte(`{"Records":[{"eventName":"Hidden"}]}`))
			e.src.put(e.logs[0][1], append(o.body, extra...), nil)
		}, func(t *testing.T, e env, rep Report) {
			if r := find(t, rep, KindLog, e.logs[0][1]); r.Status != StatusInvalid || r.Problem != "unexpected data after end of compressed stream" {
				t.Errorf("trailing: %+v", r)
			}
		}},
		{"log file not gzip", func(t *testing.T, e *env) { e.src.put(e.logs[0][1], []byte(`{"Records":[]}`), nil) },
			func(t *testing.T, e env, rep Report) {
				if r := find(t, rep, KindLog, e.logs[0][1]); r.Status != StatusInvalid || r.Problem != "invalid format" {
					t.Errorf("not gzip: %+v", r)
				}
			}},
		{"previous digest replaced by a re-signed one", func(t *testing.T, e *env) {
			// Digest 1 delivered again with other (validly signed) content:
			// the CLI accepts it, but digest 2 recorded the original's hash.
			f := e.ds[1].File
			f.LogFiles = e.ds[0].File.LogFiles
			d := reseal(t, e.src, k, f, &e.ds[0])
			if d.Signature == e.ds[1].Signature {
				t.Fatal("same signature")
			}
		}, func(t *testing.T, e env, rep Report) {
			r := find(t, rep, KindDigest, dkey(e, 1))
			if r.Status != StatusInvalid || r.Problem != "its SHA-256 is not the previousDigestHashValue of "+s3Path(e.o.Bucket, dkey(e, 2)) {
				t.Errorf("re-signed: %+v", r)
			}
		}},
		{"digest end time not the key's", func(t *testing.T, e *env) {
			f := e.ds[0].File
			f.DigestEndTime = f.DigestEndTime.Add(time.Second)
			reseal(t, e.src, k, f, nil)
		}, func(t *testing.T, e env, rep Report) {
			if r := find(t, rep, KindDigest, dkey(e, 0)); r.Status != StatusInvalid || !strings.Contains(r.Problem, "is not the time in the key") {
				t.Errorf("end time: %+v", r)
			}
		}},
		{"missing required field", func(t *testing.T, e *env) {
			o := e.src.obj(dkey(*e, 0))
			js := strings.Replace(string(e.ds[0].JSON), `"previousDigestSignature":null,`, ``, 1)
			body, _ := Gzip([]byte(js))
			e.src.put(dkey(*e, 0), body, o.md)
		}, func(t *testing.T, e env, rep Report) {
			if r := find(t, rep, KindDigest, dkey(e, 0)); r.Status != StatusInvalid || r.Problem != "invalid format" {
				t.Errorf("required: %+v", r)
			}
		}},
		{"chain loops", func(t *testing.T, e *env) {
			// Digest 1 links to digest 2 (a signed, but circular, chain).
			f := e.ds[1].File
			f.SetPrevious(e.o.Bucket, dkey(*e, 2), e.ds[2].JSON, e.ds[2].Signature)
			reseal(t, e.src, k, f, nil)
		}, func(t *testing.T, e env, rep Report) {
			var loop bool
			for _, r := range rep.Results {
				loop = loop || r.Status == StatusInvalid && r.Problem == "the digest chain loops back to this digest"
			}
			if !loop {
				t.Errorf("no loop found:\n%s", dumpReport(rep))
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := env{src: newMemSource(), o: trailOpts("", "", k)}
			e.ds, e.logs = chain(t, e.src, k, e.o, testRegion, t0, 3, standardLogs, nil)
			// Baseline.
			if rep := mustVerify(t, e.src, verifyOpts(e.o, 3)); !rep.OK() {
				t.Fatalf("baseline:\n%s", dumpReport(rep))
			}
			c.change(t, &e)
			rep := mustVerify(t, e.src, verifyOpts(e.o, 3))
			if rep.OK() {
				t.Errorf("OK after the change:\n%s", dumpReport(rep))
			}
			c.check(t, e, rep)
		})
	}
}

// reseal signs f again (linked to prev when not nil, else keeping f's
// links) and stores it at its key.
func reseal(t *testing.T, src *memSource, k KeyPair, f File, prev *Sealed) Sealed {
	t.Helper()
	d, err := Seal(k, f, prev)
	if err != nil {
		t.Fatal(err)
	}
	src.put(f.DigestS3Object, d.Body, d.Metadata)
	return d
}

// TestVerifyNewestDeleted documents a limit of the chain (the CLI's too):
// nothing links to the newest digest, so deleting it (and its log files) is
// not seen; the chain just ends earlier.
func TestVerifyNewestDeleted(t *testing.T) {
	k := testKey(t)
	src := newMemSource()
	o := trailOpts("", "", k)
	ds, logs := chain(t, src, k, o, testRegion, t0, 3, standardLogs, nil)
	src.del(ds[2].File.DigestS3Object)
	for _, l := range logs[2] {
		src.del(l)
	}
	rep := mustVerify(t, src, verifyOpts(o, 3))
	if !rep.OK() {
		t.Errorf("not OK:\n%s", dumpReport(rep))
	}
	wantCounts(t, rep, 2, 0, 2, 0)
}

// TestVerifyRestart: logging stopped for three hours, then a new chain
// (previousDigest* null). As the CLI, that is reported but valid.
func TestVerifyRestart(t *testing.T) {
	k := testKey(t)
	src := newMemSource()
	o := trailOpts("", "", k)
	chain(t, src, k, o, testRegion, t0, 2, standardLogs, nil)
	second, _ := chain(t, src, k, o, testRegion, t0.Add(5*time.Hour), 2, standardLogs, nil)
	rep := mustVerify(t, src, verifyOpts(o, 7))
	if !rep.OK() {
		t.Fatalf("not OK:\n%s", dumpReport(rep))
	}
	wantCounts(t, rep, 4, 0, 4, 0)
	var restarts []Result
	for _, r := range rep.Results {
		if r.Status == StatusRestart {
			restarts = append(restarts, r)
		}
	}
	if len(restarts) != 1 || restarts[0].String() != "No log files were delivered by CloudTrail between 2026-11-26T10:17:28Z and 2026-11-26T13:17:28Z" ||
		restarts[0].Path != s3Path(o.Bucket, second[0].File.DigestS3Object) {
		t.Errorf("restarts %+v", restarts)
	}
}

func TestVerifyBackfill(t *testing.T) {
	k := testKey(t)
	src := newMemSource()
	o := trailOpts("", "", k)
	chain(t, src, k, o, testRegion, t0, 2, standardLogs, nil)
	// A backfill digest for the first hour, with its own (one-digest) chain.
	f := File{AWSAccountID: o.Account, DigestStartTime: t0, DigestEndTime: t0.Add(time.Hour), DigestS3Bucket: o.Bucket}
	f.DigestS3Object = strings.TrimSuffix(DigestKey("", "", o.Account, testRegion, o.TrailName, o.HomeRegion, f.DigestEndTime), ".json.gz") + "_backfill.json.gz"
	d, err := Seal(k, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	md := map[string]string{MetaSignature: d.Signature, MetaSignatureAlgorithm: SignatureAlgorithm, MetaBackfillTimestamp: "2026-11-26T12:00:00Z"}
	src.put(f.DigestS3Object, d.Body, md)
	rep := mustVerify(t, src, verifyOpts(o, 2))
	if !rep.OK() || find(t, rep, KindDigest, f.DigestS3Object).Status != StatusValid {
		t.Fatalf("backfill:\n%s", dumpReport(rep))
	}
	wantCounts(t, rep, 3, 0, 2, 0)
	delete(md, MetaBackfillTimestamp)
	src.put(f.DigestS3Object, d.Body, md)
	rep = mustVerify(t, src, verifyOpts(o, 2))
	if r := find(t, rep, KindDigest, f.DigestS3Object); r.Status != StatusInvalid || r.Problem != "invalid format" {
		t.Errorf("backfill without timestamp: %+v", r)
	}
}

// twoBuckets serves a second bucket for a chain that moved buckets.
type twoBuckets struct {
	*memSource
	other map[string]*memSource
}

func (b twoBuckets) Bucket(_ context.Context, name string) (Source, error) {
	if s, ok := b.other[name]; ok {
		return s, nil
	}
	return nil, errors.New("no such bucket")
}

func TestVerifyBucketChange(t *testing.T) {
	k := testKey(t)
	oldSrc, newSrc := newMemSource(), newMemSource()
	oldOpts := trailOpts("", "", k)
	oldOpts.Bucket = "old-bucket"
	ds, _ := chain(t, oldSrc, k, oldOpts, testRegion, t0, 2, standardLogs, nil)
	o := trailOpts("", "", k)
	chain(t, newSrc, k, o, testRegion, t0.Add(2*time.Hour), 2, standardLogs, &ds[1])

	rep := mustVerify(t, twoBuckets{newSrc, map[string]*memSource{"old-bucket": oldSrc}}, verifyOpts(o, 4))
	if !rep.OK() {
		t.Fatalf("not OK:\n%s", dumpReport(rep))
	}
	wantCounts(t, rep, 4, 0, 4, 0)

	// A source that cannot read the old bucket skips it.
	rep = mustVerify(t, newSrc, verifyOpts(o, 4))
	if !rep.OK() || rep.DigestsValid != 2 {
		t.Fatalf("without the old bucket:\n%s", dumpReport(rep))
	}
	last := rep.Results[len(rep.Results)-1]
	if last.Status != StatusSkipped || last.Path != s3Path("old-bucket", ds[1].File.DigestS3Object) {
		t.Errorf("last result %+v", last)
	}
}

func TestVerifyErrors(t *testing.T) {
	k := testKey(t)
	src := newMemSource()
	o := trailOpts("", "", k)
	chain(t, src, k, o, testRegion, t0, 1, standardLogs, nil)
	ctx := context.Background()
	for name, opts := range map[string]Options{
		"no bucket":     func() Options { x := verifyOpts(o, 1); x.Bucket = ""; return x }(),
		"no start":      func() Options { x := verifyOpts(o, 1); x.Start = time.Time{}; return x }(),
		"start > end":   func() Options { x := verifyOpts(o, 1); x.Start = x.End.Add(time.Second); return x }(),
		"no public key": func() Options { x := verifyOpts(o, 1); x.Keys = nil; return x }(),
	} {
		if _, err := Verify(ctx, src, opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Verify(ctx, failingSource{src}, verifyOpts(o, 1)); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("failing Get: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Verify(cctx, src, verifyOpts(o, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	// A zero End is now.
	x := verifyOpts(o, 1)
	x.End = time.Time{}
	if rep, err := Verify(ctx, src, x); err != nil || (time.Now().After(t0) && rep.DigestsValid != 1) {
		t.Errorf("End now: %v\n%s", err, dumpReport(rep))
	}
}

type failingSource struct{ *memSource }

func (failingSource) Get(context.Context, string) ([]byte, map[string]string, error) {
	return nil, nil, errors.New("disk on fire")
}

// TestVerifyBoundsInflatedSizes: a digest or log file that inflates beyond
// its limit is reported INVALID, and reading it stops at the limit.
func TestVerifyBoundsInflatedSizes(t *testing.T) {
	k := testKey(t)
	src := newMemSource()
	o := trailOpts("", "", k)
	ds, _ := chain(t, src, k, o, testRegion, t0, 2, func(int) int { return 1 }, nil)
	src.put(ds[1].File.DigestS3Object, gzipBomb(t, MaxDigestBytes+1), ds[1].Metadata)
	rep := mustVerify(t, src, verifyOpts(o, 2))
	if r := find(t, rep, KindDigest, ds[1].File.DigestS3Object); r.Status != StatusInvalid || !strings.Contains(r.Problem, "inflates to more than") {
		t.Errorf("gzip bomb digest: %+v\n%s", r, dumpReport(rep))
	}
	if _, err := Gunzip(gzipBomb(t, MaxDigestBytes+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Gunzip of a bomb: %v, want ErrTooLarge", err)
	}
	var n countWriter
	if _, err := gunzipFirst(gzipBomb(t, 3<<20), &n, 1<<20); !errors.Is(err, ErrTooLarge) || n > 1<<20+1 {
		t.Errorf("gunzipFirst of a log bomb: %v after %d bytes", err, n)
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
