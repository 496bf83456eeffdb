package bucket

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/cairn-audit/cairn/internal/awscreds"
)

// DefaultS3Region is the region of an s3:// destination that names none.
const DefaultS3Region = "us-east-1"

// Timeouts of the S3 client's HTTP requests. Each call makes at most
// s3MaxAttempts attempts; further retries are the caller's.
const (
	s3MaxAttempts           = 2
	s3DialTimeout           = 10 * time.Second
	s3TLSHandshakeTimeout   = 10 * time.Second
	s3ResponseHeaderTimeout = 60 * time.Second
	s3RequestTimeout        = 5 * time.Minute
)

// S3Options configures an S3-compatible destination.
type S3Options struct {
	// Bucket is the real bucket name in the object store.
	Bucket string
	// Endpoint is the store's base URL, e.g. "http://127.0.0.1:9000";
	// empty means AWS S3.
	Endpoint string
	// Region is the signing region; empty means DefaultS3Region.
	Region string
	// PathStyle addresses the bucket in the URL path (endpoint/bucket/key)
	// instead of the host name (bucket.endpoint/key).
	PathStyle bool
	// AccessKeyID and SecretAccessKey are the store's credentials. When
	// both are empty the SDK's default credential chain (environment,
	// shared config files, IMDS...) is used.
	AccessKeyID     string
	SecretAccessKey string
}

// ParseS3URL parses a configured destination URL of the form
//
//	s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true
//
// into S3Options (without credentials). Every query parameter is optional;
// an unknown one is an error.
func ParseS3URL(raw string) (S3Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return S3Options{}, fmt.Errorf("bucket: invalid s3 url %q: %w", raw, err)
	}
	if u.Scheme != "s3" {
		return S3Options{}, fmt.Errorf("bucket: url %q is not an s3:// url", raw)
	}
	if u.Host == "" {
		return S3Options{}, fmt.Errorf("bucket: s3 url %q names no bucket (want s3://bucket)", raw)
	}
	if u.User != nil || u.Port() != "" {
		return S3Options{}, fmt.Errorf("bucket: s3 url %q: the host must be a bare bucket name (credentials go in access_key_id and secret_access_key, the endpoint in ?endpoint=)", raw)
	}
	if u.Path != "" && u.Path != "/" {
		return S3Options{}, fmt.Errorf("bucket: s3 url %q has a path; only s3://bucket is supported", raw)
	}
	o := S3Options{Bucket: u.Host, Region: DefaultS3Region}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return S3Options{}, fmt.Errorf("bucket: s3 url %q: invalid query: %w", raw, err)
	}
	for name, vals := range q {
		if len(vals) != 1 {
			return S3Options{}, fmt.Errorf("bucket: s3 url %q: %s given %d times", raw, name, len(vals))
		}
		v := vals[0]
		switch name {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return S3Options{}, fmt.Errorf("bucket: s3 url %q: endpoint %q is not an http(s) URL", raw, v)
			}
			o.Endpoint = v
		case "region":
			if v == "" {
				return S3Options{}, fmt.Errorf("bucket: s3 url %q: empty region", raw)
			}
			o.Region = v
		case "path_style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return S3Options{}, fmt.Errorf("bucket: s3 url %q: path_style %q is not true or false", raw, v)
			}
			o.PathStyle = b
		default:
			return S3Options{}, fmt.Errorf("bucket: s3 url %q: unknown parameter %q (want endpoint, region, path_style)", raw, name)
		}
	}
	return o, nil
}

// s3Bucket is a Bucket in an S3-compatible object store.
type s3Bucket struct {
	name   string
	bucket string
	client *s3.Client
}

// NewS3 returns a bucket named name stored in the S3-compatible bucket
// o.Bucket, through aws-sdk-go-v2's S3 client. The client makes at most two
// attempts per call (retrying further is the caller's business), computes
// no flexible checksums (for compatibility with S3-compatible stores; Put
// sends Content-MD5 instead) and bounds each request with timeouts.
func NewS3(name string, o S3Options) (Bucket, error) {
	if o.Bucket == "" {
		return nil, fmt.Errorf("bucket %s: no S3 bucket name", name)
	}
	if o.Region == "" {
		o.Region = DefaultS3Region
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		return nil, fmt.Errorf("bucket %s: access key id and secret access key must be given together", name)
	}
	creds, err := awscreds.Provider(o.Region, o.AccessKeyID, o.SecretAccessKey)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(s3RequestTimeout).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = s3DialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = s3TLSHandshakeTimeout
			t.ResponseHeaderTimeout = s3ResponseHeaderTimeout
		})
	opts := s3.Options{
		Region:                     o.Region,
		Credentials:                creds,
		UsePathStyle:               o.PathStyle,
		RetryMaxAttempts:           s3MaxAttempts,
		HTTPClient:                 httpClient,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	if o.Endpoint != "" {
		opts.BaseEndpoint = aws.String(o.Endpoint)
	}
	return &s3Bucket{name: name, bucket: o.Bucket, client: s3.New(opts)}, nil
}

