package digest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/goldenfile"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, name, got)
}

// The test keys are fixed (testdata/*.pem, made with openssl genrsa 2048;
// test-only, not secrets): generating RSA keys is slow, very slow under the
// fuzzer's instrumentation. TestKeyPair generates a fresh one.
var (
	testKeyOnce  = sync.OnceValues(func() (KeyPair, error) { return readTestKey("test-key.pem") })
	otherKeyOnce = sync.OnceValues(func() (KeyPair, error) { return readTestKey("other-key.pem") })
)

func readTestKey(name string) (KeyPair, error) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		return KeyPair{}, err
	}
	return ParseKeyPair(testRegion, b, t0.Add(-24*time.Hour), t0.Add(365*24*time.Hour))
}

func testKey(t testing.TB) KeyPair {
	t.Helper()
	k, err := testKeyOnce()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func otherKey(t testing.TB) KeyPair {
	t.Helper()
	k, err := otherKeyOnce()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// t0 is the start of the first digest of the test chains; the minute and
// second offset stays constant from hour to hour, as CloudTrail's does.
var t0 = time.Date(2026, 11, 26, 8, 17, 28, 0, time.UTC)

type memObject struct {
	body []byte
	md   map[string]string
}

// memSource is an in-memory bucket. List returns keys in map order, so
// Verify has to sort them as S3 would.
type memSource struct {
	mu   sync.Mutex
	objs map[string]memObject
	gets int
}

func newMemSource() *memSource { return &memSource{objs: map[string]memObject{}} }

func (m *memSource) put(key string, body []byte, md map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[key] = memObject{body: bytes.Clone(body), md: maps.Clone(md)}
}

func (m *memSource) del(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[key]; !ok {
		panic("del: no object " + key)
	}
	delete(m.objs, key)
}

func (m *memSource) obj(key string) memObject {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key]
	if !ok {
		panic("no object " + key)
	}
	return memObject{body: bytes.Clone(o.body), md: maps.Clone(o.md)}
}

func (m *memSource) List(_ context.Context, prefix string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out, nil
}

func (m *memSource) Get(_ context.Context, key string) ([]byte, map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	o, ok := m.objs[key]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return bytes.Clone(o.body), maps.Clone(o.md), nil
}

// trailOpts are the options of the test trail (home us-east-1); the
// digests are written for region.
func trailOpts(prefix, org string, k KeyPair) Options {
	return Options{Bucket: "cairn-trail-bucket", Prefix: prefix, OrgID: org, Account: "111122223333",
		TrailName: "audit-trail", HomeRegion: "us-east-1", Keys: []PublicKey{k.Public()}}
}

// logBody is a small CloudTrail log file of n records.
func logBody(region string, at time.Time, n int) []byte {
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventVersion":"1.11","eventTime":"%s","eventSource":"s3.amazonaws.com","eventName":"GetObject%d","awsRegion":"%s"}`,
			at.Add(time.Duration(i)*time.Second).Format(TimeFormat), i, region)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// chain writes n digests of region into src, hourly from start, digest i
// listing nlogs(i) log files (also written), linked to prev when not nil.
// It returns the digests, oldest first, and the log keys of each.
func chain(t testing.TB, src *memSource, k KeyPair, o Options, region string, start time.Time, n int, nlogs func(int) int, prev *Sealed) ([]Sealed, [][]string) {
	t.Helper()
	var out []Sealed
	var logKeys [][]string
	for i := range n {
		s := start.Add(time.Duration(i) * time.Hour)
		e := s.Add(time.Hour)
		f := File{
			AWSAccountID:    o.Account,
			DigestStartTime: s,
			DigestEndTime:   e,
			DigestS3Bucket:  o.Bucket,
			DigestS3Object:  DigestKey(o.Prefix, o.OrgID, o.Account, region, o.TrailName, o.HomeRegion, e),
		}
		var keys []string
		for j := range nlogs(i) {
			delivered := s.Add(time.Duration(5*j+3) * time.Minute)
			body := logBody(region, delivered.Add(-2*time.Minute), j+1)
			key := LogKey(o.Prefix, o.OrgID, o.Account, region, delivered, UniqueName([]byte(fmt.Sprintf("%s|%d|%d", region, i, j))))
			gz, err := Gzip(body)
			if err != nil {
				t.Fatal(err)
			}
			src.put(key, gz, nil)
			sum := sha256Sum(body)
			oldest, newest := delivered.Add(-2*time.Minute), delivered.Add(-2*time.Minute+time.Duration(j)*time.Second)
			f.LogFiles = append(f.LogFiles, LogFile{S3Bucket: o.Bucket, S3Object: key, SHA256: sum, OldestEventTime: oldest, NewestEventTime: newest})
			if f.OldestEventTime == nil || oldest.Before(*f.OldestEventTime) {
				f.OldestEventTime = &oldest
			}
			if f.NewestEventTime == nil || newest.After(*f.NewestEventTime) {
				f.NewestEventTime = &newest
			}
			keys = append(keys, key)
		}
		sealed, err := Seal(k, f, prev)
		if err != nil {
			t.Fatal(err)
		}
		src.put(f.DigestS3Object, sealed.Body, sealed.Metadata)
		out = append(out, sealed)
		logKeys = append(logKeys, keys)
		prev = &out[len(out)-1]
	}
	return out, logKeys
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// standardLogs gives digests 0, 1, 2, 3, 4, 5, ... 2, 0, 3, 2, 0, 3, ... log
// files: digest 1 is empty, as CloudTrail writes one every hour.
func standardLogs(i int) int {
	return [...]int{2, 0, 3}[i%3]
}
