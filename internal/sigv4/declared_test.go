package sigv4

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestVerifierRequireSignedPayload: a Verifier that requires a signed
// payload refuses UNSIGNED-PAYLOAD, whether the header is signed or not,
// and still accepts a request whose body hash is signed.
func TestVerifierRequireSignedPayload(t *testing.T) {
	cs := newCaptureServer(t)
	strict := Verifier{Credentials: goodCreds, Service: "cloudtrail", RequireSignedPayload: true}
	unsigned := eventsSpec
	unsigned.unsigned = true
	got := cs.roundTrip(t, signedRequest(t, cs.URL, unsigned, testSecret))
	if _, err := Verify(got.req, got.body, goodCreds, "cloudtrail", signTime); err != nil {
		t.Fatalf("package Verify refuses UNSIGNED-PAYLOAD: %v", err)
	}
	_, err := strict.Verify(got.req, got.body, signTime)
	checkErr(t, err, CodeInvalidSignature, "does not accept 'x-amz-content-sha256: UNSIGNED-PAYLOAD'")
	_, err = strict.VerifyDeclared(got.req, signTime)
	checkErr(t, err, CodeIncompleteSignature, "declares no payload hash")

	for _, spec := range []signSpec{eventsSpec, cloudTrailSpec, func() signSpec { s := eventsSpec; s.contentSHA = true; return s }()} {
		got := cs.roundTrip(t, signedRequest(t, cs.URL, spec, testSecret))
		if _, err := strict.Verify(got.req, got.body, signTime); err != nil {
			t.Fatalf("%s: %v", spec.target, err)
		}
	}
}

// TestVerifyDeclared verifies a request with X-Amz-Content-Sha256 before
// its body, then checks the body against the declared hash.
func TestVerifyDeclared(t *testing.T) {
	cs := newCaptureServer(t)
	v := Verifier{Credentials: goodCreds, Service: "cloudtrail", RequireSignedPayload: true}
	spec := eventsSpec
	spec.contentSHA = true
	got := cs.roundTrip(t, signedRequest(t, cs.URL, spec, testSecret))

	hash, ok := DeclaredPayloadHash(got.req)
	if !ok || hash != sha256Hex(got.body) {
		t.Fatalf("DeclaredPayloadHash = %q, %v; want %s", hash, ok, sha256Hex(got.body))
	}
	res, err := v.VerifyDeclared(got.req, signTime)
	if err != nil || res.AccessKeyID != testKey {
		t.Fatalf("VerifyDeclared = %+v, %v", res, err)
	}
	if err := CheckPayload(hash, got.body); err != nil {
		t.Fatalf("CheckPayload of the signed body: %v", err)
	}
	checkErr(t, CheckPayload(hash, []byte(`{"Records":[{}]}`)), CodeInvalidSignature, "'x-amz-content-sha256' header does not match")

	// An upper-case hash is the same hash.
	upper := got.req.Clone(got.req.Context())
	upper.Header.Set("X-Amz-Content-Sha256", strings.ToUpper(hash))
	if h, ok := DeclaredPayloadHash(upper); !ok || h != hash {
		t.Fatalf("upper-case hash: %q, %v", h, ok)
	}

	// A declared hash the signer did not sign over fails the signature.
	other := got.req.Clone(got.req.Context())
	other.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte("other")))
	_, err = v.VerifyDeclared(other, signTime)
	checkErr(t, err, CodeInvalidSignature, "does not match the signature")

	// Without the header, or with something that is not a hash, nothing
	// is declared.
	for _, value := range []string{"", UnsignedPayload, "abc", strings.Repeat("zz", 32), strings.Repeat("a", 65)} {
		r := got.req.Clone(got.req.Context())
		if value == "" {
			r.Header.Del("X-Amz-Content-Sha256")
		} else {
			r.Header.Set("X-Amz-Content-Sha256", value)
		}
		if h, ok := DeclaredPayloadHash(r); ok {
			t.Errorf("%q declares %q", value, h)
		}
	}
	two := got.req.Clone(got.req.Context())
	two.Header.Add("X-Amz-Content-Sha256", hash)
	if _, ok := DeclaredPayloadHash(two); ok {
		t.Error("two X-Amz-Content-Sha256 headers declare a hash")
	}
	if _, ok := DeclaredPayloadHash((*http.Request)(nil)); ok {
		t.Error("nil request declares a hash")
	}
}

// TestPrecheck: a request that names a known key with a current date, in
// the right form, passes Precheck whatever its body and signature; each
// thing Precheck can see without the body fails it with Verify's code.
func TestPrecheck(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	v := Verifier{Credentials: staticCreds{"AKIDEXAMPLE": "secret"}, Service: "cloudtrail", RequireSignedPayload: true}
	req := func(mod func(r *http.Request)) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "http://localhost/", nil)
		r.ContentLength = 1 << 20
		r.Header.Set("X-Amz-Date", now.Format(amzDateFormat))
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"+now.Format(scopeDateFormat)+
			"/us-east-1/cloudtrail/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64))
		if mod != nil {
			mod(r)
		}
		return r
	}
	if key, err := v.Precheck(req(nil), now); err != nil || key != "AKIDEXAMPLE" {
		t.Fatalf("a well-formed request naming a known key: %q, %v", key, err)
	}
	for name, c := range map[string]struct {
		mod  func(r *http.Request)
		code string
	}{
		"no authorization": {func(r *http.Request) { r.Header.Del("Authorization") }, CodeMissingAuthenticationToken},
		"malformed":        {func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 junk") }, CodeIncompleteSignature},
		"unknown key": {func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AKIDEXAMPLE", "AKIDOTHER", 1))
		}, CodeUnrecognizedClient},
		"other service": {func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/cloudtrail/", "/s3/", 1))
		}, CodeInvalidSignature},
		"stale date": {func(r *http.Request) {
			old := now.Add(-16 * time.Minute)
			r.Header.Set("X-Amz-Date", old.Format(amzDateFormat))
		}, CodeInvalidSignature},
		"unsigned amz header": {func(r *http.Request) { r.Header.Set("X-Amz-Target", "x") }, CodeInvalidSignature},
	} {
		_, err := v.Precheck(req(c.mod), now)
		var se *Error
		if !errors.As(err, &se) || se.Code != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
}
