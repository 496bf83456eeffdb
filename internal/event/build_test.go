package event

import (
	"crypto/tls"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/testutil"
)

func TestNewTLSDetails(t *testing.T) {
	if NewTLSDetails(nil, "h") != nil {
		t.Error("details of a call without TLS")
	}
	for v, want := range map[uint16]string{tls.VersionTLS13: "TLSv1.3", tls.VersionTLS12: "TLSv1.2", tls.VersionTLS11: "TLSv1.1", tls.VersionTLS10: "TLSv1"} {
		d := NewTLSDetails(&tls.ConnectionState{Version: v, CipherSuite: tls.TLS_AES_128_GCM_SHA256}, "cairn.example:8443")
		if d.TLSVersion != want || d.CipherSuite != "TLS_AES_128_GCM_SHA256" || d.ClientProvidedHostHeader != "cairn.example:8443" {
			t.Errorf("version %x: %+v", v, d)
		}
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is two bytes: not split
		{"€€", 4, "€"}, // € is three bytes
		{"日本", 0, ""},
		{strings.Repeat("x", 2000), 1024, strings.Repeat("x", 1024)},
	} {
		got := Clip(c.s, c.n)
		if got != c.want || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

// steady is a built record with its eventID, a new UUID each time, as "*".
func steady(t *testing.T, b []byte) string {
	t.Helper()
	var m struct {
		EventID string `json:"eventID"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	if _, err := uuid.Parse(m.EventID); err != nil {
		t.Fatalf("eventID %q is not a UUID", m.EventID)
	}
	return testutil.Steady(t, b, "eventID")
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNewCall: a record nobody added to is an AwsApiCall management event
// at the given time in UTC to the second, with null parameters and every
// optional field left out.
func TestNewCall(t *testing.T) {
	at := time.Date(2026, 11, 26, 13, 4, 5, 999_000_000, time.FixedZone("CET", 3600))
	c := NewCall(at)
	got := steady(t, marshal(t, c))
	want := `{"eventVersion":"1.11","userIdentity":null,"eventTime":"2026-11-26T12:04:05Z","eventSource":"","eventName":"",` +
		`"awsRegion":"","sourceIPAddress":"","requestParameters":null,"responseElements":null,"eventID":"*",` +
		`"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"eventCategory":"Management"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if NewCall(at).EventID == c.EventID {
		t.Error("two records with one eventID")
	}
}

// TestCallWhole: every field set, in CloudTrail's order, and a record ingest
// takes as it is: Decode writes it back byte for byte.
func TestCallWhole(t *testing.T) {
	c := NewCall(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	c.By(UserIdentity{Type: IdentityIAMUser, PrincipalID: "AIDAEXAMPLE", ARN: "arn:aws:iam::111111111111:user/alice",
		AccountID: "111111111111", AccessKeyID: "AKIAEXAMPLE", UserName: "alice"})
	c.From("192.0.2.7", "aws-cli/2.0", NewTLSDetails(&tls.ConnectionState{Version: tls.VersionTLS13,
		CipherSuite: tls.TLS_AES_128_GCM_SHA256}, "cairn.example"))
	c.EventSource, c.EventName, c.AWSRegion = "cloudtrail.amazonaws.com", "CreateTrail", "eu-west-1"
	c.Fail("TrailAlreadyExistsException", "Trail t already exists")
	c.RequestParameters = map[string]string{"name": "t"}
	c.ResponseElements = map[string]string{"name": "t"}
	c.AdditionalEventData = map[string]bool{"SignatureVerified": true}
	c.RequestID = "req-1"
	c.Resources = []Resource{{ARN: "arn:aws:cloudtrail:eu-west-1:111111111111:trail/t", Type: "AWS::CloudTrail::Trail"}}
	c.APIVersion = "2013-11-01"
	b := marshal(t, c)
	want := `{"eventVersion":"1.11","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE",` +
		`"arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","accessKeyId":"AKIAEXAMPLE","userName":"alice"},` +
		`"eventTime":"2026-11-26T12:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"CreateTrail",` +
		`"awsRegion":"eu-west-1","sourceIPAddress":"192.0.2.7","userAgent":"aws-cli/2.0",` +
		`"errorCode":"TrailAlreadyExistsException","errorMessage":"Trail t already exists",` +
		`"requestParameters":{"name":"t"},"responseElements":{"name":"t"},"additionalEventData":{"SignatureVerified":true},` +
		`"requestID":"req-1","eventID":"*","readOnly":false,` +
		`"resources":[{"ARN":"arn:aws:cloudtrail:eu-west-1:111111111111:trail/t","type":"AWS::CloudTrail::Trail"}],` +
		`"eventType":"AwsApiCall","apiVersion":"2013-11-01","managementEvent":true,"recipientAccountId":"111111111111",` +
		`"eventCategory":"Management",` +
		`"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"cairn.example"}}`
	if got := steady(t, b); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	e, ferr := Decode(b, Context{Account: "111111111111", Now: time.Date(2026, 11, 26, 12, 0, 1, 0, time.UTC)})
	if ferr != nil {
		t.Fatalf("Decode: %v", ferr)
	}
	if string(e.Record) != string(b) {
		t.Errorf("Decode changed the record:\n%s\nto\n%s", b, e.Record)
	}
}

// TestCallClips: the user agent, error code and message are clipped to
// CloudTrail's 1,024 bytes, never split inside a character.
func TestCallClips(t *testing.T) {
	long := strings.Repeat("x", TextLimit-1) + "é" + "tail"
	c := NewCall(time.Now())
	c.From("192.0.2.7", long, nil)
	c.Fail(long, long)
	for name, v := range map[string]string{"userAgent": c.UserAgent, "errorCode": c.ErrorCode, "errorMessage": c.ErrorMessage} {
		if v != strings.Repeat("x", TextLimit-1) {
			t.Errorf("%s: %d bytes %q…", name, len(v), v[len(v)-3:])
		}
	}
	if c.TLSDetails != nil {
		t.Error("tlsDetails of a call without TLS")
	}
}

// TestCallFailKeepsResponse: a failure records its code and message and
// leaves responseElements to the recorder (a failed ConsoleLogin has them).
func TestCallFailKeepsResponse(t *testing.T) {
	c := NewCall(time.Now())
	c.ResponseElements = map[string]string{"ConsoleLogin": "Failure"}
	c.Fail("", "Failed authentication")
	b := string(marshal(t, c))
	if strings.Contains(b, `"errorCode"`) || !strings.Contains(b, `"errorMessage":"Failed authentication"`) ||
		!strings.Contains(b, `"responseElements":{"ConsoleLogin":"Failure"}`) {
		t.Errorf("%s", b)
	}
}

func TestCallSetCategory(t *testing.T) {
	for _, c := range []struct {
		cat, want  string
		management bool
	}{
		{"", CategoryManagement, true},
		{CategoryManagement, CategoryManagement, true},
		{CategoryData, CategoryData, false},
		{CategoryNetworkActivity, CategoryNetworkActivity, false},
	} {
		rec := NewCall(time.Now())
		rec.SetCategory(c.cat)
		if rec.EventCategory != c.want || rec.ManagementEvent != c.management {
			t.Errorf("SetCategory(%q): %q, managementEvent %v", c.cat, rec.EventCategory, rec.ManagementEvent)
		}
	}
}

// TestUnknownIdentity: type Unknown, the access key when there is one, the
// members in name order as encoding/json writes a map.
func TestUnknownIdentity(t *testing.T) {
	if got := string(marshal(t, UnknownIdentity(""))); got != `{"type":"Unknown"}` {
		t.Errorf("no key: %s", got)
	}
	if got := string(marshal(t, UnknownIdentity("AKIAEXAMPLE"))); got != `{"accessKeyId":"AKIAEXAMPLE","type":"Unknown"}` {
		t.Errorf("with a key: %s", got)
	}
}

// TestCallEmbedded: a recorder's own member, in a struct that embeds Call,
// follows the record's fields.
func TestCallEmbedded(t *testing.T) {
	rec := struct {
		Call
		Extra string `json:"extra"`
	}{Call: NewCall(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)), Extra: "x"}
	got := steady(t, marshal(t, rec))
	if !strings.HasPrefix(got, `{"eventVersion":"1.11",`) || !strings.HasSuffix(got, `"eventCategory":"Management","extra":"x"}`) {
		t.Errorf("%s", got)
	}
}
