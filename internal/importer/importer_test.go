package importer

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/bucket"
)

func TestParseLogName(t *testing.T) {
	const acct, region = "111111111111", "us-east-1"
	for _, tc := range []struct {
		name   string
		ok     bool
		reason string
	}{
		{"111111111111_CloudTrail_us-east-1_20260102T0305Z_AbCdEf0123456789.json.gz", true, ""},
		{"111111111111_CloudTrail-Insight_us-east-1_20260102T0305Z_AbCdEf0123456789.json.gz", true, ""},
		{"222222222222_CloudTrail_us-east-1_20260102T0305Z_AbCdEf0123456789.json.gz", false, "for account 222222222222"},
		{"111111111111_CloudTrail_us-east-1_20260102T0305Z_AbCdEf0123456789.json", false, "name is not"},
		{"111111111111_CloudTrail_us-east-1_20261302T0305Z_x.json.gz", false, "no valid time"},
		{"README", false, "name is not"},
	} {
		lf, reason := parseLogName("k/"+tc.name, tc.name, acct, region)
		if (reason == "") != tc.ok || !strings.Contains(reason, tc.reason) {
			t.Errorf("%s: reason %q, want ok=%v containing %q", tc.name, reason, tc.ok, tc.reason)
		}
		if tc.ok && (lf.Delivered != time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC) || lf.Account != acct || lf.Region != region) {
			t.Errorf("%s: %+v", tc.name, lf)
		}
	}
}

func TestParseDigestName(t *testing.T) {
	for _, tc := range []struct{ name, trail, home string }{
		{"111111111111_CloudTrail-Digest_us-west-2_my_trail_us-east-1_20260102T030405Z.json.gz", "my_trail", "us-east-1"},
		{"111111111111_CloudTrail-Digest_us-west-2_t_eu-west-1_20260102T030405Z_backfill.json.gz", "t", "eu-west-1"},
		{"111111111111_CloudTrail-Digest_us-west-2_20260102T030405Z.json.gz", "", ""},
		{"111111111111_CloudTrail_us-west-2_t_eu-west-1_20260102T030405Z.json.gz", "", ""},
	} {
		trail, home, ok := parseDigestName(tc.name, "111111111111", "us-west-2")
		if ok != (tc.trail != "") || trail != tc.trail || home != tc.home {
			t.Errorf("%s: %q %q %v, want %q %q", tc.name, trail, home, ok, tc.trail, tc.home)
		}
	}
}

