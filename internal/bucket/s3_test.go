package bucket_test

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cairn-audit/cairn/internal/bucket"
	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

func motoBucket(t *testing.T, endpoint, real string) bucket.Bucket {
	t.Helper()
	b, err := bucket.NewS3("audit-logs", bucket.S3Options{
		Bucket: real, Endpoint: endpoint, Region: buckettest.Region, PathStyle: true,
		AccessKeyID: buckettest.AccessKeyID, SecretAccessKey: buckettest.SecretAccessKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestS3Wire checks what a Put leaves in the store, as the SDK and plain
// HTTP (what `aws cloudtrail validate-logs` reads) see it.
func TestS3Wire(t *testing.T) {
	t.Parallel()
	endpoint := buckettest.StartMoto(t)
	buckettest.CreateBucket(t, endpoint, "wire")
	b := motoBucket(t, endpoint, "wire")
	client := buckettest.Client(endpoint)

	t.Run("SSEKMS", func(t *testing.T) {
		mustPut(t, b, bucket.Object{Key: logKey, Body: []byte("log"), SSEKMSKeyID: kmsKeyARN})
		head, err := client.HeadObject(ctxT(t), &s3.HeadObjectInput{Bucket: aws.String("wire"), Key: aws.String(logKey)})
		if err != nil {
			t.Fatal(err)
		}
		if head.ServerSideEncryption != types.ServerSideEncryptionAwsKms {
			t.Errorf("ServerSideEncryption = %q, want aws:kms", head.ServerSideEncryption)
		}
		if got := aws.ToString(head.SSEKMSKeyId); got != kmsKeyARN {
			t.Errorf("SSEKMSKeyId = %q, want %q", got, kmsKeyARN)
		}
	})

	t.Run("NoSSEKMSByDefault", func(t *testing.T) {
		mustPut(t, b, bucket.Object{Key: "plain", Body: []byte("x")})
		head, err := client.HeadObject(ctxT(t), &s3.HeadObjectInput{Bucket: aws.String("wire"), Key: aws.String("plain")})
		if err != nil {
			t.Fatal(err)
		}
		if head.ServerSideEncryption == types.ServerSideEncryptionAwsKms || head.SSEKMSKeyId != nil {
			t.Errorf("an object put without SSEKMSKeyID reports SSE %q key %v", head.ServerSideEncryption, head.SSEKMSKeyId)
		}
	})

	t.Run("MetadataHeaders", func(t *testing.T) {
		mustPut(t, b, bucket.Object{
			Key: digestKey, Body: []byte(`{"digest":true}`), ContentType: "application/json",
			Metadata: map[string]string{"Signature": "0a1b2c", "signature-algorithm": "SHA256withRSA"},
		})
		// Plain HTTP, through a presigned URL (moto refuses anonymous GETs).
		req, err := s3.NewPresignClient(client).PresignGetObject(ctxT(t),
			&s3.GetObjectInput{Bucket: aws.String("wire"), Key: aws.String(digestKey)})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(req.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", digestKey, resp.Status)
		}
		for h, want := range map[string]string{
			"X-Amz-Meta-Signature":           "0a1b2c",
			"X-Amz-Meta-Signature-Algorithm": "SHA256withRSA",
			"Content-Type":                   "application/json",
			"Content-Encoding":               "",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("header %s = %q, want %q", h, got, want)
			}
		}
	})

	t.Run("MissingBucket", func(t *testing.T) {
		nb := motoBucket(t, endpoint, "no-such-bucket")
		if err := nb.Put(ctxT(t), bucket.Object{Key: "k", Body: []byte("x")}); !errors.Is(err, bucket.ErrNotFound) {
			t.Errorf("Put into a missing bucket: err = %v, want ErrNotFound", err)
		}
		if _, err := nb.Get(ctxT(t), "k"); !errors.Is(err, bucket.ErrNotFound) {
			t.Errorf("Get from a missing bucket: err = %v, want ErrNotFound", err)
		}
		if _, err := nb.List(ctxT(t), ""); !errors.Is(err, bucket.ErrNotFound) {
			t.Errorf("List of a missing bucket: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("ListPaginates", func(t *testing.T) {
		buckettest.CreateBucket(t, endpoint, "many")
		mb := motoBucket(t, endpoint, "many")
		const n = 1005 // more than one ListObjectsV2 page (1000)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range n {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				key := fmt.Sprintf("p/%04d", i)
				if err := mb.Put(ctxT(t), bucket.Object{Key: key, Body: []byte("x")}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		keys := mustList(t, mb, "p/")
		if len(keys) != n || keys[0] != "p/0000" || keys[n-1] != "p/1004" {
			t.Errorf("List = %d keys (%q ... %q), want %d", len(keys), keys[0], keys[len(keys)-1], n)
		}
	})
}

// TestS3DefaultCredentialChain: a bucket entry without keys uses the SDK's
// default chain, here the environment. (Not parallel: it sets variables.)
func TestS3DefaultCredentialChain(t *testing.T) {
	endpoint := buckettest.StartMoto(t)
	buckettest.CreateBucket(t, endpoint, "env")
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", buckettest.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", buckettest.SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	db, err := bucket.NewS3("env-creds", bucket.S3Options{Bucket: "env", Endpoint: endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, db, bucket.Object{Key: "env", Body: []byte("env")})
	if got := mustGet(t, db, "env"); string(got.Body) != "env" {
		t.Errorf("body %q", got.Body)
	}
}

func TestParseS3URL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		want bucket.S3Options
	}{
		{"s3://prod-logs?endpoint=http://127.0.0.1:9000&region=eu-west-1&path_style=true",
			bucket.S3Options{Bucket: "prod-logs", Endpoint: "http://127.0.0.1:9000", Region: "eu-west-1", PathStyle: true}},
		{"s3://prod-logs", bucket.S3Options{Bucket: "prod-logs", Region: "us-east-1"}},
		{"s3://prod-logs/", bucket.S3Options{Bucket: "prod-logs", Region: "us-east-1"}},
		{"s3://a.b-c?path_style=false&endpoint=https%3A%2F%2Fs3.example.com",
			bucket.S3Options{Bucket: "a.b-c", Endpoint: "https://s3.example.com", Region: "us-east-1"}},
		{"s3://x?path_style=1", bucket.S3Options{Bucket: "x", Region: "us-east-1", PathStyle: true}},
	} {
		got, err := bucket.ParseS3URL(tc.url)
		if err != nil || got != tc.want {
			t.Errorf("ParseS3URL(%q) = %+v, %v; want %+v", tc.url, got, err, tc.want)
		}
	}
	for _, bad := range []string{
		"", "file:///x", "s3://", "s3:///path", "s3://b/prefix", "s3://user:pw@b", "s3://b:9000",
		"s3://b?endpoint=127.0.0.1:9000", "s3://b?endpoint=ftp://h", "s3://b?endpoint=",
		"s3://b?region=", "s3://b?path_style=yes", "s3://b?pathstyle=true",
		"s3://b?region=us-east-1&region=eu-west-1", "s3://b?%zz",
	} {
		if got, err := bucket.ParseS3URL(bad); err == nil {
			t.Errorf("ParseS3URL(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestNewS3Errors(t *testing.T) {
	t.Parallel()
	if _, err := bucket.NewS3("x", bucket.S3Options{}); err == nil {
		t.Error("NewS3 without a bucket name: no error")
	}
	if _, err := bucket.NewS3("x", bucket.S3Options{Bucket: "b", AccessKeyID: "AKIA"}); err == nil {
		t.Error("NewS3 with an access key id but no secret: no error")
	}
}
