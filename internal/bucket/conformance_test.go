package bucket_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// newBucketFunc returns a new, empty bucket for one subtest.
type newBucketFunc func(t *testing.T) bucket.Bucket

func TestConformanceDir(t *testing.T) {
	t.Parallel()
	runConformance(t, func(t *testing.T) bucket.Bucket {
		// A directory that does not exist yet: Put creates it.
		return bucket.NewDir("audit-logs", filepath.Join(t.TempDir(), "buckets", "audit-logs"))
	})
}

func TestConformanceS3(t *testing.T) {
	t.Parallel()
	endpoint := buckettest.StartMoto(t)
	var n atomic.Int64
	runConformance(t, func(t *testing.T) bucket.Bucket {
		real := fmt.Sprintf("conformance-%d", n.Add(1))
		buckettest.CreateBucket(t, endpoint, real)
		b, err := bucket.NewS3("audit-logs", bucket.S3Options{
			Bucket:          real,
			Endpoint:        endpoint,
			Region:          buckettest.Region,
			PathStyle:       true,
			AccessKeyID:     buckettest.AccessKeyID,
			SecretAccessKey: buckettest.SecretAccessKey,
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, b bucket.Bucket, o bucket.Object) {
	t.Helper()
	if err := b.Put(ctxT(t), o); err != nil {
		t.Fatalf("Put(%q): %v", o.Key, err)
	}
}

func mustGet(t *testing.T, b bucket.Bucket, key string) bucket.Object {
	t.Helper()
	o, err := b.Get(ctxT(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if o.Key != key {
		t.Fatalf("Get(%q).Key = %q", key, o.Key)
	}
	return o
}

func mustList(t *testing.T, b bucket.Bucket, prefix string) []string {
	t.Helper()
	keys, err := b.List(ctxT(t), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	p := make([]byte, n)
	if _, err := rand.Read(p); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	logKey    = "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/111111111111_CloudTrail_us-east-1_20240102T0305Z_Mu0KsOhtH1ar15ZZ.json.gz"
	digestKey = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/01/02/111111111111_CloudTrail-Digest_us-east-1_main_us-east-1_20240102T030131Z.json.gz"
	kmsKeyARN = "arn:aws:kms:us-east-1:111111111111:key/6f1c2b9e-0b7a-4c1e-9a53-1d2f3e4a5b6c"
)

func runConformance(t *testing.T, newBucket newBucketFunc) {
	t.Run("PutGetRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		if b.Name() != "audit-logs" {
			t.Errorf("Name() = %q, want audit-logs", b.Name())
		}
		body := randomBytes(t, 3000)
		mustPut(t, b, bucket.Object{
			Key:         digestKey,
			Body:        body,
			ContentType: "application/json",
			Metadata: map[string]string{
				"Signature":           "3a5f0c9d",
				"signature-algorithm": "SHA256withRSA",
			},
		})
		got := mustGet(t, b, digestKey)
		if !bytes.Equal(got.Body, body) {
			t.Errorf("body differs: got %d bytes, want %d", len(got.Body), len(body))
		}
		wantMD := map[string]string{"signature": "3a5f0c9d", "signature-algorithm": "SHA256withRSA"}
		if !maps.Equal(got.Metadata, wantMD) {
			t.Errorf("Metadata = %v, want %v (keys lower-cased)", got.Metadata, wantMD)
		}
		if got.ContentType != "application/json" {
			t.Errorf("ContentType = %q, want application/json", got.ContentType)
		}
		if got.ContentEncoding != "" {
			t.Errorf("ContentEncoding = %q, want none", got.ContentEncoding)
		}
		if got.SSEKMSKeyID != "" {
			t.Errorf("SSEKMSKeyID = %q, want none", got.SSEKMSKeyID)
		}
	})

	t.Run("HeadersRoundTrip", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		mustPut(t, b, bucket.Object{
			Key:             logKey,
			Body:            []byte("gzip bytes"),
			ContentType:     "application/x-gzip",
			ContentEncoding: "gzip",
			SSEKMSKeyID:     kmsKeyARN,
		})
		got := mustGet(t, b, logKey)
		if got.ContentType != "application/x-gzip" || got.ContentEncoding != "gzip" || got.SSEKMSKeyID != kmsKeyARN {
			t.Errorf("headers = (%q, %q, %q), want (application/x-gzip, gzip, %s)",
				got.ContentType, got.ContentEncoding, got.SSEKMSKeyID, kmsKeyARN)
		}
		if len(got.Metadata) != 0 {
			t.Errorf("Metadata = %v, want none", got.Metadata)
		}
	})

	t.Run("EmptyAndLargeBodies", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		mustPut(t, b, bucket.Object{Key: "empty", Body: nil})
		if got := mustGet(t, b, "empty"); len(got.Body) != 0 {
			t.Errorf("empty object: got %d bytes", len(got.Body))
		}
		large := randomBytes(t, 6<<20+17)
		mustPut(t, b, bucket.Object{Key: "large/object.bin", Body: large})
		if got := mustGet(t, b, "large/object.bin"); !bytes.Equal(got.Body, large) {
			t.Errorf("large object: got %d bytes, want %d identical", len(got.Body), len(large))
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		first := bucket.Object{Key: digestKey, Body: []byte("first"), ContentType: "application/json",
			Metadata: map[string]string{"signature": "aa", "signature-algorithm": "SHA256withRSA"}}
		mustPut(t, b, first)
		second := bucket.Object{Key: digestKey, Body: []byte("second, longer body"),
			Metadata: map[string]string{"signature": "bb"}}
		mustPut(t, b, second)
		got := mustGet(t, b, digestKey)
		if string(got.Body) != "second, longer body" || !maps.Equal(got.Metadata, map[string]string{"signature": "bb"}) {
			t.Errorf("after overwrite: body %q metadata %v", got.Body, got.Metadata)
		}
		// Same object again: same result.
		mustPut(t, b, second)
		again := mustGet(t, b, digestKey)
		if !bytes.Equal(again.Body, got.Body) || !maps.Equal(again.Metadata, got.Metadata) || again.ContentType != got.ContentType {
			t.Errorf("rewriting the same object changed it: %+v vs %+v", again, got)
		}
		// Overwriting with no metadata drops the old metadata.
		mustPut(t, b, bucket.Object{Key: digestKey, Body: []byte("third")})
		if got := mustGet(t, b, digestKey); string(got.Body) != "third" || len(got.Metadata) != 0 {
			t.Errorf("after overwrite without metadata: body %q metadata %v", got.Body, got.Metadata)
		}
		if keys := mustList(t, b, ""); !slices.Equal(keys, []string{digestKey}) {
			t.Errorf("List after overwrites = %q, want just %q", keys, digestKey)
		}
	})

	t.Run("ListPrefix", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		keys := []string{
			"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/a.json.gz",
			"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/b.json.gz",
			"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/03/c.json.gz",
			"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/10/d.json.gz",
			"AWSLogs/111111111111/CloudTrail/us-west-2/2024/01/02/e.json.gz",
			"AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/01/02/f.json.gz",
			"AWSLogs/222222222222/CloudTrail/us-east-1/2024/01/02/g.json.gz",
			// "a-c" sorts before "a/b" bytewise ('-' < '/'), unlike a
			// directory walk's order.
			"x/a/b",
			"x/a-c",
			"x/a.d",
			"x/a0",
			"top",
		}
		for _, k := range slices.Backward(keys) {
			mustPut(t, b, bucket.Object{Key: k, Body: []byte(k)})
		}
		sorted := slices.Sorted(slices.Values(keys))
		if !slices.Equal(mustList(t, b, ""), sorted) {
			t.Errorf("List(\"\") = %q, want %q", mustList(t, b, ""), sorted)
		}
		const day = "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/"
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"AWSLogs/", sorted[:7]},
			{"AWSLogs/111111111111/CloudTrail/", []string{day + "02/a.json.gz", day + "02/b.json.gz", day + "03/c.json.gz", day + "10/d.json.gz",
				"AWSLogs/111111111111/CloudTrail/us-west-2/2024/01/02/e.json.gz"}},
			{"AWSLogs/111111111111/CloudTrail", []string{"AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/01/02/f.json.gz",
				day + "02/a.json.gz", day + "02/b.json.gz", day + "03/c.json.gz", day + "10/d.json.gz",
				"AWSLogs/111111111111/CloudTrail/us-west-2/2024/01/02/e.json.gz"}},
			{day + "0", []string{day + "02/a.json.gz", day + "02/b.json.gz", day + "03/c.json.gz"}},
			{day + "02/", []string{day + "02/a.json.gz", day + "02/b.json.gz"}},
			{day + "02/a.json.gz", []string{day + "02/a.json.gz"}},
			{day + "02/a.json.gz/", nil},
			{"AWSLogs/333333333333/", nil},
			{"x/a", []string{"x/a-c", "x/a.d", "x/a/b", "x/a0"}},
			{"x/a/", []string{"x/a/b"}},
			{"t", []string{"top"}},
			{"nothing", nil},
			{"../", nil},
			{"/AWSLogs/", nil},
			{"AWSLogs//", nil},
		} {
			got := mustList(t, b, tc.prefix)
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) =\n  %q\nwant\n  %q", tc.prefix, got, tc.want)
			}
		}
	})

	t.Run("ListDirs", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		for _, k := range []string{
			"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/a.json.gz",
			"AWSLogs/111111111111/CloudTrail/us-west-2/2024/01/02/b.json.gz",
			"AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/01/02/c.json.gz",
			"AWSLogs/o-a1b2c3d4e5/222222222222/CloudTrail/eu-west-1/2024/01/02/d.json.gz",
			"AWSLogs/top.json",
		} {
			mustPut(t, b, bucket.Object{Key: k, Body: []byte(k)})
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"", []string{"AWSLogs"}},
			{"AWSLogs/", []string{"111111111111", "o-a1b2c3d4e5"}},
			{"AWSLogs/111111111111/", []string{"CloudTrail", "CloudTrail-Digest"}},
			{"AWSLogs/111111111111/CloudTrail/", []string{"us-east-1", "us-west-2"}},
			{"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/", nil},
			{"AWSLogs/333333333333/", nil},
		} {
			got, err := bucket.ListDirs(ctxT(t), b, tc.prefix)
			if err != nil {
				t.Fatalf("ListDirs(%q): %v", tc.prefix, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ListDirs(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		}
		if _, err := bucket.ListDirs(ctxT(t), b, "AWSLogs"); !errors.Is(err, bucket.ErrInvalid) {
			t.Errorf("ListDirs without a trailing /: %v, want ErrInvalid", err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		if _, err := b.Get(ctxT(t), "no/such/key"); !errors.Is(err, bucket.ErrNotFound) {
			t.Errorf("Get of a missing key in an empty bucket: err = %v, want ErrNotFound", err)
		}
		if keys := mustList(t, b, ""); len(keys) != 0 {
			t.Errorf("List of an empty bucket = %q", keys)
		}
		mustPut(t, b, bucket.Object{Key: "AWSLogs/111111111111/file", Body: []byte("x")})
		for _, k := range []string{"no/such/key", "AWSLogs/111111111111", "AWSLogs", "AWSLogs/111111111111/fil", "AWSLogs/111111111111/file/more"} {
			if _, err := b.Get(ctxT(t), k); !errors.Is(err, bucket.ErrNotFound) {
				t.Errorf("Get(%q): err = %v, want ErrNotFound", k, err)
			}
		}
	})

	t.Run("BadKeysRefused", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		bad := []string{
			"", "/abs", "/", "a//b", "a/", "..", "../x", "a/../b", "a/..", ".", "./a", "a/./b",
			`a\b`, `..\x`, "a\x00b", "a\nb", "a\x7fb", "bad\xffutf8",
			".cairn-meta/x.json", ".cairn-tmp/x", ".cairn-anything",
			strings.Repeat("k/", bucket.MaxKeyLen/2) + "k",
			"long/" + strings.Repeat("s", bucket.MaxSegmentLen+1),
		}
		for _, k := range bad {
			err := b.Put(ctxT(t), bucket.Object{Key: k, Body: []byte("x")})
			if !errors.Is(err, bucket.ErrInvalid) {
				t.Errorf("Put(%q): err = %v, want ErrInvalid", k, err)
			}
			if _, err := b.Get(ctxT(t), k); !errors.Is(err, bucket.ErrInvalid) {
				t.Errorf("Get(%q): err = %v, want ErrInvalid", k, err)
			}
		}
		// Keys that look odd but are fine, and the longest key.
		longKey := strings.Repeat(strings.Repeat("s", bucket.MaxSegmentLen)+"/", 4)
		longKey += strings.Repeat("t", bucket.MaxKeyLen-len(longKey))
		good := []string{"a..b", "...", ".hidden", "a/.b", "x/.cairn-meta/y", "sp ace/ü/!#$%&'()*+,;=@[]^`{}~", longKey}
		for _, k := range good {
			mustPut(t, b, bucket.Object{Key: k, Body: []byte(k)})
			if got := mustGet(t, b, k); string(got.Body) != k {
				t.Errorf("Get(%q) body = %q", k, got.Body)
			}
		}
		badMeta := []map[string]string{
			{"": "x"},
			{"has space": "x"},
			{"colon:": "x"},
			{"ünicode": "x"},
			{"k": "line\nbreak"},
			{"k": "ünicode"},
			{"k": " padded"},
			{"k": "padded "},
			{"k": strings.Repeat("v", 2048)},
			{"Dup": "a", "dup": "b"},
		}
		for _, md := range badMeta {
			err := b.Put(ctxT(t), bucket.Object{Key: "meta/bad", Body: []byte("x"), Metadata: md})
			if !errors.Is(err, bucket.ErrInvalid) {
				t.Errorf("Put with metadata %q: err = %v, want ErrInvalid", md, err)
			}
		}
		if err := b.Put(ctxT(t), bucket.Object{Key: "meta/bad", ContentType: "text/plain\r\nX-Evil: 1"}); !errors.Is(err, bucket.ErrInvalid) {
			t.Errorf("Put with a CRLF content type: err = %v, want ErrInvalid", err)
		}
		got := mustList(t, b, "")
		if want := slices.Sorted(slices.Values(good)); !slices.Equal(got, want) {
			t.Errorf("List after refused puts =\n  %q\nwant\n  %q", got, want)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		const n = 24
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			wg.Go(func() {
				key := fmt.Sprintf("c/%02d/obj", i)
				errs <- b.Put(ctxT(t), bucket.Object{Key: key, Body: []byte(key), Metadata: map[string]string{"i": fmt.Sprint(i)}})
				// All writers also race on one shared key.
				errs <- b.Put(ctxT(t), bucket.Object{Key: "c/shared", Body: []byte("same"), Metadata: map[string]string{"v": "same"}})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		keys := mustList(t, b, "c/")
		if len(keys) != n+1 {
			t.Fatalf("List = %d keys, want %d", len(keys), n+1)
		}
		for i := range n {
			key := fmt.Sprintf("c/%02d/obj", i)
			if got := mustGet(t, b, key); string(got.Body) != key || got.Metadata["i"] != fmt.Sprint(i) {
				t.Errorf("Get(%q) = %q %v", key, got.Body, got.Metadata)
			}
		}
		if got := mustGet(t, b, "c/shared"); string(got.Body) != "same" || got.Metadata["v"] != "same" {
			t.Errorf("shared key = %q %v", got.Body, got.Metadata)
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		t.Parallel()
		b := newBucket(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := b.Put(ctx, bucket.Object{Key: "k", Body: []byte("x")}); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a canceled context: err = %v, want context.Canceled", err)
		}
		if keys := mustList(t, b, ""); len(keys) != 0 {
			t.Errorf("List after a canceled put = %q", keys)
		}
	})
}