// putLog writes a gzip'd log file of records into dir at key.
func putLog(t *testing.T, dir, key string, records ...string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintf(zw, `{"Records":[%s]}`, strings.Join(records, ","))
	zw.Close()
	p := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func logKey(org, acct, region string, at time.Time) string {
	base := "AWSLogs/"
	if org != "" {
		base += org + "/"
	}
	return base + acct + "/CloudTrail/" + region + "/" + at.Format("2006/01/02") + "/" +
		acct + "_CloudTrail_" + region + "_" + at.Format("20060102T1504Z") + "_AbCdEf0123456789.json.gz"
}

func TestPlanFilters(t *testing.T) {
	dir := t.TempDir()
	d := func(day, hour int) time.Time { return time.Date(2026, 3, day, hour, 0, 0, 0, time.UTC) }
	keys := []string{
		logKey("", "111111111111", "us-east-1", d(1, 10)),
		logKey("", "111111111111", "us-east-1", d(2, 10)),
		logKey("", "111111111111", "us-east-1", d(3, 0)),
		logKey("", "111111111111", "us-east-1", d(4, 10)),
		logKey("", "111111111111", "eu-west-1", d(2, 10)),
		logKey("o-a1b2c3d4e5", "222222222222", "us-east-1", d(2, 10)),
	}
	for _, k := range keys {
		putLog(t, dir, k, `{}`)
	}
	putLog(t, dir, "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2026/03/02/x.json.gz", `{}`)
	src := Source{Bucket: bucket.NewDir("b", dir)}
	plan := func(f Filter) []string {
		files, _, err := Plan(context.Background(), src, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range files {
			out = append(out, f.Key)
		}
		return out
	}
	if got := plan(Filter{}); len(got) != 6 {
		t.Errorf("no filter: %d files, want 6: %q", len(got), got)
	}
	if got := plan(Filter{Accounts: []string{"222222222222"}}); len(got) != 1 || got[0] != keys[5] {
		t.Errorf("account filter (organization layout): %q", got)
	}
	if got := plan(Filter{Regions: []string{"eu-west-1"}}); len(got) != 1 || got[0] != keys[4] {
		t.Errorf("region filter: %q", got)
	}
	// From 2 March 12:00 to 2 March 20:00: the 2 March file was delivered
	// before the start; 3 March's (the day after the end) may hold late
	// events; 4 March's is out.
	got := plan(Filter{Regions: []string{"us-east-1"}, Accounts: []string{"111111111111"}, Start: d(2, 12), End: d(2, 20)})
	if len(got) != 1 || got[0] != keys[2] {
		t.Errorf("time filter: %q, want only %s", got, keys[2])
	}
}

func TestCheckpointResumesAndIgnoresTornLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cp")
	c, err := OpenCheckpoint(p, "file:///a", "")
	if err != nil {
		t.Fatal(err)
	}
	c.Mark("one")
	c.Mark("two\nwith a newline")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash while appending leaves a torn line.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`"three`)
	f.Close()
	c, err = OpenCheckpoint(p, "file:///a", "")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Done("one") || !c.Done("two\nwith a newline") || c.Done("three") || c.Count() != 2 {
		t.Errorf("after reopen: one %v two %v three %v count %d", c.Done("one"), c.Done("two\nwith a newline"), c.Done("three"), c.Count())
	}
	c.Close()
	b, _ := os.ReadFile(p)
	if strings.Contains(string(b), "three") {
		t.Errorf("the torn line survived compaction:\n%s", b)
	}
	if _, err := OpenCheckpoint(p, "file:///b", ""); err == nil || !strings.Contains(err.Error(), "belongs to the import of file:///a") {
		t.Errorf("another source's checkpoint: %v", err)
	}
	scope := Filter{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}.Scope()
	if _, err := OpenCheckpoint(p, "file:///a", scope); err == nil ||
		!strings.Contains(err.Error(), "other time bounds (no time bounds, not --start-time 2026-01-01T00:00:00Z)") {
		t.Errorf("a checkpoint of other time bounds: %v", err)
	}
}

// sink is a stub ingest API: it accepts every record but those whose
// eventName is "Bad", after failing the first `flaky` requests with 503.
type sink struct {
	flaky    atomic.Int64
	requests atomic.Int64
	mu       sync.Mutex
	ids      map[string]int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.flaky.Add(-1) >= 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"__type":"ServiceUnavailableException","message":"busy"}`)
		return
	}
	if r.Header.Get("Authorization") == "" {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	var body struct{ Records []map[string]any }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	ans := Answer{EventIDs: []string{}, Failed: []Refusal{}}
	s.mu.Lock()
	for i, rec := range body.Records {
		if rec["eventName"] == "Bad" {
			ans.Failed = append(ans.Failed, Refusal{Index: i, ErrorCode: "InvalidData", ErrorMessage: "bad eventName"})
			continue
		}
		ans.Accepted++
		s.ids[rec["eventID"].(string)]++
	}
	s.mu.Unlock()
	json.NewEncoder(w).Encode(ans)
}

func TestImportArchiveBatchesRetriesAndRefusals(t *testing.T) {
	dir := t.TempDir()
	var keys []string
	n := 0
	for f := 0; f < 5; f++ {
		at := time.Date(2026, 3, 2, 10, f, 0, 0, time.UTC)
		var recs []string
		for i := 0; i < 7; i++ {
			name := "Good"
			if f == 2 && i == 4 {
				name = "Bad"
			}
			recs = append(recs, fmt.Sprintf(`{"eventID":"id-%d-%d","eventName":%q,"eventTime":"2026-03-02T10:00:00Z"}`, f, i, name))
			n++
		}
		k := logKey("", "111111111111", "us-east-1", at)
		putLog(t, dir, k, recs...)
		keys = append(keys, k)
	}
	s := &sink{ids: map[string]int{}}
	s.flaky.Store(2)
	srv := httptest.NewServer(s)
	defer srv.Close()
	src := Source{Bucket: bucket.NewDir("b", dir)}
	files, _, err := Plan(context.Background(), src, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	cpPath := filepath.Join(t.TempDir(), "cp")
	cp, _ := OpenCheckpoint(cpPath, "x", "")
	client := NewClient(srv.URL, "us-east-1", "AKID", "secret", 2)
	client.Backoff = time.Millisecond
	var refusals bytes.Buffer
	st := &Stats{}
	res, err := ImportArchive(context.Background(), src, files, Options{Client: client, Checkpoint: cp, Refusals: &refusals,
		Parallel: 2, BatchRecords: 4, Stats: st})
	cp.Close()
	if err != nil || res.Interrupted {
		t.Fatalf("ImportArchive: %v %+v", err, res)
	}
	if st.Accepted.Load() != int64(n-1) || st.Refused.Load() != 1 || st.Retries.Load() != 2 || st.UnitsDone.Load() != 5 {
		t.Errorf("accepted %d refused %d retries %d files %d; want %d 1 2 5", st.Accepted.Load(), st.Refused.Load(),
			st.Retries.Load(), st.UnitsDone.Load(), n-1)
	}
	if len(s.ids) != n-1 {
		t.Errorf("the sink holds %d events, want %d", len(s.ids), n-1)
	}
	want := `{"file":"` + keys[2] + `","record":4,"eventID":"id-2-4","errorCode":"InvalidData","errorMessage":"bad eventName"}`
	if strings.TrimSpace(refusals.String()) != want {
		t.Errorf("refusals:\n%s\nwant\n%s", refusals.String(), want)
	}
	cp, _ = OpenCheckpoint(cpPath, "x", "")
	defer cp.Close()
	for _, k := range keys {
		if !cp.Done(k) {
			t.Errorf("%s is not checkpointed", k)
		}
	}
}

func TestClientDoesNotRetryAccessDenied(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"AccessDeniedException","message":"no"}`)
	}))
	defer srv.Close()
	c := NewClient(srv.URL, "us-east-1", "AKID", "secret", 1)
	_, retries, err := c.Send(context.Background(), net.Buffers{[]byte(`{"Records":[{}]}`)}, 16, 1, false)
	if err == nil || retries != 0 || calls.Load() != 1 || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("err %v retries %d calls %d", err, retries, calls.Load())
	}
}

