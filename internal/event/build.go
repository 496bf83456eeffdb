package event

// What Cairn's own recorders (the server's self-audit of its API, the
// console's ConsoleLogin events, the recording proxy) build records with:
// the record shape they share, and its parts.

import (
	"crypto/tls"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Event types (the eventType field) of the records Cairn builds.
const (
	TypeAPICall       = "AwsApiCall"
	TypeConsoleSignIn = "AwsConsoleSignIn"
)

// Identity types (userIdentity.type) of the records Cairn builds.
const (
	IdentityIAMUser = "IAMUser"
	IdentityUnknown = "Unknown"
)

// TextLimit is CloudTrail's limit (bytes) on a record's free-text fields:
// userAgent, errorCode, errorMessage. Ingest refuses a record with a longer
// one, so Cairn's recorders clip them to it.
const TextLimit = 1024

// Call is the CloudTrail record of one call as Cairn's recorders write it,
// its fields in CloudTrail's order. NewCall fills what every recorder
// writes alike; a recorder sets the rest, which is its own (eventSource,
// eventName, awsRegion, parameters, …), and marshals it with encoding/json.
// A recorder with a member of its own embeds Call in a struct of its own,
// the member after it.
type Call struct {
	EventVersion string `json:"eventVersion"`
	// UserIdentity is a UserIdentity, or an object of the recorder's own
	// (see UnknownIdentity).
	UserIdentity      any    `json:"userIdentity"`
	EventTime         string `json:"eventTime"`
	EventSource       string `json:"eventSource"`
	EventName         string `json:"eventName"`
	AWSRegion         string `json:"awsRegion"`
	SourceIPAddress   string `json:"sourceIPAddress"`
	UserAgent         string `json:"userAgent,omitempty"`
	ErrorCode         string `json:"errorCode,omitempty"`
	ErrorMessage      string `json:"errorMessage,omitempty"`
	RequestParameters any    `json:"requestParameters"` // nil: null
	ResponseElements  any    `json:"responseElements"`  // nil: null
	// AdditionalEventData is left out when nil.
	AdditionalEventData any         `json:"additionalEventData,omitempty"`
	RequestID           string      `json:"requestID,omitempty"`
	EventID             string      `json:"eventID"`
	ReadOnly            bool        `json:"readOnly"`
	Resources           []Resource  `json:"resources,omitempty"`
	EventType           string      `json:"eventType"`
	APIVersion          string      `json:"apiVersion,omitempty"`
	ManagementEvent     bool        `json:"managementEvent"`
	RecipientAccountID  string      `json:"recipientAccountId,omitempty"`
	EventCategory       string      `json:"eventCategory"`
	TLSDetails          *TLSDetails `json:"tlsDetails,omitempty"`
}

// NewCall starts the record of a call made at t: eventVersion, eventTime
// (UTC, to the second), a new eventID, and an AwsApiCall management event
// until the recorder says otherwise.
func NewCall(t time.Time) Call {
	return Call{
		EventVersion:    Version,
		EventTime:       t.UTC().Format(TimeFormat),
		EventID:         uuid.NewString(),
		EventType:       TypeAPICall,
		ManagementEvent: true,
		EventCategory:   CategoryManagement,
	}
}

// From records where the call came from: the caller's address, its user
// agent (clipped to TextLimit) and the tlsDetails of its connection (nil
// when it was not over TLS).
func (c *Call) From(ip, userAgent string, tls *TLSDetails) {
	c.SourceIPAddress = ip
	c.UserAgent = Clip(userAgent, TextLimit)
	c.TLSDetails = tls
}

// By records that a configured IAM user made the call: its userIdentity,
// and its account as the account the event is for, as CloudTrail records
// a user's calls in the user's own account.
func (c *Call) By(u UserIdentity) {
	c.UserIdentity = u
	c.RecipientAccountID = u.AccountID
}

// Fail records the error the call ended with, code and message each
// clipped to TextLimit. It leaves responseElements as they are: a failed
// console sign-in, for one, has them.
func (c *Call) Fail(code, message string) {
	c.ErrorCode = Clip(code, TextLimit)
	c.ErrorMessage = Clip(message, TextLimit)
}

// SetCategory makes the record an event of category cat (Management when
// cat is empty); managementEvent follows it.
func (c *Call) SetCategory(cat string) {
	if cat == "" {
		cat = CategoryManagement
	}
	c.EventCategory = cat
	c.ManagementEvent = cat == CategoryManagement
}

// UserIdentity is the userIdentity of a call made with the access key of
// an IAM user (Type IdentityIAMUser), every member written even when
// empty, as CloudTrail writes them.
type UserIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	AccessKeyID string `json:"accessKeyId"`
	UserName    string `json:"userName"`
}

