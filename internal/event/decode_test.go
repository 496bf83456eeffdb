package event_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/goldenfile"
)

const (
	acct  = "111122223333"
	other = "444455556666"
)

// ctx is the caller context the tests decode with unless a case says otherwise.
func ctx() event.Context {
	return event.Context{Account: acct, Now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
}

// golden compares got with testdata/name, rewriting the file under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, name, got)
}

func mustDecode(t testing.TB, raw string, c event.Context) *event.Event {
	t.Helper()
	e, ferr := event.Decode([]byte(raw), c)
	if ferr != nil {
		t.Fatalf("Decode(%.200s): %v (field %q)", raw, ferr, ferr.Field)
	}
	return e
}

// fields reads a completed record back as a map.
func fields(t testing.TB, record []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(record, &m); err != nil {
		t.Fatalf("completed record is not JSON: %v\n%s", err, record)
	}
	return m
}

// TestDecodeGolden decodes each testdata/decode/*.json and compares the
// completed record, byte for byte, and its Summarize view with the goldens.
func TestDecodeGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "decode", "*.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in testdata/decode: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			e, ferr := event.Decode(raw, ctx())
			if ferr != nil {
				t.Fatalf("Decode: %v (field %q)", ferr, ferr.Field)
			}
			if !json.Valid(e.Record) {
				t.Fatalf("Record is not valid JSON: %s", e.Record)
			}
			golden(t, filepath.Join("decode", name+".golden"), e.Record)

			s, err := event.Summarize(e.Record)
			if err != nil {
				t.Fatalf("Summarize: %v", err)
			}
			b, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("decode", name+".summary.golden"), append(b, '\n'))

			// The record's own fields agree with the Event's.
			m := fields(t, e.Record)
			if m["eventID"] != e.ID || m["recipientAccountId"] != e.Account || m["awsRegion"] != e.Region ||
				m["eventCategory"] != e.Category || m["eventTime"] != e.Time.Format(event.TimeFormat) {
				t.Errorf("Event {ID %s, Account %s, Region %s, Category %s, Time %s} disagrees with its record %s",
					e.ID, e.Account, e.Region, e.Category, e.Time, e.Record)
			}
			if s.EventID != e.ID || !s.EventTime.Equal(e.Time) {
				t.Errorf("Summary %+v disagrees with Event ID %s Time %s", s, e.ID, e.Time)
			}
		})
	}
}