func TestProgressLines(t *testing.T) {
	st := &Stats{}
	st.UnitsTotal.Store(10)
	st.UnitsEarlier.Store(2)
	st.UnitsDone.Store(3)
	st.Events.Store(300)
	st.Accepted.Store(290)
	st.Refused.Store(1)
	var buf bytes.Buffer
	p := &Progress{W: &buf, Stats: st, start: time.Now().Add(-10 * time.Second)}
	p.show()
	if got := buf.String(); !strings.HasPrefix(got, "progress: 5/10 files, 300 events read, 290 accepted, 1 refused, ") ||
		!strings.HasSuffix(got, "\n") || !strings.Contains(got, "ETA ") {
		t.Errorf("plain line: %q", got)
	}
	buf.Reset()
	p.TTY = true
	p.show()
	if got := buf.String(); !strings.HasPrefix(got, "\r\033[K") || strings.Contains(got, "\n") ||
		!strings.Contains(got, " 50% 5/10 files  300 events") || !strings.Contains(got, "events/s  ETA ") {
		t.Errorf("terminal line: %q", got)
	}
}

func TestReadPublicKeysCLIFormats(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys.json")
	os.WriteFile(p, []byte(`{"PublicKeyList":[
		{"Value":"AQID","ValidityStartTime":"2026-01-02T03:04:05+00:00","ValidityEndTime":"2026-01-03T03:04:05.5+00:00","Fingerprint":"aa"},
		{"Value":"BAUG","ValidityStartTime":1767323045.0,"Fingerprint":"bb"}]}`), 0o600)
	keys, err := readPublicKeys(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || string(keys[0].DER) != "\x01\x02\x03" || keys[0].Fingerprint != "aa" ||
		!keys[0].ValidFrom.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) ||
		!keys[0].ValidTo.Equal(time.Date(2026, 1, 3, 3, 4, 5, 5e8, time.UTC)) ||
		!keys[1].ValidFrom.Equal(time.Unix(1767323045, 0)) || !keys[1].ValidTo.IsZero() {
		t.Errorf("keys: %+v", keys)
	}
	os.WriteFile(p, []byte(`{"TrailList":[]}`), 0o600)
	if _, err := readPublicKeys(p); err == nil || !strings.Contains(err.Error(), "no keys in PublicKeyList") {
		t.Errorf("a file without keys: %v", err)
	}
}

