package history

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/goldenfile"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, name, got)
}

const (
	acct   = "111122223333"
	region = "us-east-1"
)

// now is the service's clock in these tests.
var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func fpOf(s string) [8]byte {
	var fp [8]byte
	copy(fp[:], s)
	return fp
}

func TestTokenRoundTrip(t *testing.T) {
	fp := fpOf("params-1")
	for _, c := range []store.Cursor{
		{Time: 0, Seq: 0}, {Time: 1795683600, Seq: 1}, {Time: 1795683600, Seq: 123456789}, {Time: -1, Seq: -1},
		{Time: math.MaxInt64, Seq: math.MaxInt64}, {Time: math.MinInt64, Seq: math.MinInt64}, {Time: 1, Seq: math.MinInt64},
	} {
		tok := EncodeToken(c, fp)
		if strings.ContainsAny(tok, "+/=") {
			t.Errorf("token %q is not raw URL-safe base64", tok)
		}
		got, err := DecodeToken(tok, fp)
		if err != nil || got != c {
			t.Errorf("DecodeToken(EncodeToken(%v)) = %v, %v", c, got, err)
		}
		if _, err := DecodeToken(tok, fpOf("params-2")); err == nil {
			t.Errorf("token for %v decodes with another fingerprint", c)
		}
	}
}

// TestTokenGolden pins the NextToken format: a client may hold a token
// across a server upgrade.
func TestTokenGolden(t *testing.T) {
	var b bytes.Buffer
	for _, tc := range []struct {
		c  store.Cursor
		fp [8]byte
	}{
		{store.Cursor{Time: 1795683600, Seq: 42}, fingerprint(acct, region, Input{}, false)},
		{store.Cursor{Time: 1795683600, Seq: 43}, fingerprint(acct, region, Input{}, false)},
		{store.Cursor{Time: 1795680000, Seq: 1}, fingerprint(acct, region, Input{
			LookupAttributes: []LookupAttribute{{ptr("EventName"), ptr("CreateBucket")}}}, false)},
		{store.Cursor{Time: 1795680000, Seq: 1}, fingerprint(acct, region, Input{
			EventCategory: ptr("insight"), StartTime: &awsproto.Time{Time: now.Add(-time.Hour)}, EndTime: &awsproto.Time{Time: now}}, false)},
		{store.Cursor{Time: 0, Seq: 0}, [8]byte{}},
	} {
		fmt.Fprintf(&b, "time=%d seq=%d fp=%x token=%s\n", tc.c.Time, tc.c.Seq, tc.fp, EncodeToken(tc.c, tc.fp))
	}
	golden(t, "token.golden", b.Bytes())
}

func TestDecodeTokenMalformed(t *testing.T) {
	fp := fpOf("params-1")
	good := EncodeToken(store.Cursor{Time: 1795683600, Seq: 7}, fp)
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	enc := base64.RawURLEncoding.EncodeToString
	for name, tok := range map[string]string{
		"empty":               "",
		"not base64":          "!!!!",
		"padded":              good + "=",
		"std alphabet":        strings.NewReplacer("-", "+", "_", "/").Replace(EncodeToken(store.Cursor{Time: -1 << 40, Seq: 1 << 50}, fp)),
		"wrong version":       enc(append([]byte{2}, raw[1:]...)),
		"version only":        enc([]byte{1}),
		"no cursor":           enc(append([]byte{1}, fp[:]...)),
		"truncated":           good[:len(good)-2],
		"extra byte":          enc(append(append([]byte{}, raw...), 0)),
		"fingerprint missing": enc(raw[:len(raw)-8]),
		"overlong varint":     enc(append(append([]byte{1}, bytes.Repeat([]byte{0xff}, 11)...), fp[:]...)),
		"whitespace":          " " + good,
	} {
		if c, err := DecodeToken(tok, fp); err == nil {
			t.Errorf("%s: %q decoded to %v", name, tok, c)
		}
	}
}