// TestDecodeFieldOrder checks the CloudTrail field order directly, so that a
// golden rewritten by mistake cannot hide a change of order.
func TestDecodeFieldOrder(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "decode", "assumed_role.json"))
	if err != nil {
		t.Fatal(err)
	}
	e, ferr := event.Decode(raw, ctx())
	if ferr != nil {
		t.Fatal(ferr)
	}
	dec := json.NewDecoder(bytes.NewReader(e.Record))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
		"sourceIPAddress", "userAgent", "requestParameters", "responseElements", "additionalEventData",
		"requestID", "eventID", "readOnly", "resources", "eventType", "apiVersion", "managementEvent",
		"recipientAccountId", "eventCategory", "tlsDetails",
		// unknown fields follow, in byte order of their names
		"Zeta", "aardvark", "vendorExtension"}
	if !slices.Equal(names, want) {
		t.Errorf("field order\n got %q\nwant %q", names, want)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const minimal = `{"eventTime":"2026-11-26T09:30:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1"}`

func TestDecodeDefaults(t *testing.T) {
	e := mustDecode(t, minimal, ctx())
	m := fields(t, e.Record)
	want := map[string]any{
		"eventVersion":       event.Version,
		"eventType":          "AwsApiCall",
		"eventCategory":      event.CategoryManagement,
		"managementEvent":    true,
		"recipientAccountId": acct,
		"eventTime":          "2026-11-26T09:30:00Z",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if event.Version != "1.11" {
		t.Errorf("Version = %q, want 1.11", event.Version)
	}
	if !uuidRE.MatchString(e.ID) || m["eventID"] != e.ID {
		t.Errorf("eventID %q (record %v) is not a version-5 UUID", e.ID, m["eventID"])
	}
	if e.Account != acct || e.Region != "us-east-1" || e.Category != event.CategoryManagement ||
		!e.Time.Equal(time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)) || e.Seq != 0 {
		t.Errorf("event = %+v", e)
	}
	if !e.InEventHistory() {
		t.Error("a management event must be in event history")
	}
	for _, k := range []string{"readOnly", "userIdentity", "resources"} {
		if _, ok := m[k]; ok {
			t.Errorf("Decode invented %s", k)
		}
	}

	for _, tc := range []struct {
		name, raw  string
		category   string
		eventType  string
		management any // nil: absent
		inHistory  bool
	}{
		{"data", `{"eventCategory":"Data","eventTime":"2026-11-26T09:30:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1"}`,
			event.CategoryData, "AwsApiCall", false, false},
		{"network activity", `{"eventCategory":"NetworkActivity","eventTime":"2026-11-26T09:30:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1"}`,
			event.CategoryNetworkActivity, "AwsApiCall", false, false},
		{"explicit management flag kept", `{"managementEvent":false,"eventTime":"2026-11-26T09:30:00Z","eventSource":"s3.amazonaws.com","eventName":"X","awsRegion":"us-east-1"}`,
			event.CategoryManagement, "AwsApiCall", false, true},
		{"insight from eventType", `{"eventType":"AwsCloudTrailInsight","insightDetails":{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com"},"eventTime":"2026-11-26T09:30:00Z","awsRegion":"us-east-1"}`,
			event.CategoryInsight, "AwsCloudTrailInsight", nil, true},
		{"insight from eventCategory", `{"eventCategory":"Insight","insightDetails":{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com"},"eventTime":"2026-11-26T09:30:00Z","awsRegion":"us-east-1"}`,
			event.CategoryInsight, "AwsCloudTrailInsight", nil, true},
		{"service event", `{"eventType":"AwsServiceEvent","eventTime":"2026-11-26T09:30:00Z","eventSource":"kms.amazonaws.com","eventName":"RotateKey","awsRegion":"us-east-1"}`,
			event.CategoryManagement, "AwsServiceEvent", true, true},
		{"null category defaults", `{"eventCategory":null,"eventTime":"2026-11-26T09:30:00Z","eventSource":"s3.amazonaws.com","eventName":"X","awsRegion":"us-east-1"}`,
			event.CategoryManagement, "AwsApiCall", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustDecode(t, tc.raw, ctx())
			m := fields(t, e.Record)
			if e.Category != tc.category || m["eventCategory"] != tc.category {
				t.Errorf("category = %q / %v, want %q", e.Category, m["eventCategory"], tc.category)
			}
			if m["eventType"] != tc.eventType {
				t.Errorf("eventType = %v, want %q", m["eventType"], tc.eventType)
			}
			if got, ok := m["managementEvent"]; (tc.management == nil && ok) || (tc.management != nil && got != tc.management) {
				t.Errorf("managementEvent = %v (present %v), want %v", got, ok, tc.management)
			}
			if e.InEventHistory() != tc.inHistory {
				t.Errorf("InEventHistory = %v, want %v", e.InEventHistory(), tc.inHistory)
			}
		})
	}
}

func TestDecodeKeepsGivenValues(t *testing.T) {
	raw := `{"eventVersion":"1.05","eventID":"my-own-id","eventType":"AwsConsoleSignIn","eventTime":"2026-11-26T09:30:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","recipientAccountId":"` + acct + `"}`
	e := mustDecode(t, raw, ctx())
	m := fields(t, e.Record)
	if e.ID != "my-own-id" || m["eventID"] != "my-own-id" || m["eventVersion"] != "1.05" || m["eventType"] != "AwsConsoleSignIn" {
		t.Errorf("given values were not kept: %s", e.Record)
	}
}