// TestImportArchiveReusesBuffersSafely imports many files whose batches
// straddle files, with several batches in flight, so that gunzip buffers
// go back to their pool and are refilled while other batches are sent:
// every record must arrive exactly once and intact (its eventName repeats
// its eventID), the server answering some batches before reading them.
func TestImportArchiveReusesBuffersSafely(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for f := 0; f < 40; f++ {
		at := time.Date(2026, 3, 2, f%24, f, 0, 0, time.UTC)
		var recs []string
		for i := 0; i < 25+f%7; i++ {
			id := fmt.Sprintf("id-%03d-%03d", f, i)
			recs = append(recs, fmt.Sprintf(`{"eventID":%q,"eventName":"of-%s","eventTime":"2026-03-02T10:00:00Z","pad":%q}`,
				id, id, strings.Repeat("x", 100*(i%5))))
			n++
		}
		putLog(t, dir, logKey("", "111111111111", "us-east-1", at), recs...)
	}
	var mu sync.Mutex
	ids := map[string]int{}
	var early atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every fifth request is answered 503 before its body is read.
		if early.Add(1)%5 == 0 {
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"__type":"ServiceUnavailableException","message":"busy"}`)
			return
		}
		var body struct{ Records []map[string]any }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"SerializationException","message":%q}`, err.Error())
			return
		}
		mu.Lock()
		defer mu.Unlock()
		ans := Answer{EventIDs: []string{}, Failed: []Refusal{}}
		for i, rec := range body.Records {
			id, _ := rec["eventID"].(string)
			if rec["eventName"] != "of-"+id {
				ans.Failed = append(ans.Failed, Refusal{Index: i, ErrorCode: "Garbled", ErrorMessage: fmt.Sprint(rec)})
				continue
			}
			ids[id]++
			ans.Accepted++
		}
		json.NewEncoder(w).Encode(ans)
	}))
	defer srv.Close()
	src := Source{Bucket: bucket.NewDir("b", dir)}
	files, _, err := Plan(context.Background(), src, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := OpenCheckpoint(filepath.Join(t.TempDir(), "cp"), "x", "")
	defer cp.Close()
	client := NewClient(srv.URL, "us-east-1", "AKID", "secret", 4)
	client.Backoff = time.Millisecond
	var refusals bytes.Buffer
	st := &Stats{}
	if _, err := ImportArchive(context.Background(), src, files, Options{Client: client, Checkpoint: cp, Refusals: &refusals,
		Parallel: 4, Readers: 3, BatchRecords: 37, Stats: st}); err != nil {
		t.Fatal(err)
	}
	if st.Accepted.Load() != int64(n) || st.Refused.Load() != 0 || st.UnitsDone.Load() != 40 {
		t.Errorf("accepted %d of %d, refused %d, files %d of 40\n%s", st.Accepted.Load(), n, st.Refused.Load(),
			st.UnitsDone.Load(), refusals.String())
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("%s arrived %d times", id, k)
		}
	}
	if len(ids) != n {
		t.Errorf("%d distinct records arrived, want %d", len(ids), n)
	}
}

// TestStoppableBody: once stopped, a body reads nothing more.
func TestStoppableBody(t *testing.T) {
	b := &stoppableBody{parts: net.Buffers{[]byte("abc"), []byte("def")}}
	p := make([]byte, 2)
	if n, err := b.Read(p); n != 2 || err != nil || string(p) != "ab" {
		t.Fatalf("Read = %d %v %q", n, err, p)
	}
	b.stop()
	if n, err := b.Read(p); n != 0 || !errors.Is(err, errBodyStopped) {
		t.Errorf("Read after stop = %d %v, want 0 and errBodyStopped", n, err)
	}
}