// TestRandomTokensNeverDecode: structurally valid tokens with a random
// fingerprint are refused; the 8-byte fingerprint is what protects a token
// from being used with other parameters.
func TestRandomTokensNeverDecode(t *testing.T) {
	fp := fingerprint(acct, region, Input{}, false)
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 100_000; i++ {
		b := []byte{tokenVersion}
		b = binary.AppendVarint(b, r.Int64())
		b = binary.AppendVarint(b, r.Int64())
		var other [8]byte
		binary.LittleEndian.PutUint64(other[:], r.Uint64())
		b = append(b, other[:]...)
		if c, err := DecodeToken(base64.RawURLEncoding.EncodeToString(b), fp); err == nil {
			t.Fatalf("random token %x decoded to %v", b, c)
		}
	}
}

func TestFingerprint(t *testing.T) {
	base := Input{LookupAttributes: []LookupAttribute{{ptr("EventName"), ptr("X")}},
		StartTime: &awsproto.Time{Time: now.Add(-time.Hour)}, EndTime: &awsproto.Time{Time: now}}
	fp := fingerprint(acct, region, base, false)
	same := base
	same.MaxResults = ptr(7)
	same.NextToken = ptr("whatever")
	if fingerprint(acct, region, same, false) != fp {
		t.Error("MaxResults or NextToken changed the fingerprint")
	}
	for name, tc := range map[string]struct {
		account, region string
		in              Input
	}{
		"account":  {"444455556666", region, base},
		"region":   {acct, "eu-west-1", base},
		"value":    {acct, region, Input{LookupAttributes: []LookupAttribute{{ptr("EventName"), ptr("Y")}}, StartTime: base.StartTime, EndTime: base.EndTime}},
		"key":      {acct, region, Input{LookupAttributes: []LookupAttribute{{ptr("EventSource"), ptr("X")}}, StartTime: base.StartTime, EndTime: base.EndTime}},
		"start":    {acct, region, Input{LookupAttributes: base.LookupAttributes, StartTime: &awsproto.Time{Time: now.Add(-2 * time.Hour)}, EndTime: base.EndTime}},
		"end":      {acct, region, Input{LookupAttributes: base.LookupAttributes, StartTime: base.StartTime}},
		"category": {acct, region, Input{LookupAttributes: base.LookupAttributes, StartTime: base.StartTime, EndTime: base.EndTime, EventCategory: ptr("insight")}},
		"swap":     {region, acct, base},
	} {
		if fingerprint(tc.account, tc.region, tc.in, false) == fp {
			t.Errorf("a different %s has the same fingerprint", name)
		}
	}
}

