package delivery

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/digest"
	"github.com/cairn-audit/cairn/internal/event"
)

func sampleEvents(t testing.TB, n int) []*event.Event {
	evs := make([]*event.Event, n)
	for i := range evs {
		raw := fmt.Sprintf(`{"eventTime":"2026-11-26T09:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"PutObject","awsRegion":"us-east-1",`+
			`"eventCategory":"Data","userIdentity":{"type":"IAMUser","userName":"alice","accessKeyId":"AKIAEXAMPLE"},`+
			`"requestParameters":{"bucketName":"logs","key":"k/%d"},"resources":[{"ARN":"arn:aws:s3:::logs/k/%d","type":"AWS::S3::Object"}]}`,
			(i/60)%60, i%60, i, i)
		e, ferr := event.Decode([]byte(raw), event.Context{Account: "111111111111"})
		if ferr != nil {
			t.Fatal(ferr)
		}
		evs[i] = e
	}
	return evs
}

// TestLogFile: a log file is gzip of {"Records":[…]} holding the records in
// log order, with the oldest and newest event times, and the same bytes
// every time it is built (a replayed batch overwrites identically).
func TestLogFile(t *testing.T) {
	evs := sampleEvents(t, 3)
	body, oldest, newest := logFile(evs)
	var f struct{ Records []map[string]any }
	if err := json.Unmarshal(body, &f); err != nil || len(f.Records) != 3 || f.Records[2]["eventName"] != "PutObject" {
		t.Fatalf("log file %s: %v", body, err)
	}
	if !oldest.Equal(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)) || !newest.Equal(time.Date(2026, 11, 26, 9, 0, 2, 0, time.UTC)) {
		t.Fatalf("oldest %v newest %v", oldest, newest)
	}
	a, err := digest.Gzip(body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := digest.Gzip(body)
	if !bytes.Equal(a, b) {
		t.Fatal("gzip output differs between builds")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, body) {
		t.Fatal("gzip does not round-trip")
	}
}

// BenchmarkLogFile builds and compresses a log file of 500 records.
func BenchmarkLogFile(b *testing.B) {
	evs := sampleEvents(b, 500)
	for b.Loop() {
		body, _, _ := logFile(evs)
		if _, err := digest.Gzip(body); err != nil {
			b.Fatal(err)
		}
	}
}
