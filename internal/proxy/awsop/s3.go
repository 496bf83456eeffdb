package awsop

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/cairn-audit/cairn/internal/event"
)

// s3Loc is where an S3 request points.
type s3Loc struct {
	bucket, key string
	virtual     bool
}

// virtualBucket returns the bucket of a virtual-hosted S3 request's host
// name (no port, lower case), or "" for a path-style request. The rule:
//
//   - an IP address, "localhost" or one of Options.S3Hosts itself is
//     path-style;
//   - "<bucket>.<one of Options.S3Hosts>" is virtual-hosted;
//   - "<bucket>.localhost" is virtual-hosted (what SDKs send to a local
//     endpoint such as the proxy when path style is off);
//   - a host with a label "s3", "s3-…" (s3-accelerate, s3-fips,
//     s3-accesspoint, s3-website-…) or "s3express-…" after its first label
//     is virtual-hosted, the bucket being the labels before it (so bucket
//     names with dots work): "b.s3.amazonaws.com",
//     "b.s3.us-east-1.amazonaws.com", "my.b.s3-us-west-2.amazonaws.com",
//     "b.s3.example.com" (S3-compatible stores named the same way);
//     "<account>.s3-control.…" is S3 Control, not a bucket;
//   - anything else is path-style.
func virtualBucket(h string, opt Options) string {
	if h == "" || net.ParseIP(h) != nil || h == "localhost" {
		return ""
	}
	for _, base := range opt.S3Hosts {
		base = strings.ToLower(strings.TrimSpace(base))
		if base == "" {
			continue
		}
		base = hostname(base)
		if h == base {
			return ""
		}
		if b, ok := strings.CutSuffix(h, "."+base); ok {
			return b
		}
	}
	if b, ok := strings.CutSuffix(h, ".localhost"); ok {
		return b
	}
	labels := strings.Split(h, ".")
	for i := 1; i < len(labels); i++ {
		l := labels[i]
		if l == "s3-control" || strings.HasPrefix(l, "s3-control-") {
			return ""
		}
		if l == "s3" || strings.HasPrefix(l, "s3-") || strings.HasPrefix(l, "s3express-") {
			return strings.Join(labels[:i], ".")
		}
	}
	return ""
}

// locate finds the bucket and key of an S3 request, and the segments of
// its path-style form.
func (r *resolver) locate() (s3Loc, []string) {
	segs := pathSegments(r.c.Path)
	if b := virtualBucket(hostname(r.host()), r.opt); b != "" {
		return s3Loc{bucket: b, key: strings.Join(segs, "/"), virtual: true}, append([]string{b}, segs...)
	}
	var loc s3Loc
	if len(segs) > 0 {
		loc.bucket = segs[0]
		loc.key = strings.Join(segs[1:], "/")
	}
	return loc, segs
}

var (
	s3Once    sync.Once
	s3Model   *svcModel
	s3KeyOps  map[string]bool
	s3Headers = []string{"x-amz-copy-source", "x-amz-copy-source-range", "x-amz-acl", "x-amz-grant-full-control",
		"x-amz-grant-read", "x-amz-grant-read-acp", "x-amz-grant-write", "x-amz-grant-write-acp",
		"x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id",
		"x-amz-server-side-encryption-bucket-key-enabled", "x-amz-storage-class", "x-amz-tagging",
		"x-amz-metadata-directive", "x-amz-tagging-directive", "x-amz-website-redirect-location",
		"x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold",
		"x-amz-bucket-object-lock-enabled", "x-amz-object-ownership", "x-amz-bypass-governance-retention",
		"x-amz-expected-bucket-owner"}
	s3RespHeaders = []string{"x-amz-version-id", "x-amz-server-side-encryption",
		"x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-bucket-key-enabled",
		"x-amz-expiration", "x-amz-delete-marker", "x-amz-copy-source-version-id"}
)

func loadS3() {
	s3Once.Do(func() {
		s3KeyOps = map[string]bool{}
		for _, m := range modelsFor("s3") {
			if m.name == "s3" {
				s3Model = parsed(m)
			}
		}
		if s3Model == nil {
			return
		}
		for _, rt := range s3Model.routes {
			if strings.Contains(rt.op.uri, "{Key+}") {
				s3KeyOps[rt.op.name] = true
			}
		}
	})
}

// s3ObjectOp reports whether an S3 operation acts on one object (its route
// has an object key).
func s3ObjectOp(name string) bool {
	loadS3()
	return s3KeyOps[name]
}

