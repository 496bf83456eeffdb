package digest

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func BenchmarkSign(b *testing.B) {
	k := testKey(b)
	js, err := goldenFile().JSON()
	if err != nil {
		b.Fatal(err)
	}
	signed := SignedString(t0, "cairn-trail-bucket", "AWSLogs/111122223333/CloudTrail-Digest/k.json.gz", js, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(k, signed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	k := testKey(b)
	signed := SignedString(t0, "bucket", "key", []byte("{}"), "")
	sig, err := Sign(k, signed)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifySignature(k.PublicDER, signed, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildDigest60 builds, signs and gzips one hourly digest listing
// 60 log files (one a minute): what the delivery engine does per region per
// hour.
func BenchmarkBuildDigest60(b *testing.B) {
	k := testKey(b)
	o := trailOpts("audit", "", k)
	end := t0.Add(time.Hour)
	f := File{AWSAccountID: o.Account, DigestStartTime: t0, DigestEndTime: end, DigestS3Bucket: o.Bucket,
		DigestS3Object: DigestKey(o.Prefix, "", o.Account, testRegion, o.TrailName, o.HomeRegion, end)}
	for i := range 60 {
		at := t0.Add(time.Duration(i) * time.Minute)
		f.LogFiles = append(f.LogFiles, LogFile{S3Bucket: o.Bucket,
			S3Object: LogKey(o.Prefix, "", o.Account, testRegion, at, UniqueName([]byte(fmt.Sprint(i)))),
			SHA256:   sha256Sum([]byte(fmt.Sprint(i))), OldestEventTime: at.Add(-3 * time.Minute), NewestEventTime: at})
	}
	prev, err := Seal(k, File{AWSAccountID: o.Account, DigestStartTime: t0.Add(-time.Hour), DigestEndTime: t0, DigestS3Bucket: o.Bucket,
		DigestS3Object: DigestKey(o.Prefix, "", o.Account, testRegion, o.TrailName, o.HomeRegion, t0)}, nil)
	if err != nil {
		b.Fatal(err)
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		d, err := Seal(k, f, &prev)
		if err != nil {
			b.Fatal(err)
		}
		size = len(d.JSON)
	}
	b.ReportMetric(float64(size), "json-bytes")
}

// BenchmarkVerifyDay checks a day of hourly digests with 12 log files each.
func BenchmarkVerifyDay(b *testing.B) {
	k := testKey(b)
	src := newMemSource()
	o := trailOpts("", "", k)
	chain(b, src, k, o, testRegion, t0, 24, func(int) int { return 12 }, nil)
	opts := verifyOpts(o, 24)
	b.ReportAllocs()
	for b.Loop() {
		rep, err := Verify(context.Background(), src, opts)
		if err != nil || !rep.OK() || rep.LogsValid != 24*12 {
			b.Fatalf("%v\n%s", err, dumpReport(rep))
		}
	}
}