// UnknownIdentity is the userIdentity of a caller a recorder cannot name:
// {"type":"Unknown"}, with the access key the call was signed with when
// there is one. A recorder may add members that describe the caller
// further; encoding/json writes them in name order.
func UnknownIdentity(accessKeyID string) map[string]string {
	id := map[string]string{"type": IdentityUnknown}
	if accessKeyID != "" {
		id["accessKeyId"] = accessKeyID
	}
	return id
}

// TLSDetails is a record's tlsDetails element: how a call over TLS reached
// its recorder.
type TLSDetails struct {
	TLSVersion               string `json:"tlsVersion"`
	CipherSuite              string `json:"cipherSuite"`
	ClientProvidedHostHeader string `json:"clientProvidedHostHeader"`
}

// NewTLSDetails describes a connection state and the Host the client
// sent, as CloudTrail's tlsDetails do; nil when the call was not over TLS.
func NewTLSDetails(cs *tls.ConnectionState, host string) *TLSDetails {
	if cs == nil {
		return nil
	}
	return &TLSDetails{TLSVersion: tlsVersionName(cs.Version), CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ClientProvidedHostHeader: host}
}

// tlsVersionName is a TLS version as CloudTrail's tlsDetails name it.
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	}
	return "TLSv1"
}

// Clip cuts s to at most n bytes without splitting a UTF-8 sequence: how
// recorders bound a user agent or an error message.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// CloudTrail's limits (bytes) on a record's bulky members: larger ones are
// left out of the record, which says so with an Omitted marker instead.
const (
	ParamsLimit     = 100 * 1024 // requestParameters, responseElements
	AdditionalLimit = 28 * 1024  // additionalEventData
)

// Omitted is what a record holds in place of a member too large to keep,
// as CloudTrail marks a field it cut: {"omitted": true}.
var Omitted = json.RawMessage(`{"omitted":true}`)

// Bound makes the record fit CloudTrail's limits so that ingest never
// refuses it: the text fields are clipped to their limits, and
// requestParameters, responseElements and additionalEventData larger than
// theirs are replaced with Omitted. A recorder calls it last, before it
// marshals the record: a call's own record must be stored even when the
// caller sent (or the call answered) more than a record can hold.
func (c *Call) Bound() {
	c.EventSource = Clip(c.EventSource, fieldMax["eventSource"])
	c.EventName = Clip(c.EventName, fieldMax["eventName"])
	c.AWSRegion = Clip(c.AWSRegion, fieldMax["awsRegion"])
	c.SourceIPAddress = Clip(c.SourceIPAddress, fieldMax["sourceIPAddress"])
	c.UserAgent = Clip(c.UserAgent, TextLimit)
	c.ErrorCode = Clip(c.ErrorCode, TextLimit)
	c.ErrorMessage = Clip(c.ErrorMessage, TextLimit)
	c.RequestID = Clip(c.RequestID, fieldMax["requestID"])
	c.APIVersion = Clip(c.APIVersion, fieldMax["apiVersion"])
	if c.TLSDetails != nil {
		t := *c.TLSDetails
		t.ClientProvidedHostHeader = Clip(t.ClientProvidedHostHeader, TextLimit)
		c.TLSDetails = &t
	}
	c.RequestParameters = bounded(c.RequestParameters, ParamsLimit)
	c.ResponseElements = bounded(c.ResponseElements, ParamsLimit)
	if c.AdditionalEventData != nil {
		c.AdditionalEventData = bounded(c.AdditionalEventData, AdditionalLimit)
	}
	c.boundResources()
}

// bounded is v as JSON when it is at most limit bytes, Omitted when it is
// larger or cannot be written as JSON, and nil (null) when v is nil.
func bounded(v any, limit int) any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) > limit {
		return Omitted
	}
	return json.RawMessage(b)
}

// resourcesLimit bounds the resources list, which has no limit of its own
// in CloudTrail: with the other members at their limits, what is left of
// the record's 256 KB.
const resourcesLimit = 16 * 1024

// boundResources keeps the leading resources that fit resourcesLimit: the
// record names the resources it can and is still stored.
func (c *Call) boundResources() {
	n := 0
	for i, r := range c.Resources {
		n += len(r.ARN) + len(r.AccountID) + len(r.Type) + 40
		if n > resourcesLimit {
			c.Resources = c.Resources[:i]
			return
		}
	}
}