// s3Rest handles S3 requests, recording parameters the way CloudTrail
// does for S3: bucketName, Host, key, the query parameters as sent, a few
// x-amz- headers as sent, and an XML body under its root element's name.
func (r *resolver) s3Rest() {
	loadS3()
	loc, segs := r.locate()
	r.s3 = &loc
	if s3Model == nil {
		return
	}
	r.model = s3Model
	r.proto = protoRestXML
	var match *routeMatch
	if strings.EqualFold(r.c.Method, "POST") && strings.TrimSuffix(r.c.Path, "/") == "/WriteGetObjectResponse" {
		if op := s3Model.ops["WriteGetObjectResponse"]; op != nil {
			match = &routeMatch{route: &route{op: op, model: s3Model}}
			r.s3 = &s3Loc{}
		}
	} else {
		match = matchRoute(s3Model.routes, r.c.Method, segs, r.query, r.c.Header)
	}
	if match == nil {
		return
	}
	r.info = match.route.op
	r.op.Name = r.info.name
	params := map[string]any{}
	if h := r.host(); h != "" {
		params["Host"] = h
	}
	if r.s3.bucket != "" {
		params["bucketName"] = r.s3.bucket
	}
	if r.s3.key != "" {
		params["key"] = r.s3.key
	}
	for k, vs := range r.query {
		if k == "" {
			continue
		}
		v := ""
		if len(vs) > 0 {
			v = vs[0]
		}
		params[k] = v
	}
	for _, h := range s3Headers {
		if v := r.c.Header.Get(h); v != "" {
			params[h] = v
		}
	}
	body := r.c.Body
	if chunked(r.c.Header) {
		body, _ = decodeAWSChunked(body)
	}
	if len(body) > 0 && !r.c.BodyTruncated {
		switch {
		case r.info.name == "PutBucketPolicy":
			if v, ok := decodeJSON(body); ok {
				params["bucketPolicy"] = v
			} else {
				params["bucketPolicy"] = string(body)
			}
		case r.info.payload != "":
			if root := parseXML(body); root != nil {
				params[root.name] = root.value(true, 0)
			}
		}
	}
	r.op.RequestParameters = asParams(transform(params, r.info.in, false, 0))
}

// s3ResponseElements adds the response headers CloudTrail records for S3
// (x-amz-version-id, x-amz-server-side-encryption…) to the body's elements.
func (r *resolver) s3ResponseElements(body any) any {
	m, _ := body.(map[string]any)
	for _, h := range s3RespHeaders {
		if v := r.c.RespHeader.Get(h); v != "" {
			if m == nil {
				m = map[string]any{}
			}
			m[h] = v
		}
	}
	if len(m) == 0 {
		return body
	}
	return m
}

// s3Resources are the object (if any), the copy source (if any) and the
// bucket of an S3 call.
func (r *resolver) s3Resources() []event.Resource {
	if r.s3 == nil || r.s3.bucket == "" {
		return nil
	}
	var rs []event.Resource
	if r.s3.key != "" && s3ObjectOp(r.op.Name) {
		rs = append(rs, event.Resource{ARN: "arn:aws:s3:::" + r.s3.bucket + "/" + r.s3.key, Type: "AWS::S3::Object"})
	}
	if src := r.c.Header.Get("x-amz-copy-source"); src != "" {
		src, _, _ = strings.Cut(src, "?versionId=")
		if u, err := url.PathUnescape(src); err == nil {
			src = u
		}
		src = strings.TrimPrefix(src, "/")
		if b, k, ok := strings.Cut(src, "/"); ok && b != "" && k != "" {
			rs = append(rs, event.Resource{ARN: "arn:aws:s3:::" + b + "/" + k, Type: "AWS::S3::Object"})
		}
	}
	rs = append(rs, event.Resource{ARN: "arn:aws:s3:::" + r.s3.bucket, Type: "AWS::S3::Bucket"})
	return rs
}

// jsonString is a string value of a decoded map, or "".
func jsonString(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return ""
}

// chunked reports whether a request body is in aws-chunked encoding
// (SigV4 streaming uploads).
func chunked(h http.Header) bool {
	return strings.Contains(strings.ToLower(h.Get("Content-Encoding")), "aws-chunked") ||
		strings.HasPrefix(h.Get("X-Amz-Content-Sha256"), "STREAMING-")
}

// decodeAWSChunked returns the payload of an aws-chunked body:
// "<hex size>[;chunk-signature=…]\r\n<data>\r\n" chunks up to a zero-size
// one (trailers follow). A body cut short yields what was complete.
func decodeAWSChunked(b []byte) ([]byte, bool) {
	var out []byte
	for {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return out, false
		}
		size, _, _ := bytes.Cut(b[:i], []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 31)
		if err != nil {
			return out, false
		}
		b = b[i+2:]
		if n == 0 {
			return out, true
		}
		if uint64(len(b)) < n {
			return out, false
		}
		out = append(out, b[:n]...)
		b = bytes.TrimPrefix(b[n:], []byte("\r\n"))
	}
}

// VirtualBucket is the bucket named by a virtual-hosted S3 request's Host
// header (with or without port), "" for a path-style one (see
// virtualBucket; no Options.S3Hosts).
func VirtualBucket(host string) string { return virtualBucket(hostname(host), Options{}) }
