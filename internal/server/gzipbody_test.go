package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// postEncoded posts an ingest body as it is, with Content-Encoding enc
// (none when empty), signed over the bytes sent.
func (e *limitsEnv) postEncoded(t *testing.T, body []byte, enc string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+"/v1/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAALICEADMIN000001", SecretAccessKey: "alice-secret"},
		req, hash, "cloudtrail", "us-east-1", e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// TestIngestGzipBody: a batch sent gzip'd (Content-Encoding: gzip) is
// stored as the same batch sent plain (sent plain afterwards, every record
// is a duplicate); an unknown encoding, a body that is not gzip, a cut
// one, and one that inflates past the body limit are refused with the
// error's code, and store nothing.
func TestIngestGzipBody(t *testing.T) {
	e := newLimitsEnv(t, Options{MaxIngestBytes: 1 << 20})
	plain := reuseBatch("Zipped", 300, e.clock.Now())
	if code, b := e.postEncoded(t, gzipped(plain), "gzip"); code != http.StatusOK || !strings.Contains(string(b), `"accepted":300`) {
		t.Fatalf("gzip'd batch: HTTP %d %.300s", code, b)
	}
	if ans := e.postDeclared(t, plain); ans.Accepted != 300 || ans.Duplicates != 300 {
		t.Fatalf("the same batch plain: accepted %d, duplicates %d; want 300, 300", ans.Accepted, ans.Duplicates)
	}
	other := reuseBatch("Refused", 10, e.clock.Now())
	zipped := gzipped(other)
	bomb := gzipped([]byte(`{"Records":[` + strings.Repeat(" ", 2<<20) + `]}`))
	// The same bomb, its trailer claiming it inflates to 100 bytes.
	liar := append([]byte(nil), bomb...)
	binary.LittleEndian.PutUint32(liar[len(liar)-4:], 100)
	for _, tc := range []struct {
		name, enc string
		body      []byte
		status    int
		code      string
	}{
		{"unknown encoding", "br", zipped, http.StatusBadRequest, "SerializationException"},
		{"not gzip", "gzip", other, http.StatusBadRequest, "SerializationException"},
		{"cut short", "gzip", zipped[:len(zipped)/2], http.StatusBadRequest, "SerializationException"},
		{"inflates past the limit", "gzip", bomb, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException"},
		{"inflates past the limit, its trailer says not", "gzip", liar, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException"},
	} {
		code, b := e.postEncoded(t, tc.body, tc.enc)
		var shape struct {
			Type string `json:"__type"`
		}
		json.Unmarshal(b, &shape)
		if code != tc.status || !strings.HasSuffix(shape.Type, tc.code) {
			t.Errorf("%s: HTTP %d %.300s; want %d %s", tc.name, code, b, tc.status, tc.code)
		}
	}
	// None of them stored a record: the batch sent plain now is all new.
	if ans := e.postDeclared(t, other); ans.Accepted != 10 || ans.Duplicates != 0 {
		t.Fatalf("the refused batch plain: accepted %d, duplicates %d; want 10, 0", ans.Accepted, ans.Duplicates)
	}
}

// TestInflatedBuffer: a gzip body is inflated into the smallest kept
// buffer above the size its trailer claims, and none past the limit.
func TestInflatedBuffer(t *testing.T) {
	withSize := func(n uint32) []byte {
		b := make([]byte, 20)
		binary.LittleEndian.PutUint32(b[16:], n)
		return b
	}
	for _, tc := range []struct {
		body  []byte
		limit int64
		want  int
	}{
		{withSize(300_000), 8 << 20, 512 << 10},
		{withSize(64 << 10), 8 << 20, 128 << 10}, // room for the read that meets the end
		{withSize(10), 8 << 20, 64 << 10},
		{withSize(900_000), 1_000_000, 0}, // 1 MiB is past the limit
		{withSize(8 << 20), 8 << 20, 0},
		{withSize(1 << 31), 8 << 20, 0},
		{[]byte{0x1f, 0x8b}, 8 << 20, 0},
	} {
		if got := inflatedBuffer(tc.body, tc.limit); got != tc.want {
			t.Errorf("body % x, limit %d: buffer %d, want %d", tc.body[max(0, len(tc.body)-4):], tc.limit, got, tc.want)
		}
	}
}
