package awsproto_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/goldenfile"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, name, got)
}

// dump renders a recorded response: status, headers in name order, body.
func dump(rec *httptest.ResponseRecorder) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP %d\n", rec.Code)
	names := make([]string, 0, len(rec.Header()))
	for n := range rec.Header() {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		for _, v := range rec.Header()[n] {
			fmt.Fprintf(&b, "%s: %s\n", n, v)
		}
	}
	b.WriteString("\n")
	b.Write(rec.Body.Bytes())
	b.WriteString("\n")
	return b.Bytes()
}

func TestWriteErrorGolden(t *testing.T) {
	for _, tc := range []struct {
		name      string
		requestID string
		err       error
		status    int
		code      string
	}{
		{"trail_not_found", "4b1c4e8a-0000-4000-8000-000000000001",
			awsproto.Errorf("TrailNotFoundException", "Unknown trail: %s for the user: %s", "arn:aws:cloudtrail:us-east-1:111122223333:trail/<nope>&\"x\"", "111122223333"),
			400, "TrailNotFoundException"},
		{"wrapped_client_error", "req-2",
			fmt.Errorf("history: %w", awsproto.Errorf("InvalidMaxResultsException", "MaxResults must be between 1 and 50; got %d.", 51)),
			400, "InvalidMaxResultsException"},
		// A plain error must not leak its text: it is an internal failure.
		{"plain_error", "req-3", errors.New("sqlite: database is locked at /var/lib/cairn/secret.db"),
			500, "InternalFailure"},
		{"internal", "req-4", awsproto.Internal(), 500, "InternalFailure"},
		{"unavailable", "req-5", awsproto.Unavailable("The server is shutting down; retry."), 503, "ServiceUnavailableException"},
		{"no_request_id", "", awsproto.Errorf("InvalidTrailNameException", "Trail name too short."), 400, "InvalidTrailNameException"},
		{"nil_error", "req-7", nil, 500, "InternalFailure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			awsproto.WriteError(rec, tc.requestID, tc.err)
			golden(t, filepath.Join("errors", tc.name+".golden"), dump(rec))

			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			h := rec.Header()
			if h.Get("X-Amzn-ErrorType") != tc.code || h.Get("Content-Type") != "application/x-amz-json-1.1" {
				t.Errorf("headers %v", h)
			}
			if got := h.Get("X-Amzn-RequestId"); got != tc.requestID {
				t.Errorf("X-Amzn-RequestId = %q, want %q", got, tc.requestID)
			}
			if _, ok := h["X-Amzn-Requestid"]; tc.requestID == "" && ok {
				t.Error("X-Amzn-RequestId set without a request ID")
			}
			if h.Get("Content-Length") != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("Content-Length %s for %d bytes", h.Get("Content-Length"), rec.Body.Len())
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if len(body) != 2 || body["__type"] != tc.code {
				t.Errorf("body %v, want exactly __type %s and Message", body, tc.code)
			}
			msg, _ := body["Message"].(string)
			var ae *awsproto.Error
			if errors.As(tc.err, &ae) && msg != ae.Message {
				t.Errorf("Message %q, want %q", msg, ae.Message)
			}
			if msg == "" || strings.Contains(msg, "sqlite") {
				t.Errorf("Message %q", msg)
			}
		})
	}
}

func TestErrorConstructors(t *testing.T) {
	e := awsproto.Errorf("InvalidTimeRangeException", "Start %s after end %d", "x", 5)
	if e.Code != "InvalidTimeRangeException" || e.Message != "Start x after end 5" || e.Status != 400 ||
		e.Error() != "InvalidTimeRangeException: Start x after end 5" {
		t.Errorf("Errorf = %+v / %q", e, e.Error())
	}
	if i := awsproto.Internal(); i.Code != "InternalFailure" || i.Status != 500 || i.Message == "" {
		t.Errorf("Internal = %+v", i)
	}
	if u := awsproto.Unavailable("later"); u.Code != "ServiceUnavailableException" || u.Status != 503 || u.Message != "later" {
		t.Errorf("Unavailable = %+v", u)
	}
	if got := awsproto.As(fmt.Errorf("a: %w", fmt.Errorf("b: %w", e))); got != e {
		t.Errorf("As did not unwrap: %+v", got)
	}
	if got := awsproto.As(errors.New("x")); got.Code != "InternalFailure" || got.Status != 500 {
		t.Errorf("As(plain) = %+v", got)
	}
}

