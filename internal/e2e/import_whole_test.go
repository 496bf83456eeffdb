package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// imBatches reads the batch count of an import's summary ("(N batches, …").
func imBatches(t *testing.T, out string) int {
	t.Helper()
	m := regexp.MustCompile(`\((\d+) batches`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no batch count in the summary:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// imPad makes a record about size bytes longer.
func imPad(r map[string]any, size int) {
	r["requestParameters"] = map[string]any{"bucketName": "padding", "key": strings.Repeat("k", size)}
}

// TestImportWholeFilesRefusalsListed: log files that inflate past 64 KB go
// to the server as they are (gzip'd, one batch each; a small file's
// records are batched as before), their events stored once, and the
// records the server refuses inside them are listed by file, index and
// eventID as any others.
func TestImportWholeFilesRefusalsListed(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	now := time.Now()
	dir := t.TempDir()
	put := imDirPut(t, dir)
	big := imArchive{Accounts: []string{Account1}, Regions: []string{"us-east-1"}, Days: 1, Files: 2, Per: 150, Now: now,
		Extra: func(r map[string]any, _, _ string, _, f, i int) {
			imPad(r, 600)
			switch {
			case f == 1 && i == 7:
				delete(r, "eventName")
			case f == 1 && i == 120:
				r["awsRegion"] = "mars-north-1"
			}
		}}
	recs := big.write(t, put)
	small := imArchive{Accounts: []string{Account1}, Regions: []string{"us-west-2"}, Days: 1, Files: 1, Per: 5, Now: now}
	smallRecs := small.write(t, put)
	refusals := filepath.Join(t.TempDir(), "refusals.jsonl")
	res := imRun(t, srv, imEnv(), "--source", "file://"+dir, "--refusals", refusals)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1 (records were refused)\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if n := imBatches(t, res.stdout); n != 3 {
		t.Errorf("%d batches, want 3: two files sent whole and one batch of the small file's records\n%s", n, res.stdout)
	}
	if got := imSummary(t, res.stdout, "accepted"); !strings.HasPrefix(got, "303") {
		t.Errorf("accepted line %q, want 303", got)
	}
	lines := imRefusals(t, refusals, 2)
	for k, want := range []struct {
		index int
		field string
	}{{7, "eventName"}, {120, "awsRegion"}} {
		l := lines[k]
		r := recs[150+want.index]
		if l.Record != want.index || l.EventID != r.ID || !strings.Contains(l.File, "/CloudTrail/us-east-1/") ||
			!strings.Contains(l.ErrorMessage, want.field) {
			t.Errorf("refusal %d = %+v, want record %d (%s) naming %s", k, l, want.index, r.ID, want.field)
		}
	}
	var ok, refused []imRecord
	for i, r := range recs {
		if i == 157 || i == 270 {
			refused = append(refused, r)
			continue
		}
		ok = append(ok, r)
	}
	imCheckStored(t, srv, append(ok, smallRecs...), refused, now.Add(-3*24*time.Hour))
}

// TestImportWholeFileOverServerLimit: a file sent whole that holds more
// records than the server takes in one batch (1,000) is refused by the
// server as a whole; the importer then splits it and sends its records in
// batches the server takes, each stored once. A file that is gzip but not
// a log file is refused by the server, then listed as unreadable.
func TestImportWholeFileOverServerLimit(t *testing.T) {
	srv := Start(t, Options{Config: dlConfig()})
	now := time.Now()
	dir := t.TempDir()
	put := imDirPut(t, dir)
	a := imArchive{Accounts: []string{Account1}, Regions: []string{"us-east-1"}, Days: 1, Files: 1, Per: 1100, Now: now}
	recs := a.write(t, put)
	junk := imLogKey("", "", Account1, "eu-west-1", now.Add(-30*time.Hour), "JunkFile0001")
	put(junk, dlGzip([]byte(`{"Records":`+strings.Repeat(`[{"eventName":"x"},`, 5000))))
	refusals := filepath.Join(t.TempDir(), "refusals.jsonl")
	res := imRun(t, srv, imEnv(), "--source", "file://"+dir, "--refusals", refusals)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1 (a file could not be read)\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if n := imBatches(t, res.stdout); n != 4 {
		t.Errorf("%d batches, want 4: the two files whole (both refused), then the log file's records in two\n%s", n, res.stdout)
	}
	if got := imSummary(t, res.stdout, "accepted"); !strings.HasPrefix(got, "1100") {
		t.Errorf("accepted line %q, want 1100", got)
	}
	b, _ := os.ReadFile(refusals)
	if !strings.Contains(string(b), junk) || !strings.Contains(string(b), "UnreadableLogFile") || strings.Count(string(b), "\n") != 1 {
		t.Errorf("refusals, want only %s as unreadable:\n%s", junk, b)
	}
	imCheckStored(t, srv, recs, nil, now.Add(-3*24*time.Hour))
}