func TestDecodeEventIDDeterministic(t *testing.T) {
	a := mustDecode(t, minimal, ctx())
	b := mustDecode(t, minimal, ctx())
	if a.ID != b.ID || !bytes.Equal(a.Record, b.Record) {
		t.Errorf("same input, different results: %s / %s", a.Record, b.Record)
	}
	// Insignificant whitespace does not change the ID: it is the same record resent.
	spaced := mustDecode(t, "\n  "+strings.ReplaceAll(minimal, ",", " ,\n\t ")+"  \n", ctx())
	if spaced.ID != a.ID {
		t.Errorf("whitespace changed the ID: %s vs %s", spaced.ID, a.ID)
	}

	c := ctx()
	c.Account = other
	o := mustDecode(t, minimal, c)
	if o.ID == a.ID {
		t.Errorf("two accounts' identical records share the ID %s", a.ID)
	}
	if o.Account != other {
		t.Errorf("owner = %s, want the caller %s", o.Account, other)
	}
	d := mustDecode(t, strings.Replace(minimal, "ListUsers", "ListRoles", 1), ctx())
	if d.ID == a.ID {
		t.Errorf("different records share the ID %s", a.ID)
	}
	// The receive time is not part of the ID.
	later := ctx()
	later.Now = later.Now.Add(time.Hour)
	if l := mustDecode(t, minimal, later); l.ID != a.ID {
		t.Errorf("the receive time changed the ID: %s vs %s", l.ID, a.ID)
	}
}

func TestDecodeEventTime(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2026-11-26T09:30:00Z", "2026-11-26T09:30:00Z"},
		{"2026-11-26T09:30:00.999999999Z", "2026-11-26T09:30:00Z"},
		{"2026-11-26T09:30:00.5Z", "2026-11-26T09:30:00Z"},
		{"2026-11-26T10:30:00+01:00", "2026-11-26T09:30:00Z"},
		{"2026-11-26T04:00:00.123-05:30", "2026-11-26T09:30:00Z"},
		{"2026-11-27T00:30:00+15:00", "2026-11-26T09:30:00Z"},
		{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
		{"9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59Z"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			e := mustDecode(t, strings.Replace(minimal, "2026-11-26T09:30:00Z", tc.in, 1), ctx())
			if got := fields(t, e.Record)["eventTime"]; got != tc.want {
				t.Errorf("eventTime = %v, want %s", got, tc.want)
			}
			if e.Time.Format(event.TimeFormat) != tc.want || e.Time.Location() != time.UTC || e.Time.Nanosecond() != 0 {
				t.Errorf("Time = %v, want %s UTC", e.Time, tc.want)
			}
		})
	}
}