// FuzzDecodeToken: DecodeToken never panics; what it accepts encodes back to
// a token with the same cursor; and input the fuzzer makes up essentially
// never carries the fingerprint of parameters it has not seen.
func FuzzDecodeToken(f *testing.F) {
	seen := fpOf("seen-fp!")
	for _, c := range []store.Cursor{{Time: 1795683600, Seq: 42}, {Time: 0, Seq: 0}, {Time: -5, Seq: math.MaxInt64}} {
		f.Add(EncodeToken(c, seen))
	}
	f.Add("")
	f.Add("AQ")
	f.Add("not a token")
	unseen := fingerprint(acct, region, Input{EventCategory: ptr("insight")}, false)
	f.Fuzz(func(t *testing.T, tok string) {
		if c, err := DecodeToken(tok, unseen); err == nil {
			t.Fatalf("%q decoded with a fingerprint the fuzzer was never given: %v", tok, c)
		}
		c, err := DecodeToken(tok, seen)
		if err != nil {
			return
		}
		if back, err := DecodeToken(EncodeToken(c, seen), seen); err != nil || back != c {
			t.Fatalf("%q: cursor %v re-encoded decodes to %v, %v", tok, c, back, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// newService opens a real SQLite store and a service whose clock is now,
// with 90 days of history.
func newService(t *testing.T, evs ...*event.Event) (*Service, store.Store) {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if len(evs) > 0 {
		if _, err := st.Append(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	s := New(st, 90)
	s.now = func() time.Time { return now }
	return s, st
}

// rec decodes a record the way ingest does.
func rec(t testing.TB, raw string) *event.Event {
	t.Helper()
	e, ferr := event.Decode([]byte(raw), event.Context{Account: acct, Now: now})
	if ferr != nil {
		t.Fatalf("Decode: %v", ferr)
	}
	return e
}

func mgmt(t testing.TB, name string, at time.Time, extra string) *event.Event {
	t.Helper()
	return rec(t, fmt.Sprintf(`{"eventTime":%q,"eventSource":"s3.amazonaws.com","eventName":%q,"awsRegion":%q,
		"userIdentity":{"type":"IAMUser","userName":"alice","accessKeyId":"AKIAALICE"}%s}`, at.Format(event.TimeFormat), name, region, extra))
}

func wantAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae *awsproto.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want %s", err, err, code)
	}
	if string(ae.Code) != code || ae.Status != 400 || ae.Message == "" {
		t.Errorf("error %+v, want %s (400)", ae, code)
	}
}

func TestLookupValidation(t *testing.T) {
	s, _ := newService(t, mgmt(t, "CreateBucket", now.Add(-time.Hour), ""))
	attr := func(k, v string) []LookupAttribute { return []LookupAttribute{{ptr(k), ptr(v)}} }
	garbage := EncodeToken(store.Cursor{Time: now.Unix(), Seq: 1}, fpOf("elsewhere"))
	for _, tc := range []struct {
		name string
		in   Input
		code string // "" accepted
	}{
		{"no parameters", Input{}, ""},
		{"two attributes", Input{LookupAttributes: append(attr("EventName", "A"), attr("EventSource", "B")...)}, "InvalidLookupAttributesException"},
		{"bad key", Input{LookupAttributes: attr("Bogus", "x")}, "InvalidLookupAttributesException"},
		{"key in the wrong case", Input{LookupAttributes: attr("eventName", "x")}, "InvalidLookupAttributesException"},
		{"empty key", Input{LookupAttributes: attr("", "x")}, "InvalidLookupAttributesException"},
		{"no key", Input{LookupAttributes: []LookupAttribute{{nil, ptr("x")}}}, "InvalidLookupAttributesException"},
		{"no value", Input{LookupAttributes: []LookupAttribute{{ptr("EventName"), nil}}}, "InvalidLookupAttributesException"},
		{"empty value", Input{LookupAttributes: attr("EventName", "")}, "InvalidLookupAttributesException"},
		{"2000 characters", Input{LookupAttributes: attr("EventName", strings.Repeat("a", 2000))}, ""},
		{"2001 characters", Input{LookupAttributes: attr("EventName", strings.Repeat("a", 2001))}, "InvalidLookupAttributesException"},
		{"2000 two-byte characters", Input{LookupAttributes: attr("ResourceName", strings.Repeat("é", 2000))}, ""},
		{"1000 underscores count 2000", Input{LookupAttributes: attr("ResourceName", strings.Repeat("_", 1000))}, ""},
		{"1001 underscores count 2002", Input{LookupAttributes: attr("ResourceName", strings.Repeat("_", 1001))}, "InvalidLookupAttributesException"},
		{"1999 characters and an underscore", Input{LookupAttributes: attr("ResourceName", strings.Repeat("a", 1999)+"_")}, "InvalidLookupAttributesException"},
		{"spaces commas newlines count twice", Input{LookupAttributes: attr("ResourceName", strings.Repeat("a", 1995)+" ,\n")}, "InvalidLookupAttributesException"},
		{"1998 characters and an underscore", Input{LookupAttributes: attr("ResourceName", strings.Repeat("a", 1998)+"_")}, ""},

		{"MaxResults 0", Input{MaxResults: ptr(0)}, "InvalidMaxResultsException"},
		{"MaxResults 51", Input{MaxResults: ptr(51)}, "InvalidMaxResultsException"},
		{"MaxResults -1", Input{MaxResults: ptr(-1)}, "InvalidMaxResultsException"},
		{"MaxResults 1", Input{MaxResults: ptr(1)}, ""},
		{"MaxResults 50", Input{MaxResults: ptr(50)}, ""},

		{"start after end", Input{StartTime: &awsproto.Time{Time: now}, EndTime: &awsproto.Time{Time: now.Add(-time.Second)}}, "InvalidTimeRangeException"},
		{"start in the future, no end", Input{StartTime: &awsproto.Time{Time: now.Add(time.Hour)}}, "InvalidTimeRangeException"},
		{"start equal to end", Input{StartTime: &awsproto.Time{Time: now}, EndTime: &awsproto.Time{Time: now}}, ""},
		{"start before history", Input{StartTime: &awsproto.Time{Time: now.AddDate(-5, 0, 0)}}, ""},

		{"category Insight", Input{EventCategory: ptr("Insight")}, "InvalidEventCategoryException"},
		{"category management", Input{EventCategory: ptr("management")}, "InvalidEventCategoryException"},
		{"category empty", Input{EventCategory: ptr("")}, "InvalidEventCategoryException"},
		{"category insight", Input{EventCategory: ptr("insight")}, ""},

		{"garbage token", Input{NextToken: ptr("garbage")}, "InvalidNextTokenException"},
		{"empty token", Input{NextToken: ptr("")}, "InvalidNextTokenException"},
		{"token for other parameters", Input{NextToken: &garbage}, "InvalidNextTokenException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.Lookup(context.Background(), acct, region, tc.in)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if out.Events == nil {
					t.Error("Events is nil; the response must hold a list")
				}
				return
			}
			wantAPIError(t, err, tc.code)
		})
	}

	// Insight events are looked up by EventId, EventName and EventSource only.
	for _, a := range event.Attributes {
		t.Run("insight by "+string(a), func(t *testing.T) {
			_, err := s.Lookup(context.Background(), acct, region, Input{EventCategory: ptr("insight"), LookupAttributes: attr(string(a), "x")})
			switch a {
			case event.AttrEventID, event.AttrEventName, event.AttrEventSource:
				if err != nil {
					t.Errorf("refused: %v", err)
				}
			default:
				wantAPIError(t, err, "InvalidLookupAttributesException")
			}
		})
	}
}

// TestLookupPagingAndTokens walks a listing page by page: every event once,
// newest first; a token only continues the listing it was issued for.
func TestLookupPagingAndTokens(t *testing.T) {
	var evs []*event.Event
	for i := 0; i < 23; i++ {
		// Three events per second, so that pages end inside a second.
		evs = append(evs, mgmt(t, fmt.Sprintf("Op%02d", i), now.Add(-time.Hour+time.Duration(i/3)*time.Second), ""))
	}
	s, _ := newService(t, evs...)
	ctx := context.Background()
	in := Input{MaxResults: ptr(5), LookupAttributes: []LookupAttribute{{ptr("Username"), ptr("alice")}}}
	var names []string
	var first *string
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		out, err := s.Lookup(ctx, acct, region, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			names = append(names, e.EventName)
		}
		if out.NextToken == nil {
			break
		}
		if len(out.Events) != 5 {
			t.Errorf("page %d: %d events with a NextToken", pages, len(out.Events))
		}
		if first == nil {
			first = out.NextToken
		}
		in.NextToken = out.NextToken
	}
	if len(names) != 23 {
		t.Fatalf("%d events: %v", len(names), names)
	}
	for i, n := range names {
		// Newest first; within a second, the later append first.
		if want := fmt.Sprintf("Op%02d", 22-i); n != want {
			t.Errorf("event %d is %s, want %s (all: %v)", i, n, want, names)
			break
		}
	}

	// The first page's token used with other parameters is refused.
	for name, other := range map[string]Input{
		"other value":    {NextToken: first, LookupAttributes: []LookupAttribute{{ptr("Username"), ptr("bob")}}},
		"other key":      {NextToken: first, LookupAttributes: []LookupAttribute{{ptr("EventSource"), ptr("alice")}}},
		"no attribute":   {NextToken: first},
		"with a start":   {NextToken: first, LookupAttributes: in.LookupAttributes, StartTime: &awsproto.Time{Time: now.Add(-2 * time.Hour)}},
		"insight":        {NextToken: first, LookupAttributes: []LookupAttribute{{ptr("EventName"), ptr("alice")}}, EventCategory: ptr("insight")},
		"flipped letter": {NextToken: ptr(flip(*first)), LookupAttributes: in.LookupAttributes},
	} {
		if _, err := s.Lookup(ctx, acct, region, other); err == nil {
			t.Errorf("%s: the token was accepted", name)
		} else {
			wantAPIError(t, err, "InvalidNextTokenException")
		}
	}
	if _, err := s.Lookup(ctx, "444455556666", region, Input{NextToken: first, LookupAttributes: in.LookupAttributes}); err == nil {
		t.Error("another account's token was accepted")
	}
	if _, err := s.Lookup(ctx, acct, "eu-west-1", Input{NextToken: first, LookupAttributes: in.LookupAttributes}); err == nil {
		t.Error("another region's token was accepted")
	}
	// MaxResults may change between pages.
	if _, err := s.Lookup(ctx, acct, region, Input{NextToken: first, LookupAttributes: in.LookupAttributes, MaxResults: ptr(50)}); err != nil {
		t.Errorf("changing MaxResults: %v", err)
	}
}

// flip changes the token's last character (inside the fingerprint).
func flip(tok string) string {
	b := []byte(tok)
	if b[len(b)-1] == 'A' {
		b[len(b)-1] = 'B'
	} else {
		b[len(b)-1] = 'A'
	}
	return string(b)
}

// TestLookupGolden pins the LookupEvents response shape for a few events.
func TestLookupGolden(t *testing.T) {
	s, _ := newService(t,
		mgmt(t, "CreateBucket", now.Add(-2*time.Hour), `,"readOnly":false,"resources":[{"ARN":"arn:aws:s3:::audit-logs","type":"AWS::S3::Bucket"},{"type":"AWS::S3::Object"}]`),
		rec(t, `{"eventTime":"2026-11-26T11:00:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","readOnly":true,
			"userIdentity":{"type":"AssumedRole","accessKeyId":"ASIAROLE","sessionContext":{"sessionIssuer":{"userName":"Admin"}}}}`),
		rec(t, `{"eventTime":"2026-11-26T11:30:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventCategory":"Data"}`),
		rec(t, `{"eventCategory":"Insight","eventTime":"2026-11-26T11:15:00Z","awsRegion":"us-east-1","insightDetails":{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com","state":"Start"}}`),
	)
	for name, in := range map[string]Input{
		"all":             {},
		"by_resource":     {LookupAttributes: []LookupAttribute{{ptr("ResourceName"), ptr("audit-logs")}}},
		"insight":         {EventCategory: ptr("insight")},
		"paged":           {MaxResults: ptr(1)},
		"none_before_now": {StartTime: &awsproto.Time{Time: now.AddDate(-1, 0, 0)}, EndTime: &awsproto.Time{Time: now.AddDate(0, 0, -91)}},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := s.Lookup(context.Background(), acct, region, in)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("lookup", name+".golden"), append(b, '\n'))
			for _, e := range out.Events {
				var m map[string]any
				if err := json.Unmarshal([]byte(e.CloudTrailEvent), &m); err != nil || m["eventID"] != e.EventId {
					t.Errorf("CloudTrailEvent of %s: %v %v", e.EventId, m["eventID"], err)
				}
			}
		})
	}
}

