package event_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
)

// FuzzDecode: Decode never panics, refuses with one of the four codes, and
// an accepted record is in canonical form: valid JSON that decodes again to
// the same event (same ID, owner, region, time, category, keys) with the
// very same bytes.
func FuzzDecode(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "decode", "*.json"))
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(minimal))
	f.Add([]byte(`{"recipientAccountId":"444455556666","eventTime":"2026-11-26T09:30:00.5+02:00","eventSource":"s","eventName":"n","awsRegion":"r","readOnly":true,"resources":[{"ARN":"a:b/c"}]}`))
	f.Add([]byte(`{"eventCategory":"Insight","insightDetails":{"eventName":"n","eventSource":"s"},"eventTime":"2026-11-26T09:30:00Z","awsRegion":"r"}`))

	c := ctx()
	c.MayWriteFor = func(a string) bool { return a == other }
	c.ServesRegion = func(r string) bool { return r != "xx-nowhere-1" }
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, ferr := event.Decode(raw, c)
		if ferr != nil {
			switch ferr.Code {
			case event.ErrFieldNotFound, event.ErrFieldTooLong, event.ErrInvalidData, event.ErrInvalidRecipient:
			default:
				t.Fatalf("unknown code %q: %v", ferr.Code, ferr)
			}
			if e != nil {
				t.Fatal("refusal with an event")
			}
			return
		}
		if !json.Valid(e.Record) {
			t.Fatalf("accepted record is not JSON: %q", e.Record)
		}
		if len(e.Record) > event.MaxRecordBytes {
			t.Fatalf("accepted record of %d bytes", len(e.Record))
		}
		if e.ID == "" || e.Region == "" || (e.Account != acct && e.Account != other) {
			t.Fatalf("incomplete event %+v", e)
		}
		e2, ferr := event.Decode(e.Record, c)
		if ferr != nil {
			t.Fatalf("accepted record refused when decoded again: %v\n%q", ferr, e.Record)
		}
		if e2.ID != e.ID || e2.Account != e.Account || e2.Region != e.Region || !e2.Time.Equal(e.Time) ||
			e2.Category != e.Category || !slices.Equal(e2.Keys, e.Keys) {
			t.Fatalf("decoded again, the event changed:\n%+v\n%+v", e, e2)
		}
		if !bytes.Equal(e2.Record, e.Record) {
			t.Fatalf("decoded again, the record changed:\n%q\n%q", e.Record, e2.Record)
		}
		if _, err := event.Summarize(e.Record); err != nil {
			t.Fatalf("accepted record cannot be summarized: %v\n%q", err, e.Record)
		}
	})
}