// rec builds a record from the minimal one with fields replaced (a nil
// value deletes the field) or added.
func rec(t testing.TB, set map[string]any) string {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(minimal), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// raw is a JSON value that rec writes verbatim.
type raw string

func (r raw) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func TestDecodeRefusals(t *testing.T) {
	noRegion := ctx()
	noRegion.ServesRegion = func(r string) bool { return r == "eu-west-1" }
	big := func(n int) string { // a valid record of exactly n bytes, padded with spaces
		s := minimal
		return s[:len(s)-1] + strings.Repeat(" ", n-len(s)) + "}"
	}
	for _, tc := range []struct {
		name  string
		raw   string
		c     *event.Context
		code  string
		field string
	}{
		{"missing eventName", rec(t, map[string]any{"eventName": nil}), nil, event.ErrFieldNotFound, "eventName"},
		{"null eventName", rec(t, map[string]any{"eventName": raw("null")}), nil, event.ErrFieldNotFound, "eventName"},
		{"empty eventName", rec(t, map[string]any{"eventName": ""}), nil, event.ErrFieldNotFound, "eventName"},
		{"missing eventSource", rec(t, map[string]any{"eventSource": nil}), nil, event.ErrFieldNotFound, "eventSource"},
		{"missing eventTime", rec(t, map[string]any{"eventTime": nil}), nil, event.ErrFieldNotFound, "eventTime"},
		{"missing awsRegion", rec(t, map[string]any{"awsRegion": nil}), nil, event.ErrFieldNotFound, "awsRegion"},
		{"insight without insightDetails", rec(t, map[string]any{"eventCategory": "Insight", "eventName": nil, "eventSource": nil}), nil, event.ErrFieldNotFound, "insightDetails"},

		{"unparseable eventTime", rec(t, map[string]any{"eventTime": "yesterday"}), nil, event.ErrInvalidData, "eventTime"},
		{"eventTime without zone", rec(t, map[string]any{"eventTime": "2026-11-26T09:30:00"}), nil, event.ErrInvalidData, "eventTime"},
		{"eventTime as epoch number", rec(t, map[string]any{"eventTime": 1795683600}), nil, event.ErrInvalidData, "eventTime"},
		{"eventTime before 1970", rec(t, map[string]any{"eventTime": "1969-12-31T23:59:59Z"}), nil, event.ErrInvalidData, "eventTime"},
		{"eventTime after 9999 in UTC", rec(t, map[string]any{"eventTime": "9999-12-31T23:00:00-02:00"}), nil, event.ErrInvalidData, "eventTime"},
		{"eventName as number", rec(t, map[string]any{"eventName": 5}), nil, event.ErrInvalidData, "eventName"},
		{"eventSource as object", rec(t, map[string]any{"eventSource": map[string]any{}}), nil, event.ErrInvalidData, "eventSource"},
		{"readOnly as string", rec(t, map[string]any{"readOnly": "true"}), nil, event.ErrInvalidData, "readOnly"},
		{"managementEvent as number", rec(t, map[string]any{"managementEvent": 1}), nil, event.ErrInvalidData, "managementEvent"},
		{"userIdentity as string", rec(t, map[string]any{"userIdentity": "alice"}), nil, event.ErrInvalidData, "userIdentity"},
		{"userIdentity.userName as number", rec(t, map[string]any{"userIdentity": map[string]any{"userName": 5}}), nil, event.ErrInvalidData, "userIdentity"},
		{"requestParameters as array", rec(t, map[string]any{"requestParameters": []any{}}), nil, event.ErrInvalidData, "requestParameters"},
		{"resources as object", rec(t, map[string]any{"resources": map[string]any{"ARN": "arn:aws:s3:::b"}}), nil, event.ErrInvalidData, "resources"},
		{"resources of numbers", rec(t, map[string]any{"resources": []any{1}}), nil, event.ErrInvalidData, "resources"},
		{"resource ARN as number", rec(t, map[string]any{"resources": []any{map[string]any{"ARN": 5}}}), nil, event.ErrInvalidData, "resources"},
		{"insightDetails of wrong shape", rec(t, map[string]any{"eventCategory": "Insight", "insightDetails": map[string]any{"eventName": 5}}), nil, event.ErrInvalidData, "insightDetails"},
		{"unknown eventCategory", rec(t, map[string]any{"eventCategory": "Everything"}), nil, event.ErrInvalidData, "eventCategory"},
		{"lower-case eventCategory", rec(t, map[string]any{"eventCategory": "management"}), nil, event.ErrInvalidData, "eventCategory"},

		{"array", `[` + minimal + `]`, nil, event.ErrInvalidData, ""},
		{"string", `"` + minimal + `"`, nil, event.ErrInvalidData, ""},
		{"number", `42`, nil, event.ErrInvalidData, ""},
		{"null", `null`, nil, event.ErrInvalidData, ""},
		{"empty", ``, nil, event.ErrInvalidData, ""},
		{"whitespace", " \n\t", nil, event.ErrInvalidData, ""},
		{"truncated JSON", minimal[:len(minimal)-1], nil, event.ErrInvalidData, ""},
		{"two objects", minimal + minimal, nil, event.ErrInvalidData, ""},
		{"trailing comma", strings.Replace(minimal, `}`, `,}`, 1), nil, event.ErrInvalidData, ""},
		{"single quotes", `{'eventName':'X'}`, nil, event.ErrInvalidData, ""},
		{"invalid UTF-8 in a value", strings.Replace(minimal, "ListUsers", "List\xffUsers", 1), nil, event.ErrInvalidData, ""},
		{"invalid UTF-8 in a name", strings.Replace(minimal, "{", "{\"\xc3\x28\":1,", 1), nil, event.ErrInvalidData, ""},

		{"over 256 KB", big(event.MaxRecordBytes + 1), nil, event.ErrFieldTooLong, ""},
		{"over 256 KB of data", rec(t, map[string]any{"requestParameters": map[string]any{"blob": strings.Repeat("x", event.MaxRecordBytes)}}), nil, event.ErrFieldTooLong, ""},
		{"completed record over 256 KB", rec(t, map[string]any{"requestParameters": map[string]any{"blob": strings.Repeat("x", event.MaxRecordBytes-200)}}), nil, event.ErrFieldTooLong, ""},
		{"over-long userAgent", rec(t, map[string]any{"userAgent": strings.Repeat("a", 1025)}), nil, event.ErrFieldTooLong, "userAgent"},
		{"over-long userAgent of multi-byte runes", rec(t, map[string]any{"userAgent": strings.Repeat("é", 513)}), nil, event.ErrFieldTooLong, "userAgent"},
		{"over-long eventName", rec(t, map[string]any{"eventName": strings.Repeat("a", 1025)}), nil, event.ErrFieldTooLong, "eventName"},
		{"over-long awsRegion", rec(t, map[string]any{"awsRegion": strings.Repeat("a", 65)}), nil, event.ErrFieldTooLong, "awsRegion"},
		{"over-long eventID", rec(t, map[string]any{"eventID": strings.Repeat("a", 129)}), nil, event.ErrFieldTooLong, "eventID"},
		{"over-long recipientAccountId", rec(t, map[string]any{"recipientAccountId": "1111222233334"}), nil, event.ErrFieldTooLong, "recipientAccountId"},

		{"region not served", minimal, &noRegion, event.ErrInvalidData, "awsRegion"},
		{"recipient of another account", rec(t, map[string]any{"recipientAccountId": other}), nil, event.ErrInvalidRecipient, "recipientAccountId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ctx()
			if tc.c != nil {
				c = *tc.c
			}
			e, ferr := event.Decode([]byte(tc.raw), c)
			if ferr == nil {
				t.Fatalf("accepted: %.300s", e.Record)
			}
			if ferr.Code != tc.code || ferr.Field != tc.field {
				t.Errorf("got %s on field %q (%s), want %s on field %q", ferr.Code, ferr.Field, ferr.Message, tc.code, tc.field)
			}
			if ferr.Message == "" || ferr.Error() != ferr.Code+": "+ferr.Message {
				t.Errorf("Error() = %q, Message %q", ferr.Error(), ferr.Message)
			}
			if e != nil {
				t.Errorf("a refusal returned an event too")
			}
		})
	}
}