// wire is a response shape using Time the way the operations do.
type wire struct {
	Name      string
	EventTime awsproto.Time
	Optional  *awsproto.Time `json:",omitempty"`
	Missing   *awsproto.Time `json:",omitempty"`
	Items     []string
}

func TestWriteJSONGolden(t *testing.T) {
	rec := httptest.NewRecorder()
	awsproto.WriteJSON(rec, "req-json", wire{
		Name:      "audit <trail> & co",
		EventTime: awsproto.Time{Time: time.Unix(1795683600, 0)},
		Optional:  awsproto.NewTime(time.Unix(1795683600, 123_456_789)),
		Missing:   awsproto.NewTime(time.Time{}),
		Items:     []string{},
	})
	golden(t, filepath.Join("json", "ok.golden"), dump(rec))
	if rec.Code != 200 || rec.Header().Get("X-Amzn-ErrorType") != "" {
		t.Errorf("status %d headers %v", rec.Code, rec.Header())
	}

	rec = httptest.NewRecorder()
	awsproto.WriteJSON(rec, "", struct{}{})
	golden(t, filepath.Join("json", "empty.golden"), dump(rec))

	// A value that cannot be encoded is an internal failure, not half a body.
	rec = httptest.NewRecorder()
	awsproto.WriteJSON(rec, "req-bad", map[string]any{"c": make(chan int)})
	golden(t, filepath.Join("json", "unencodable.golden"), dump(rec))
	if rec.Code != 500 || rec.Header().Get("X-Amzn-ErrorType") != "InternalFailure" {
		t.Errorf("unencodable value: status %d headers %v", rec.Code, rec.Header())
	}
}

func TestTimeMarshal(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Unix(1795683600, 0), "1795683600.0"},
		{time.Unix(1795683600, 0).In(time.FixedZone("x", 3600)), "1795683600.0"},
		{time.Unix(1795683600, 123_000_000), "1795683600.123"},
		{time.Unix(1795683600, 5_000_000), "1795683600.005"},
		{time.Unix(1795683600, 100_000_000), "1795683600.100"},
		{time.Unix(1795683600, 999_999_999), "1795683600.999"}, // truncated, not rounded into the next second
		{time.Unix(1795683600, 999_999), "1795683600.0"},       // below a millisecond
		{time.Unix(0, 0), "0.0"},
		{time.Unix(1, 1_000_000), "1.001"},
		{time.Unix(-2, 500_000_000), "-1.500"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC), "253402300799.999"},
	} {
		got, err := json.Marshal(awsproto.Time{Time: tc.t})
		if err != nil || string(got) != tc.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.t, got, err, tc.want)
		}
	}
	if awsproto.NewTime(time.Time{}) != nil {
		t.Error("NewTime(zero) is not nil")
	}
	if nt := awsproto.NewTime(time.Unix(5, 0)); nt == nil || !nt.Equal(time.Unix(5, 0)) {
		t.Errorf("NewTime = %v", nt)
	}
	b, _ := json.Marshal(struct{ T *awsproto.Time }{})
	if string(b) != `{"T":null}` {
		t.Errorf("nil *Time = %s", b)
	}
}

