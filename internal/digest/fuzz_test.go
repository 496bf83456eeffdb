package digest

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// normalize makes a parsed File comparable with one parsed again after
// JSON: JSON writes nil slices as empty.
func normalize(f File) File {
	if f.LogFiles == nil {
		f.LogFiles = []LogFile{}
	}
	for i := range f.LogFiles {
		if f.LogFiles[i].SHA256 == nil {
			f.LogFiles[i].SHA256 = []byte{}
		}
	}
	return f
}

// FuzzParse: Parse never panics, and what it accepts JSON writes back so
// that Parse reads the same File and JSON the same bytes.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"digest.golden", "digest-first.golden"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"logFiles":null,"previousDigestSignature":"","newestEventTime":"0000-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"logFiles":[{"hashValue":"AB","hashAlgorithm":"SHA-256","newestEventTime":"2026-11-26T09:17:28Z","oldestEventTime":"2026-11-26T09:17:28Z"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		js, err := p.JSON()
		if err != nil {
			t.Fatalf("JSON of a parsed digest: %v", err)
		}
		q, err := Parse(js)
		if err != nil {
			t.Fatalf("Parse(JSON()) failed: %v\n%s", err, js)
		}
		if !reflect.DeepEqual(normalize(p), normalize(q)) {
			t.Fatalf("round trip changed the digest\n in %+v\nout %+v", p, q)
		}
		js2, err := q.JSON()
		if err != nil || !bytes.Equal(js, js2) {
			t.Fatalf("JSON not stable:\n%s\n%s", js, js2)
		}
	})
}

// FuzzVerifyDigest: whatever a digest object holds, Verify reports on it
// without panicking or failing.
func FuzzVerifyDigest(f *testing.F) {
	k := testKey(f)
	src := newMemSource()
	o := trailOpts("", "", k)
	ds, _ := chain(f, src, k, o, testRegion, t0, 2, standardLogs, nil)
	f.Add(ds[1].JSON, true)
	f.Add(ds[0].JSON, true)
	f.Add([]byte(`{"digestS3Bucket":"cairn-trail-bucket"}`), false)
	f.Add([]byte(`[1,2]`), true)
	f.Fuzz(func(t *testing.T, js []byte, zip bool) {
		s := newMemSource()
		for key, obj := range src.objs {
			s.put(key, obj.body, obj.md)
		}
		body := js
		if zip {
			var err error
			if body, err = Gzip(js); err != nil {
				t.Fatal(err)
			}
		}
		s.put(ds[1].File.DigestS3Object, body, ds[1].Metadata)
		opts := verifyOpts(o, 2)
		rep, err := Verify(context.Background(), s, opts)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if len(rep.Results) == 0 || rep.Results[0].Kind != KindDigest {
			t.Fatalf("no result for the digest:\n%s", dumpReport(rep))
		}
	})
}

// FuzzVerifyLogFile: whatever a listed log file holds (gzip bombs, several
// members, garbage), Verify reports it without panicking or failing, and
// never calls it valid unless its inflated bytes have the listed hash.
func FuzzVerifyLogFile(f *testing.F) {
	k := testKey(f)
	src := newMemSource()
	o := trailOpts("", "", k)
	_, logs := chain(f, src, k, o, testRegion, t0, 1, func(int) int { return 1 }, nil)
	victim := logs[0][0]
	good := src.obj(victim).body
	f.Add(good)
	f.Add(append(bytes.Clone(good), good...))
	f.Add(gzipBomb(f, 4<<20))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newMemSource()
		for key, obj := range src.objs {
			s.put(key, obj.body, obj.md)
		}
		s.put(victim, body, nil)
		rep, err := Verify(context.Background(), s, verifyOpts(o, 1))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		r := find(t, rep, KindLog, victim)
		if r.Status == StatusValid && !bytes.Equal(body, good) {
			if plain, err := Gunzip(body); err != nil || !bytes.Equal(plain, mustGunzip(t, good)) {
				t.Fatalf("a changed log file is valid: %+v", r)
			}
		}
	})
}

// FuzzGunzip: the digest reader never panics and never returns more than
// MaxDigestBytes.
func FuzzGunzip(f *testing.F) {
	f.Add(gzipBomb(f, MaxDigestBytes+1))
	f.Add(gzipBomb(f, 1024))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := Gunzip(b)
		if err == nil && len(out) > MaxDigestBytes {
			t.Fatalf("Gunzip returned %d bytes, over MaxDigestBytes", len(out))
		}
	})
}

// gzipBomb is n zero bytes, gzip'd (about 1/1000 of n).
func gzipBomb(t testing.TB, n int) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zero := make([]byte, 1<<20)
	for n > 0 {
		m := min(n, len(zero))
		if _, err := zw.Write(zero[:m]); err != nil {
			t.Fatal(err)
		}
		n -= m
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