func TestDecodeLimitsAccepted(t *testing.T) {
	spaced := minimal[:len(minimal)-1] + strings.Repeat(" ", event.MaxRecordBytes-len(minimal)) + "}"
	for _, tc := range []struct{ name, raw string }{
		{"exactly 256 KB", spaced},
		{"userAgent of 1024 bytes", rec(t, map[string]any{"userAgent": strings.Repeat("a", 1024)})},
		{"userAgent of 1024 escaped bytes", rec(t, map[string]any{"userAgent": raw(`"` + strings.Repeat(`\u0041`, 1024) + `"`)})},
		{"userAgent of 512 two-byte runes", rec(t, map[string]any{"userAgent": strings.Repeat("é", 512)})},
		{"awsRegion of 64 bytes", rec(t, map[string]any{"awsRegion": strings.Repeat("a", 64)})},
		{"null optional fields", rec(t, map[string]any{"readOnly": raw("null"), "userIdentity": raw("null"), "resources": raw("null"), "userAgent": raw("null")})},
		{"unknown fields of any type", rec(t, map[string]any{"x": 1, "y": []any{true}, "z": raw("null")})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustDecode(t, tc.raw, ctx())
		})
	}
}

func TestDecodeRecipient(t *testing.T) {
	may := ctx()
	may.MayWriteFor = func(a string) bool { return a == other }

	// The caller's own account, named explicitly, needs no permission.
	if e := mustDecode(t, rec(t, map[string]any{"recipientAccountId": acct}), ctx()); e.Account != acct {
		t.Errorf("Account = %s, want %s", e.Account, acct)
	}
	e := mustDecode(t, rec(t, map[string]any{"recipientAccountId": other}), may)
	if e.Account != other || fields(t, e.Record)["recipientAccountId"] != other {
		t.Errorf("Account = %s, record %s; want both %s", e.Account, e.Record, other)
	}
	// The ID is the owner's: the same record for the caller itself differs.
	if self := mustDecode(t, minimal, ctx()); self.ID == e.ID {
		t.Errorf("a record owned by %s and one owned by %s share the ID %s", other, acct, e.ID)
	}
	// MayWriteFor is asked about the recipient, and refusing it refuses the record.
	_, ferr := event.Decode([]byte(rec(t, map[string]any{"recipientAccountId": "999999999999"})), may)
	if ferr == nil || ferr.Code != event.ErrInvalidRecipient || ferr.Field != "recipientAccountId" {
		t.Errorf("recipient the caller may not write for: %v", ferr)
	}
	// A served region passes ServesRegion.
	served := ctx()
	served.ServesRegion = func(r string) bool { return r == "us-east-1" }
	mustDecode(t, minimal, served)
}

