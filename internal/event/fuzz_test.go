package event

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzDecode is the one fuzz test of reading records, and it holds every
// input to encoding/json four ways:
//   - the scanner accepts what encoding/json accepts as an object (valid
//     UTF-8, at most maxDepth deep), with the same members
//     (checkAgainstStdlib);
//   - Decode answers exactly as refDecode, built on encoding/json, does, in
//     every context of refContexts (compareWithRef);
//   - ReadView gives what Summarize reads and the keys Decode derives, of
//     the input and of the record Decode makes of it (checkView);
//   - Decode never panics, refuses with one of the four codes, and an
//     accepted record is canonical: valid JSON that decodes again to the
//     same event with the very same bytes (checkCanonical);
//   - and, taken as a string, AppendString writes it as json.Marshal does.
func FuzzDecode(f *testing.F) {
	for _, raw := range refInputs(f) {
		if len(raw) < 4096 {
			f.Add(raw)
		}
	}
	for _, s := range []string{`{"a":[1,{"b":null}],"c":"d\u0065"}`, `{"a":1.5e3}`, ` {"x" : "y" } `,
		`{"recipientAccountId":"444455556666","eventTime":"2026-11-26T09:30:00.5+02:00","eventSource":"s","eventName":"n","awsRegion":"r","readOnly":true,"resources":[{"ARN":"a:b/c"}]}`,
		`{"eventCategory":"Insight","insightDetails":{"eventName":"n","eventSource":"s"},"eventTime":"2026-11-26T09:30:00Z","awsRegion":"r"}`} {
		f.Add([]byte(s))
	}
	for _, r := range viewRecords {
		f.Add([]byte(r))
	}
	for _, r := range rawRecords {
		f.Add([]byte(r))
	}
	for _, s := range []string{"<a href='x'>&amp;</a>", "\x00\x01\b\f\n\r\t\x1f\x7f", "bad \xff\xfe utf8 \xe2\x80",
		"\u2028\u2029 separators", "ümlaut 日本 😀"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkAgainstStdlib(t, raw)
		compareWithRef(t, raw)
		checkView(t, raw)
		if e := checkCanonical(t, raw); e != nil {
			checkView(t, e.Record)
		}
		if want, _ := json.Marshal(string(raw)); !bytes.Equal(AppendString(nil, string(raw)), want) {
			t.Errorf("AppendString(%q) = %s, want %s", raw, AppendString(nil, string(raw)), want)
		}
	})
}

// checkCanonical decodes raw as a caller that may also write for account
// 444455556666 and serves every region but xx-nowhere-1, and checks what
// FuzzDecode says of the answer; it returns the event, if any.
func checkCanonical(t *testing.T, raw []byte) *Event {
	t.Helper()
	c := refContexts()[1]
	e, ferr := Decode(raw, c)
	if ferr != nil {
		switch ferr.Code {
		case ErrFieldNotFound, ErrFieldTooLong, ErrInvalidData, ErrInvalidRecipient:
		default:
			t.Fatalf("unknown code %q: %v", ferr.Code, ferr)
		}
		if e != nil {
			t.Fatal("refusal with an event")
		}
		return nil
	}
	if !json.Valid(e.Record) {
		t.Fatalf("accepted record is not JSON: %q", e.Record)
	}
	if len(e.Record) > MaxRecordBytes {
		t.Fatalf("accepted record of %d bytes", len(e.Record))
	}
	if e.ID == "" || e.Region == "" || (e.Account != c.Account && !c.MayWriteFor(e.Account)) {
		t.Fatalf("incomplete event %+v", e)
	}
	e2, ferr := Decode(e.Record, c)
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
	if _, err := Summarize(e.Record); err != nil {
		t.Fatalf("accepted record cannot be summarized: %v\n%q", err, e.Record)
	}
	return e
}