// TestLookupSurvivesOddRecords: a record Decode accepted must not break the
// event history of its account. Two kinds do: one with an unknown field
// whose name has a control character (encode writes it in Go syntax, so the
// stored record is not JSON), and one with an unknown field spelled like a
// known one in other letter case ("Resources": "x"), which Summarize's
// case-insensitive decoding fails on. Either makes toEvent fail, and
// LookupEvents answers InternalFailure for every page holding the event.
func TestLookupSurvivesOddRecords(t *testing.T) {
	for name, extra := range map[string]string{
		"control character in a field name": `,"x\u0001":1`,
		"Resources of another type":         `,"Resources":"not a list"`,
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := newService(t, mgmt(t, "Poison", now.Add(-time.Hour), extra), mgmt(t, "Fine", now.Add(-2*time.Hour), ""))
			out, err := s.Lookup(context.Background(), acct, region, Input{})
			if err != nil {
				t.Fatalf("LookupEvents of the account fails: %v", err)
			}
			if len(out.Events) != 2 {
				t.Errorf("%d events", len(out.Events))
			}
		})
	}
}

// TestLookupStartTimeIsInclusiveToTheMillisecond: an event at 11:00:00 is
// before a StartTime of 11:00:00.500, yet it is returned: the store bounds
// postings by q.Start.Unix(), which truncates the fraction.
func TestLookupStartTimeIsInclusiveToTheMillisecond(t *testing.T) {
	s, _ := newService(t, mgmt(t, "Early", now.Add(-time.Hour), ""))
	out, err := s.Lookup(context.Background(), acct, region, Input{StartTime: &awsproto.Time{Time: now.Add(-time.Hour + 500*time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 0 {
		t.Errorf("event at %s returned for StartTime %s", out.Events[0].EventTime.Format(time.RFC3339Nano), now.Add(-time.Hour+500*time.Millisecond).Format(time.RFC3339Nano))
	}
}