func TestDecodeInsight(t *testing.T) {
	e := mustDecode(t, `{"eventCategory":"Insight","eventTime":"2026-11-26T09:00:00Z","awsRegion":"us-east-1",
		"insightDetails":{"state":"End","eventName":"RunInstances","eventSource":"ec2.amazonaws.com","insightType":"ApiErrorRateInsight"}}`, ctx())
	if e.Category != event.CategoryInsight {
		t.Fatalf("category %s", e.Category)
	}
	wantKeys := []event.LookupKey{{event.AttrEventName, "RunInstances"}, {event.AttrEventSource, "ec2.amazonaws.com"}}
	if !sameKeys(e.Keys, wantKeys) {
		t.Errorf("keys = %v, want %v", e.Keys, wantKeys)
	}
	m := fields(t, e.Record)
	if _, ok := m["eventName"]; ok {
		t.Errorf("Decode copied eventName to the top level of an insight: %s", e.Record)
	}
	if _, ok := m["managementEvent"]; ok {
		t.Errorf("an insight record got managementEvent: %s", e.Record)
	}
	s, err := event.Summarize(e.Record)
	if err != nil || s.EventName != "RunInstances" || s.EventSource != "ec2.amazonaws.com" {
		t.Errorf("Summarize = %+v, %v", s, err)
	}
	// Top-level names, when given, win over insightDetails.
	e = mustDecode(t, `{"eventCategory":"Insight","eventName":"Top","eventSource":"top.amazonaws.com","eventTime":"2026-11-26T09:00:00Z","awsRegion":"us-east-1",
		"insightDetails":{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com"}}`, ctx())
	if !sameKeys(e.Keys, []event.LookupKey{{event.AttrEventName, "Top"}, {event.AttrEventSource, "top.amazonaws.com"}}) {
		t.Errorf("keys = %v", e.Keys)
	}
}

func sameKeys(a, b []event.LookupKey) bool {
	sortKeys := func(k []event.LookupKey) []event.LookupKey {
		k = slices.Clone(k)
		slices.SortFunc(k, func(x, y event.LookupKey) int {
			return strings.Compare(string(x.Attr)+"\x00"+x.Value, string(y.Attr)+"\x00"+y.Value)
		})
		return k
	}
	return slices.Equal(sortKeys(a), sortKeys(b))
}

