package bucket_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
	"github.com/cairn-audit/cairn/internal/config"
)

func TestResolver(t *testing.T) {
	t.Parallel()
	endpoint := buckettest.StartMoto(t)
	buckettest.CreateBucket(t, endpoint, "real-prod-logs")

	dataDir := t.TempDir()
	fileDir := filepath.Join(t.TempDir(), "audit-logs") // not created yet
	if err := os.MkdirAll(filepath.Join(dataDir, "buckets", "local-logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A file, not a directory, where a fallback bucket would be.
	if err := os.WriteFile(filepath.Join(dataDir, "buckets", "a-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.DataDir = dataDir
	c.Buckets = []config.Bucket{
		{Name: "audit-logs", URL: "file://" + filepath.ToSlash(fileDir)},
		{Name: "prod-logs", URL: buckettest.S3URL(endpoint, "real-prod-logs"),
			AccessKeyID: buckettest.AccessKeyID, SecretAccessKey: buckettest.SecretAccessKey},
		{Name: "broken", URL: "s3://real-prod-logs?bogus=1"},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("test config does not validate: %v", err)
	}
	r := bucket.NewResolver(bucket.ResolverOptions{DataDir: c.DataDir, Buckets: c.Buckets})

	for name, want := range map[string]bool{
		"audit-logs": true,  // configured file://, directory not there yet
		"prod-logs":  true,  // configured s3://
		"broken":     true,  // configured; Open reports the problem
		"local-logs": true,  // <data_dir>/buckets/local-logs exists
		"unknown":    false, // neither
		"a-file":     false, // not a directory
		"":           false,
		".":          false,
		"..":         false,
		"../buckets": false,
		"x/y":        false,
	} {
		if got := r.Exists(name); got != want {
			t.Errorf("Exists(%q) = %v, want %v", name, got, want)
		}
	}
	for _, name := range []string{"unknown", "a-file", "", "..", "../buckets/local-logs"} {
		if b, err := r.Open(name); !errors.Is(err, bucket.ErrNotFound) {
			t.Errorf("Open(%q) = %v, %v; want ErrNotFound", name, b, err)
		}
	}
	if _, err := r.Open("broken"); err == nil || errors.Is(err, bucket.ErrNotFound) {
		t.Errorf("Open(broken): err = %v, want a URL error", err)
	}

	obj := bucket.Object{Key: digestKey, Body: []byte("digest"), Metadata: map[string]string{"signature": "ff"}}

	t.Run("file", func(t *testing.T) {
		b, err := r.Open("audit-logs")
		if err != nil {
			t.Fatal(err)
		}
		if b.Name() != "audit-logs" {
			t.Errorf("Name() = %q", b.Name())
		}
		mustPut(t, b, obj)
		if p, err := os.ReadFile(filepath.Join(fileDir, filepath.FromSlash(digestKey))); err != nil || string(p) != "digest" {
			t.Errorf("file:// bucket wrote %q, %v", p, err)
		}
		if again, _ := r.Open("audit-logs"); again != b {
			t.Error("a configured bucket opened twice is not the same Bucket")
		}
	})

	t.Run("s3", func(t *testing.T) {
		b, err := r.Open("prod-logs")
		if err != nil {
			t.Fatal(err)
		}
		if b.Name() != "prod-logs" {
			t.Errorf("Name() = %q, want the configured name prod-logs", b.Name())
		}
		mustPut(t, b, obj)
		out, err := buckettest.Client(endpoint).GetObject(ctxT(t), &s3.GetObjectInput{
			Bucket: aws.String("real-prod-logs"), Key: aws.String(digestKey)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(body) != "digest" || out.Metadata["signature"] != "ff" {
			t.Errorf("s3:// bucket holds %q %v", body, out.Metadata)
		}
	})

	t.Run("fallback", func(t *testing.T) {
		b, err := r.Open("local-logs")
		if err != nil {
			t.Fatal(err)
		}
		if b.Name() != "local-logs" {
			t.Errorf("Name() = %q", b.Name())
		}
		mustPut(t, b, obj)
		p := filepath.Join(dataDir, "buckets", "local-logs", filepath.FromSlash(digestKey))
		if got, err := os.ReadFile(p); err != nil || string(got) != "digest" {
			t.Errorf("fallback bucket wrote %q, %v", got, err)
		}
		if got := mustGet(t, b, digestKey); got.Metadata["signature"] != "ff" {
			t.Errorf("metadata %v", got.Metadata)
		}
	})

	t.Run("fallbackAppearsAndGoes", func(t *testing.T) {
		dir := filepath.Join(dataDir, "buckets", "later")
		if r.Exists("later") {
			t.Fatal("Exists before the directory is made")
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if !r.Exists("later") {
			t.Fatal("!Exists after the directory is made")
		}
		if _, err := r.Open("later"); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Open("later"); !errors.Is(err, bucket.ErrNotFound) {
			t.Errorf("Open after the directory is gone: %v", err)
		}
	})
}