func TestTimeUnmarshal(t *testing.T) {
	ok := func(in string, want time.Time) struct {
		in   string
		want time.Time
		err  bool
	} {
		return struct {
			in   string
			want time.Time
			err  bool
		}{in, want, false}
	}
	bad := func(in string) struct {
		in   string
		want time.Time
		err  bool
	} {
		return struct {
			in   string
			want time.Time
			err  bool
		}{in, time.Time{}, true}
	}
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		ok(`1795683600`, time.Unix(1795683600, 0)),
		ok(`1795683600.0`, time.Unix(1795683600, 0)),
		ok(`1795683600.5`, time.Unix(1795683600, 500_000_000)),
		ok(`1795683600.123`, time.Unix(1795683600, 123_000_000)),
		ok(`1795683600.001`, time.Unix(1795683600, 1_000_000)),
		ok(`1795683600.1234`, time.Unix(1795683600, 123_000_000)), // milliseconds, like the wire
		ok(`1.7956836e9`, time.Unix(1795683600, 0)),
		ok(`0`, time.Unix(0, 0)),
		ok(`-1.5`, time.Unix(-2, 500_000_000)),
		ok(`-62135596800`, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)),
		ok(`253402300799`, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)),
		ok(`"2026-11-26T09:30:00Z"`, time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)),
		ok(`"2026-11-26T10:30:00.25+01:00"`, time.Date(2026, 11, 26, 9, 30, 0, 250_000_000, time.UTC)),
		ok(`"2026-11-26T09:30:00.123456789Z"`, time.Date(2026, 11, 26, 9, 30, 0, 123456789, time.UTC)),
		ok(`null`, time.Time{}),

		bad(`"yesterday"`),
		bad(`"2026-11-26"`),
		bad(`"2026-11-26 09:30:00"`),
		bad(`""`),
		bad(`"1795683600"`),
		bad(`true`),
		bad(`{}`),
		bad(`[]`),
		bad(``),
		bad(`NaN`),
		bad(`Inf`),
		bad(`-Infinity`),
		bad(`1e300`),
		bad(`-1e300`),
		bad(`1e19`),
		bad(`253402300800`),
		bad(`-62135596801`),
		bad(`0x10`),
		bad(`"\ud800"`),
		bad(`"unterminated`),
	} {
		t.Run(tc.in, func(t *testing.T) {
			var got awsproto.Time
			err := got.UnmarshalJSON([]byte(tc.in))
			if tc.err {
				if err == nil {
					t.Errorf("accepted as %v", got.Time)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) || (!tc.want.IsZero() && got.Location() != time.UTC) {
				t.Errorf("got %v, want %v", got.Time, tc.want.UTC())
			}
		})
	}

	// Through encoding/json, as requests are decoded.
	var in struct {
		StartTime, EndTime *awsproto.Time
	}
	if err := json.Unmarshal([]byte(`{"StartTime":1795683600.25,"EndTime":null}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.StartTime == nil || !in.StartTime.Equal(time.Unix(1795683600, 250_000_000)) || in.EndTime != nil {
		t.Errorf("decoded %+v", in)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	for _, ms := range []int64{0, 1, 999, 1000, 1795683600123, -1, -1500, -62135596800000, 253402300799000} {
		in := awsproto.Time{Time: time.UnixMilli(ms)}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out awsproto.Time
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%d ms: %s does not decode: %v", ms, b, err)
		}
		if !out.Equal(in.Time) {
			t.Errorf("%d ms: %s decodes to %v", ms, b, out.Time)
		}
	}
}

// TestTimeUnmarshalAcceptsWhatItWrites: UnmarshalJSON's range check
// (f > 253402300799) refuses 253402300799.999, which MarshalJSON writes for
// 9999-12-31T23:59:59.999Z; and it takes any ISO string time.Parse takes
// (year 0000) without a range check, whose encoding it then refuses.
func TestTimeUnmarshalAcceptsWhatItWrites(t *testing.T) {
	last := awsproto.Time{Time: time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC)}
	b, _ := json.Marshal(last)
	var back awsproto.Time
	if err := back.UnmarshalJSON(b); err != nil || !back.Equal(last.Time) {
		t.Errorf("%v encodes as %s, which decodes to %v, %v", last.Time, b, back.Time, err)
	}
	for _, in := range []string{`"0000-01-01T00:00:00Z"`, `"0000-12-31T23:59:59Z"`} {
		var tm awsproto.Time
		if err := tm.UnmarshalJSON([]byte(in)); err != nil {
			continue // refusing is fine
		}
		b, _ := json.Marshal(tm)
		var back awsproto.Time
		if err := back.UnmarshalJSON(b); err != nil {
			t.Errorf("%s is accepted as %v, whose encoding %s is refused: %v", in, tm.Time, b, err)
		}
	}
}

func TestOperation(t *testing.T) {
	for _, tc := range []struct {
		target string
		op     string
		ok     bool
	}{
		{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", "LookupEvents", true},
		{"CloudTrail_20131101.LookupEvents", "LookupEvents", true},
		{"CloudTrail_20131101.GetTrail", "GetTrail", true},
		{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.", "", false},
		{"CloudTrail_20131101.", "", false},
		{"", "", false},
		{"LookupEvents", "", false},
		{"cloudtrail_20131101.LookupEvents", "", false},
		{"CloudTrail_20131102.LookupEvents", "", false},
		{"Logs_20140328.PutLogEvents", "", false},
		{" CloudTrail_20131101.LookupEvents", "", false},
		{"com.amazonaws.cloudtrail.v20131101.LookupEvents", "", false},
	} {
		op, ok := awsproto.Operation(tc.target)
		if op != tc.op || ok != tc.ok {
			t.Errorf("Operation(%q) = %q, %v; want %q, %v", tc.target, op, ok, tc.op, tc.ok)
		}
	}
	if !awsproto.Operations["LookupEvents"] || !awsproto.Operations["GetTrail"] || awsproto.Operations["PutAuditEvents"] {
		t.Error("Operations does not list the CloudTrail model's operations")
	}
}

// request is shaped like LookupEventsRequest.
type request struct {
	LookupAttributes []struct {
		AttributeKey   *string
		AttributeValue *string
	}
	StartTime  *awsproto.Time
	MaxResults *int
	NextToken  *string
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		field string // named in the message; "" for a syntax error
		ok    bool
	}{
		{"empty", ``, "", true},
		{"whitespace", " \r\n\t", "", true},
		{"empty object", `{}`, "", true},
		{"null", `null`, "", true},
		{"full", `{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"X"}],"StartTime":1795683600,"MaxResults":5,"NextToken":"t"}`, "", true},
		{"unknown fields are ignored", `{"Bogus":1}`, "", true},
		{"MaxResults as string", `{"MaxResults":"5"}`, "MaxResults", false},
		{"MaxResults fractional", `{"MaxResults":5.5}`, "MaxResults", false},
		{"NextToken as number", `{"NextToken":5}`, "NextToken", false},
		{"nested type error", `{"LookupAttributes":[{"AttributeKey":5}]}`, "LookupAttributes.AttributeKey", false},
		{"LookupAttributes as object", `{"LookupAttributes":{}}`, "LookupAttributes", false},
		{"bad StartTime", `{"StartTime":true}`, "", false},
		{"array", `[]`, "", false},
		{"syntax", `{"MaxResults":`, "", false},
		{"not JSON", `MaxResults=5`, "", false},
		{"two values", `{}{}`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v request
			err := awsproto.Decode([]byte(tc.body), &v)
			if tc.ok {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			var ae *awsproto.Error
			if !errors.As(err, &ae) {
				t.Fatalf("Decode = %v (%T), want an *awsproto.Error", err, err)
			}
			if ae.Code != "SerializationException" || ae.Status != 400 {
				t.Errorf("error %+v", ae)
			}
			if tc.field != "" && !strings.Contains(ae.Message, "Field "+tc.field+" ") {
				t.Errorf("message %q does not name the field %s", ae.Message, tc.field)
			}
		})
	}
}

// FuzzTimeUnmarshal: UnmarshalJSON never panics, an accepted number is a time
// within years 1..9999 that survives MarshalJSON and UnmarshalJSON, and
// encoding/json agrees on what a value means.
func FuzzTimeUnmarshal(f *testing.F) {
	for _, s := range []string{`1795683600`, `1795683600.123`, `-1.5`, `1e3`, `"2026-11-26T09:30:00Z"`,
		`"2026-11-26T10:30:00.25+01:00"`, `null`, `NaN`, `1e300`, `253402300799.999`, `-62135596800`, `"x"`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tm awsproto.Time
		if err := tm.UnmarshalJSON(b); err != nil {
			return
		}
		if string(b) == "null" {
			if !tm.IsZero() {
				t.Fatalf("null set %v", tm.Time)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("%q: location %v", b, tm.Location())
		}
		if b[0] != '"' {
			if y := tm.Year(); y < 1 || y > 10000 {
				t.Fatalf("%q: year %d", b, y)
			}
			if tm.Nanosecond()%1_000_000 != 0 {
				t.Fatalf("%q: finer than a millisecond: %v", b, tm.Time)
			}
			f, _ := strconv.ParseFloat(string(b), 64)
			if d := math.Abs(float64(tm.UnixMilli())/1000 - f); d > 0.001 {
				t.Fatalf("%q decoded to %v, %.4fs away", b, tm.Time, d)
			}
		}
		enc, err := json.Marshal(tm)
		if err != nil {
			t.Fatalf("%q: marshal: %v", b, err)
		}
		var back awsproto.Time
		if err := back.UnmarshalJSON(enc); err != nil {
			t.Fatalf("%q decodes to %v, whose encoding %s is refused: %v", b, tm.Time, enc, err)
		}
		if !back.Equal(tm.Truncate(time.Millisecond)) {
			t.Fatalf("%q: %v encodes as %s, which decodes to %v", b, tm.Time, enc, back.Time)
		}
		// encoding/json, as the request decoder calls it, agrees.
		var via struct{ T awsproto.Time }
		if json.Valid(b) {
			if err := json.Unmarshal([]byte(`{"T":`+string(b)+`}`), &via); err != nil || !via.T.Equal(tm.Time) {
				t.Fatalf("%q: via encoding/json %v, %v; direct %v", b, via.T.Time, err, tm.Time)
			}
		}
	})
}