func TestDecodeKeys(t *testing.T) {
	type K = event.LookupKey
	base := []K{{event.AttrEventName, "ListUsers"}, {event.AttrEventSource, "iam.amazonaws.com"}}
	for _, tc := range []struct {
		name string
		set  map[string]any
		want []K // beyond base
	}{
		{"nothing else", nil, nil},
		{"IAM user", map[string]any{"userIdentity": map[string]any{"type": "IAMUser", "userName": "alice", "accessKeyId": "AKIAALICE", "arn": "arn:aws:iam::111122223333:user/alice"}},
			[]K{{event.AttrUsername, "alice"}, {event.AttrAccessKeyID, "AKIAALICE"}}},
		{"assumed role", map[string]any{"userIdentity": map[string]any{"type": "AssumedRole", "accessKeyId": "ASIAROLE",
			"arn":            "arn:aws:sts::111122223333:assumed-role/Admin/sess",
			"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "userName": "Admin"}}}},
			[]K{{event.AttrUsername, "Admin"}, {event.AttrAccessKeyID, "ASIAROLE"}}},
		{"userName wins over the session issuer", map[string]any{"userIdentity": map[string]any{"type": "AssumedRole", "userName": "direct",
			"sessionContext": map[string]any{"sessionIssuer": map[string]any{"userName": "Admin"}}}},
			[]K{{event.AttrUsername, "direct"}}},
		{"session without issuer", map[string]any{"userIdentity": map[string]any{"type": "AssumedRole", "sessionContext": map[string]any{"attributes": map[string]any{}}}}, nil},
		{"root", map[string]any{"userIdentity": map[string]any{"type": "Root", "arn": "arn:aws:iam::111122223333:root"}},
			[]K{{event.AttrUsername, "root"}}},
		{"root with an access key", map[string]any{"userIdentity": map[string]any{"type": "Root", "accessKeyId": "AKIAROOT"}},
			[]K{{event.AttrUsername, "root"}, {event.AttrAccessKeyID, "AKIAROOT"}}},
		{"AWS service", map[string]any{"userIdentity": map[string]any{"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}}, nil},
		{"readOnly true", map[string]any{"readOnly": true}, []K{{event.AttrReadOnly, "true"}}},
		{"readOnly false", map[string]any{"readOnly": false}, []K{{event.AttrReadOnly, "false"}}},
		{"readOnly null", map[string]any{"readOnly": raw("null")}, nil},
		{"resources", map[string]any{"resources": []any{
			map[string]any{"ARN": "arn:aws:s3:::audit-logs", "type": "AWS::S3::Bucket", "accountId": "111122223333"},
			map[string]any{"ARN": "arn:aws:iam::111122223333:role/service-role/Admin", "type": "AWS::IAM::Role"},
			map[string]any{"ARN": "arn:aws:s3:::audit-logs", "type": "AWS::S3::Bucket"}, // duplicate: one key
			map[string]any{"type": "AWS::EC2::Instance"},                                // no ARN
			map[string]any{"ARN": "plain-name"},                                         // no type, no separator
		}}, []K{
			{event.AttrResourceType, "AWS::S3::Bucket"},
			{event.AttrResourceName, "arn:aws:s3:::audit-logs"}, {event.AttrResourceName, "audit-logs"},
			{event.AttrResourceType, "AWS::IAM::Role"},
			{event.AttrResourceName, "arn:aws:iam::111122223333:role/service-role/Admin"}, {event.AttrResourceName, "Admin"},
			{event.AttrResourceType, "AWS::EC2::Instance"},
			{event.AttrResourceName, "plain-name"},
		}},
		{"eventID is not a key", map[string]any{"eventID": "some-id"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustDecode(t, rec(t, tc.set), ctx())
			want := append(slices.Clone(base), tc.want...)
			if !sameKeys(e.Keys, want) {
				t.Errorf("keys\n got %v\nwant %v", e.Keys, want)
			}
			if len(e.Keys) != len(want) {
				t.Errorf("%d keys, want %d (duplicates?): %v", len(e.Keys), len(want), e.Keys)
			}
			for _, k := range e.Keys {
				if !event.ValidAttribute(k.Attr) || k.Attr == event.AttrEventID || k.Value == "" {
					t.Errorf("bad key %v", k)
				}
			}
		})
	}
}

func TestShortName(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:s3:::audit-logs":                     "audit-logs",
		"arn:aws:iam::111122223333:role/path/Admin":   "Admin",
		"arn:aws:ec2:us-east-1:111122223333:instance": "instance",
		"arn:aws:s3:::bucket/":                        "arn:aws:s3:::bucket/",
		"trailing:":                                   "trailing:",
		"plain":                                       "plain",
		"":                                            "",
		"/x":                                          "x",
	} {
		if got := event.ShortName(in); got != want {
			t.Errorf("ShortName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidAttribute(t *testing.T) {
	for _, a := range event.Attributes {
		if !event.ValidAttribute(a) {
			t.Errorf("%s not valid", a)
		}
	}
	for _, a := range []event.Attribute{"", "eventname", "EventID", "Username ", "UserName"} {
		if event.ValidAttribute(a) {
			t.Errorf("%q valid", a)
		}
	}
	if len(event.Attributes) != 8 {
		t.Errorf("%d attributes, want 8", len(event.Attributes))
	}
}

func TestSummarize(t *testing.T) {
	s, err := event.Summarize([]byte(`{"eventID":"e1","eventName":"N","eventSource":"S","eventTime":"2026-11-26T09:30:00Z","readOnly":false,
		"userIdentity":{"type":"Root","accessKeyId":"AKIA"},"resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket","accountId":"1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := event.Summary{EventID: "e1", EventName: "N", EventSource: "S", EventTime: time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC),
		ReadOnly: "false", AccessKeyID: "AKIA", Username: "root",
		Resources: []event.Resource{{ARN: "arn:aws:s3:::b", Type: "AWS::S3::Bucket", AccountID: "1"}}}
	b1, _ := json.Marshal(s)
	b2, _ := json.Marshal(want)
	if !bytes.Equal(b1, b2) {
		t.Errorf("Summarize\n got %s\nwant %s", b1, b2)
	}
	if s, err := event.Summarize([]byte(`{}`)); err != nil || s.ReadOnly != "" || !s.EventTime.IsZero() {
		t.Errorf("empty record: %+v, %v", s, err)
	}
	for _, bad := range []string{``, `{`, `[]`} {
		if _, err := event.Summarize([]byte(bad)); err == nil {
			t.Errorf("Summarize(%q) succeeded", bad)
		}
	}
	// A field of the wrong type is left out rather than failing the whole
	// event-history page; look-alike names never stand in for real ones.
	for _, odd := range []string{`{"eventName":5}`, `{"resources":{}}`, `{"EVENTNAME":"Spoofed","eventName":"Real"}`} {
		s, err := event.Summarize([]byte(odd))
		if err != nil || (s.EventName != "" && s.EventName != "Real") || len(s.Resources) != 0 {
			t.Errorf("Summarize(%q) = %+v, %v", odd, s, err)
		}
	}
}

// TestDecodeRecordIsJSONForAnyFieldName: a record with an unknown top-level
// field whose name holds a control character (legal JSON, written \u0001) is
// accepted, but encode writes names with strconv.AppendQuote, Go syntax, so
// the completed record holds "a\x01b", which is not JSON. The stored record
// then fails Summarize (LookupEvents answers InternalFailure for any page
// that holds it) and cannot be decoded again.
func TestDecodeRecordIsJSONForAnyFieldName(t *testing.T) {
	for _, name := range []string{`a\u0001b`, `\u0000`, `\u007f`, `\u0007`, `\u000b`, `\udb40\udc01`} {
		t.Run(name, func(t *testing.T) {
			e := mustDecode(t, strings.Replace(minimal, "{", `{"`+name+`":1,`, 1), ctx())
			if !json.Valid(e.Record) {
				t.Fatalf("completed record is not JSON: %s", e.Record)
			}
			if _, err := event.Summarize(e.Record); err != nil {
				t.Errorf("Summarize: %v", err)
			}
		})
	}
}

// TestSummarizeIgnoresOtherFieldsOfTheSameLetters: Summarize decodes into a
// struct, and encoding/json matches struct fields case-insensitively, so an
// unknown producer field such as "EVENTNAME" (written after the known fields)
// overrides what LookupEvents shows, and an unknown "Resources" of the wrong
// type makes Summarize, and with it every LookupEvents page holding the
// event, fail. Decode checks neither: for it these are unknown fields.
func TestSummarizeIgnoresOtherFieldsOfTheSameLetters(t *testing.T) {
	e := mustDecode(t, rec(t, map[string]any{"EVENTNAME": "Spoofed", "ReadOnly": true, "readOnly": false, "userIdentity": map[string]any{"type": "Root"}, "UserIdentity": map[string]any{"userName": "mallory"}}), ctx())
	s, err := event.Summarize(e.Record)
	if err != nil {
		t.Fatal(err)
	}
	if s.EventName != "ListUsers" || s.ReadOnly != "false" || s.Username != "root" {
		t.Errorf("Summarize shows %+v; the record's eventName is ListUsers, readOnly false, user root (keys %v)", s, e.Keys)
	}
	e = mustDecode(t, rec(t, map[string]any{"Resources": "not a list"}), ctx())
	if _, err := event.Summarize(e.Record); err != nil {
		t.Errorf("an accepted record cannot be summarized: %v", err)
	}
}