func (b *s3Bucket) Name() string { return b.name }

func (b *s3Bucket) Put(ctx context.Context, o Object) error {
	md, err := checkObject(o)
	if err != nil {
		return fmt.Errorf("bucket %s: put: %w", b.name, err)
	}
	sum := md5.Sum(o.Body)
	in := &s3.PutObjectInput{
		Bucket:        aws.String(b.bucket),
		Key:           aws.String(o.Key),
		Body:          bytes.NewReader(o.Body),
		ContentLength: aws.Int64(int64(len(o.Body))),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		Metadata:      md,
	}
	if o.ContentType != "" {
		in.ContentType = aws.String(o.ContentType)
	}
	if o.ContentEncoding != "" {
		in.ContentEncoding = aws.String(o.ContentEncoding)
	}
	if o.SSEKMSKeyID != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(o.SSEKMSKeyID)
	}
	if _, err := b.client.PutObject(ctx, in); err != nil {
		return b.wrap("put "+o.Key, err)
	}
	return nil
}

func (b *s3Bucket) Get(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, fmt.Errorf("bucket %s: get: %w", b.name, err)
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		return Object{}, b.wrap("get "+key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	n := aws.ToInt64(out.ContentLength)
	if n > MaxObjectBytes {
		return Object{}, fmt.Errorf("bucket %s: get %s: %w: %d bytes, more than %d", b.name, key, ErrTooLarge, n, MaxObjectBytes)
	}
	if n > 0 {
		buf.Grow(int(n) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(out.Body, MaxObjectBytes+1)); err != nil {
		return Object{}, b.wrap("get "+key, err)
	}
	if buf.Len() > MaxObjectBytes {
		return Object{}, fmt.Errorf("bucket %s: get %s: %w: more than %d bytes", b.name, key, ErrTooLarge, MaxObjectBytes)
	}
	o := Object{
		Key:             key,
		Body:            buf.Bytes(),
		ContentType:     aws.ToString(out.ContentType),
		ContentEncoding: aws.ToString(out.ContentEncoding),
		SSEKMSKeyID:     aws.ToString(out.SSEKMSKeyId),
	}
	if len(out.Metadata) > 0 {
		o.Metadata = make(map[string]string, len(out.Metadata))
		for k, v := range out.Metadata {
			o.Metadata[strings.ToLower(k)] = v
		}
	}
	return o, nil
}

func (b *s3Bucket) List(ctx context.Context, prefix string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(b.bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(b.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, b.wrap(fmt.Sprintf("list %q", prefix), err)
		}
		for _, obj := range page.Contents {
			keys = append(keys, aws.ToString(obj.Key))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// wrap annotates an SDK error, mapping "no such key/bucket" to ErrNotFound.
func (b *s3Bucket) wrap(op string, err error) error {
	if code, ok := notFoundCode(err); ok {
		return fmt.Errorf("bucket %s (s3://%s): %s: %w (%s)", b.name, b.bucket, op, ErrNotFound, code)
	}
	return fmt.Errorf("bucket %s (s3://%s): %s: %w", b.name, b.bucket, op, err)
}

// notFoundCode reports whether err is S3's NoSuchKey, NoSuchBucket or a
// 404, and names it.
func notFoundCode(err error) (string, bool) {
	var (
		noKey    *types.NoSuchKey
		noBucket *types.NoSuchBucket
		notFound *types.NotFound
		api      smithy.APIError
		resp     *awshttp.ResponseError
	)
	switch {
	case errors.As(err, &noKey), errors.As(err, &noBucket), errors.As(err, &notFound):
		errors.As(err, &api)
		return api.ErrorCode(), true
	case errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NoSuchBucket"):
		return api.ErrorCode(), true
	case errors.As(err, &resp) && resp.HTTPStatusCode() == http.StatusNotFound:
		return "HTTP 404", true
	}
	return "", false
}