// TestImportStopsWhenBatchesKeepFailing: a batch that fails after all its
// retries is listed and the import goes on, but once maxFailedInARow do so
// in a row (a server that answers 500 to everything) the import stops,
// with an error that says so, instead of sending the rest of the archive.
func TestImportStopsWhenBatchesKeepFailing(t *testing.T) {
	for _, c := range []struct {
		name     string
		poisoned func(file int) bool // files whose batches the server fails
		stops    bool
	}{
		{"one failing batch", func(f int) bool { return f == 3 }, false},
		{"every batch failing", func(int) bool { return true }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			const files = 40
			for f := range files {
				at := time.Date(2026, 3, 2, 10, f, 0, 0, time.UTC)
				var recs []string
				for i := range 4 {
					name := "Good"
					if c.poisoned(f) {
						name = "Poison"
					}
					recs = append(recs, fmt.Sprintf(`{"eventID":"id-%d-%d","eventName":%q,"eventTime":"2026-03-02T10:00:00Z"}`, f, i, name))
				}
				putLog(t, dir, logKey("", "111111111111", "us-east-1", at), recs...)
			}
			var batches atomic.Int64
			good := &sink{ids: map[string]int{}}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if bytes.Contains(body, []byte(`"Poison"`)) {
					batches.Add(1)
					w.WriteHeader(http.StatusInternalServerError)
					io.WriteString(w, `{"__type":"InternalFailure","message":"the store is down"}`)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				good.ServeHTTP(w, r)
			}))
			defer srv.Close()
			src := Source{Bucket: bucket.NewDir("b", dir)}
			plan, _, err := Plan(context.Background(), src, Filter{})
			if err != nil {
				t.Fatal(err)
			}
			cp, _ := OpenCheckpoint(filepath.Join(t.TempDir(), "cp"), "x", "")
			defer cp.Close()
			client := NewClient(srv.URL, "us-east-1", "AKID", "secret", 1)
			client.Backoff, client.MaxAttempts = time.Millisecond, 2
			st := &Stats{}
			_, err = ImportArchive(context.Background(), src, plan, Options{Client: client, Checkpoint: cp, Refusals: io.Discard,
				Parallel: 1, BatchRecords: 4, Stats: st})
			if !c.stops {
				if err != nil || st.UnitsDone.Load() != files-1 || st.UnitsFailed.Load() != 1 {
					t.Fatalf("err %v, files done %d failed %d; want no error, %d and 1", err, st.UnitsDone.Load(), st.UnitsFailed.Load(), files-1)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "failed 3 batches in a row") || !strings.Contains(err.Error(), "the store is down") {
				t.Fatalf("err %v, want a stop after 3 failed batches", err)
			}
			if sent := batches.Load() / int64(client.MaxAttempts); sent > maxFailedInARow+1 {
				t.Fatalf("%d batches sent to a server failing them all, want at most %d", sent, maxFailedInARow+1)
			}
		})
	}
}

// TestWholeFileFailedCountsItsRecords: a log file sent as it is (gzip'd)
// that the server fails after every retry is listed and left for the next
// run, its records counted as read and failed, as a split batch's are.
func TestWholeFileFailedCountsItsRecords(t *testing.T) {
	dir := t.TempDir()
	pad := strings.Repeat("x", 1200)
	var keys []string
	for f := range 2 {
		var recs []string
		for i := range 100 {
			recs = append(recs, fmt.Sprintf(`{"eventID":"id-%d-%d","eventName":"Call","eventTime":"2026-03-02T10:00:00Z","pad":%q}`, f, i, pad))
		}
		k := logKey("", "111111111111", "us-east-1", time.Date(2026, 3, 2, 10, f, 0, 0, time.UTC))
		putLog(t, dir, k, recs...)
		keys = append(keys, k)
	}
	var gz atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz.Add(1)
		}
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"__type":"InternalFailure","message":"down"}`)
	}))
	defer srv.Close()
	src := Source{Bucket: bucket.NewDir("b", dir)}
	files, _, err := Plan(context.Background(), src, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := OpenCheckpoint(filepath.Join(t.TempDir(), "cp"), "x", "")
	if err != nil {
		t.Fatal(err)
	}
	client := NewClient(srv.URL, "us-east-1", "AKID", "secret", 2)
	client.Backoff = time.Millisecond
	var refusals bytes.Buffer
	st := &Stats{}
	ImportArchive(context.Background(), src, files, Options{Client: client, Checkpoint: cp, Refusals: &refusals, Parallel: 1, Stats: st})
	if gz.Load() == 0 {
		t.Fatal("no file was sent as it is")
	}
	if st.Events.Load() != 200 || st.Failed.Load() != 200 || st.UnitsFailed.Load() != 2 || st.Accepted.Load() != 0 {
		t.Errorf("events %d, failed %d, files failed %d, accepted %d; want 200, 200, 2, 0",
			st.Events.Load(), st.Failed.Load(), st.UnitsFailed.Load(), st.Accepted.Load())
	}
	for _, k := range keys {
		if cp.Done(k) {
			t.Errorf("%s checkpointed though the server stored none of it", k)
		}
		if !strings.Contains(refusals.String(), k) {
			t.Errorf("%s not listed:\n%s", k, refusals.String())
		}
	}
}
