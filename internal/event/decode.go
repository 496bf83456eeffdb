package event

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Per-record error codes, the same codes CloudTrail Data's PutAuditEvents
// uses for failed entries.
const (
	ErrFieldNotFound    = "FieldNotFound"
	ErrFieldTooLong     = "FieldTooLong"
	ErrInvalidData      = "InvalidData"
	ErrInvalidRecipient = "InvalidRecipient"
)

// FieldError says why one record was refused and which field is at fault.
type FieldError struct {
	Code    string
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Code + ": " + e.Message }

func fieldErr(code, field, format string, args ...any) *FieldError {
	return &FieldError{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Context is what the ingest path knows about the caller of a record.
type Context struct {
	// Account is the caller's account: the owner of a record that names none.
	Account string
	// MayWriteFor reports whether the caller may submit events owned by
	// another account. Nil allows only Account.
	MayWriteFor func(account string) bool
	// ServesRegion reports whether a region is served. Nil serves all.
	ServesRegion func(region string) bool
	// Now is the receive time, used for defaults.
	Now time.Time
	// Identify completes an identity that a recorder could not know (a
	// userIdentity of type "Unknown" with an accessKeyId, as cairn proxy
	// sends): the full userIdentity of the key's user and its account.
	// Nil completes nothing.
	Identify func(accessKeyID string) (identity json.RawMessage, account string, ok bool)
}

// fieldOrder is the order CloudTrail writes a record's fields in; fields not
// listed follow in name order.
var fieldOrder = []string{
	"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
	"sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
	"responseElements", "additionalEventData", "requestID", "eventID", "readOnly", "resources",
	"eventType", "apiVersion", "managementEvent", "recipientAccountId", "sharedEventID",
	"vpcEndpointId", "vpcEndpointAccountId", "serviceEventDetails", "eventCategory",
	"insightDetails", "addendum", "sessionCredentialFromConsole", "edgeDeviceDetails",
	"tlsDetails", "eventContext", "annotation",
}

var orderIndex = func() map[string]int {
	m := make(map[string]int, len(fieldOrder))
	for i, f := range fieldOrder {
		m[f] = i
	}
	return m
}()

// the JSON kind each known field must have.
type kind int

const (
	kString kind = iota
	kObject
	kBool
	kArray
)

var fieldKinds = map[string]kind{
	"eventVersion": kString, "eventTime": kString, "eventSource": kString, "eventName": kString,
	"awsRegion": kString, "sourceIPAddress": kString, "userAgent": kString, "errorCode": kString,
	"errorMessage": kString, "requestID": kString, "eventID": kString, "eventType": kString,
	"apiVersion": kString, "recipientAccountId": kString, "sharedEventID": kString,
	"vpcEndpointId": kString, "vpcEndpointAccountId": kString, "eventCategory": kString,
	"sessionCredentialFromConsole": kString,
	"userIdentity":                 kObject, "requestParameters": kObject, "responseElements": kObject,
	"additionalEventData": kObject, "serviceEventDetails": kObject, "insightDetails": kObject,
	"addendum": kObject, "edgeDeviceDetails": kObject, "tlsDetails": kObject, "eventContext": kObject,
	"readOnly": kBool, "managementEvent": kBool,
	"resources": kArray,
}

// string length limits (bytes) of CloudTrail's documented fields.
var fieldMax = map[string]int{
	"userAgent": 1024, "errorCode": 1024, "errorMessage": 1024, "requestID": 1024,
	"eventID": 128, "eventName": 1024, "eventSource": 1024, "awsRegion": 64,
	"sourceIPAddress": 1024, "eventVersion": 16, "eventType": 64, "apiVersion": 64,
	"recipientAccountId": 12, "sharedEventID": 128, "eventCategory": 32,
}

// Decode validates one record as a producer sent it and completes it: the
// owner account, eventVersion, eventID (derived from the record's content
// when absent, so a resent record keeps its ID), eventType, eventCategory and
// managementEvent defaults. It returns a FieldError naming the field at fault
// for a record that cannot be accepted.
func Decode(raw []byte, c Context) (*Event, *FieldError) {
	if len(raw) > MaxRecordBytes {
		return nil, fieldErr(ErrFieldTooLong, "", "record is %d bytes; the limit is %d bytes (256 KB)", len(raw), MaxRecordBytes)
	}
	fields, err := splitObject(raw)
	if errors.Is(err, errNotObject) {
		return nil, fieldErr(ErrInvalidData, "", "record must be a JSON object")
	}
	if err != nil {
		return nil, fieldErr(ErrInvalidData, "", "record is not valid JSON: %v", err)
	}
	for name, v := range fields {
		k, known := fieldKinds[name]
		if !known {
			continue
		}
		if err := checkKind(name, k, v); err != nil {
			return nil, err
		}
		if max, ok := fieldMax[name]; ok && k == kString && len(v) > max+2 {
			s, _ := unquote(v)
			if len(s) > max {
				return nil, fieldErr(ErrFieldTooLong, name, "%s is %d bytes; the limit is %d", name, len(s), max)
			}
		}
	}
	e := &Event{}
	get := func(name string) string {
		v, ok := fields[name]
		if !ok || len(v) < 2 || v[0] != '"' {
			return ""
		}
		s, _ := unquote(v)
		return s
	}
	set := func(name, value string) {
		b, _ := json.Marshal(value)
		fields[name] = b
	}

	// Category and type first: insight records carry their name and source
	// inside insightDetails.
	category := get("eventCategory")
	eventType := get("eventType")
	if category == "" {
		if eventType == "AwsCloudTrailInsight" {
			category = CategoryInsight
		} else {
			category = CategoryManagement
		}
		set("eventCategory", category)
	}
	switch category {
	case CategoryManagement, CategoryData, CategoryInsight, CategoryNetworkActivity:
	default:
		return nil, fieldErr(ErrInvalidData, "eventCategory", "eventCategory %q is not one of Management, Data, Insight, NetworkActivity", category)
	}
	e.Category = category
	if eventType == "" {
		if category == CategoryInsight {
			eventType = "AwsCloudTrailInsight"
		} else {
			eventType = "AwsApiCall"
		}
		set("eventType", eventType)
	}

	name, source := get("eventName"), get("eventSource")
	var insight struct {
		EventName   string `json:"eventName"`
		EventSource string `json:"eventSource"`
	}
	if category == CategoryInsight {
		d, ok := fields["insightDetails"]
		if !ok || string(d) == "null" {
			return nil, fieldErr(ErrFieldNotFound, "insightDetails", "an Insight record needs insightDetails")
		}
		if err := json.Unmarshal(d, &insight); err != nil {
			return nil, fieldErr(ErrInvalidData, "insightDetails", "insightDetails: %v", err)
		}
		if name == "" {
			name = insight.EventName
		}
		if source == "" {
			source = insight.EventSource
		}
		if name == "" {
			return nil, fieldErr(ErrFieldNotFound, "insightDetails.eventName", "an Insight record needs insightDetails.eventName")
		}
		if source == "" {
			return nil, fieldErr(ErrFieldNotFound, "insightDetails.eventSource", "an Insight record needs insightDetails.eventSource")
		}
	} else {
		if name == "" {
			return nil, fieldErr(ErrFieldNotFound, "eventName", "eventName is required")
		}
		if source == "" {
			return nil, fieldErr(ErrFieldNotFound, "eventSource", "eventSource is required")
		}
	}

	ts := get("eventTime")
	if ts == "" {
		return nil, fieldErr(ErrFieldNotFound, "eventTime", "eventTime is required")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, fieldErr(ErrInvalidData, "eventTime", "eventTime %q is not an RFC 3339 time such as 2026-11-26T09:30:00Z", ts)
	}
	e.Time = t.UTC().Truncate(time.Second)
	if e.Time.Year() < 1970 || e.Time.Year() > 9999 {
		return nil, fieldErr(ErrInvalidData, "eventTime", "eventTime %q is out of range", ts)
	}
	set("eventTime", e.Time.Format(TimeFormat))

	region := get("awsRegion")
	if region == "" {
		return nil, fieldErr(ErrFieldNotFound, "awsRegion", "awsRegion is required")
	}
	if c.ServesRegion != nil && !c.ServesRegion(region) {
		return nil, fieldErr(ErrInvalidData, "awsRegion", "awsRegion %q is not a region this server serves", region)
	}
	e.Region = region

	account := get("recipientAccountId")
	if c.Identify != nil {
		if id, acct, ok := completeIdentity(fields["userIdentity"], c.Identify); ok {
			fields["userIdentity"] = id
			account = acct
			set("recipientAccountId", acct)
		}
	}
	switch {
	case account == "":
		account = c.Account
		set("recipientAccountId", account)
	case account == c.Account:
	case c.MayWriteFor != nil && c.MayWriteFor(account):
	default:
		return nil, fieldErr(ErrInvalidRecipient, "recipientAccountId", "recipientAccountId %q is not an account this caller may write events for", account)
	}
	e.Account = account

	if get("eventVersion") == "" {
		set("eventVersion", Version)
	}
	if _, ok := fields["managementEvent"]; !ok && category != CategoryInsight {
		fields["managementEvent"] = json.RawMessage(strconv.FormatBool(category == CategoryManagement))
	}

	id := get("eventID")
	if id == "" {
		id = contentID(account, encode(fields))
		set("eventID", id)
	}
	e.ID = id

	keys, ferr := lookupKeys(fields, name, source)
	if ferr != nil {
		return nil, ferr
	}
	e.Keys = keys
	e.Record = encode(fields)
	if len(e.Record) > MaxRecordBytes {
		return nil, fieldErr(ErrFieldTooLong, "", "completed record is %d bytes; the limit is %d bytes (256 KB)", len(e.Record), MaxRecordBytes)
	}
	return e, nil
}

// completeIdentity resolves an "Unknown" identity by its access key.
func completeIdentity(raw json.RawMessage, identify func(string) (json.RawMessage, string, bool)) (json.RawMessage, string, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, "", false
	}
	var id struct {
		Type        string `json:"type"`
		AccessKeyID string `json:"accessKeyId"`
	}
	if json.Unmarshal(raw, &id) != nil || id.Type != "Unknown" || id.AccessKeyID == "" {
		return nil, "", false
	}
	return identify(id.AccessKeyID)
}

func checkKind(name string, k kind, v json.RawMessage) *FieldError {
	if len(v) == 0 {
		return fieldErr(ErrInvalidData, name, "%s is empty", name)
	}
	c := v[0]
	if c == 'n' { // null is allowed for every optional field
		return nil
	}
	ok := false
	want := ""
	switch k {
	case kString:
		ok, want = c == '"', "a string"
	case kObject:
		ok, want = c == '{', "an object"
	case kBool:
		ok, want = c == 't' || c == 'f', "true or false"
	case kArray:
		ok, want = c == '[', "an array"
	}
	if !ok {
		return fieldErr(ErrInvalidData, name, "%s must be %s", name, want)
	}
	return nil
}

// contentID derives a stable UUID-shaped eventID from the record's content, so
// that a record resent without an eventID is recognized as the same event.
func contentID(account string, record []byte) string {
	h := sha256.New()
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write(record)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50 // version 5 (name-based, SHA)
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// encode writes the fields in CloudTrail's order.
func encode(fields map[string]json.RawMessage) []byte {
	// Known fields go in CloudTrail's order, the rest after them by name;
	// each name's rank is looked up once.
	type named struct {
		rank int
		name string
	}
	names := make([]named, 0, len(fields))
	size := 2
	for n, v := range fields {
		r, ok := orderIndex[n]
		if !ok {
			r = len(fieldOrder)
		}
		names = append(names, named{r, n})
		size += len(n) + len(v) + 4
	}
	slices.SortFunc(names, func(a, b named) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.name, b.name))
	})
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, n := range names {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendKey(out, n.name)
		out = append(out, ':')
		out = append(out, fields[n.name]...)
	}
	return append(out, '}')
}

// appendKey writes a member name as a JSON string: as it is when it needs
// no escaping (every CloudTrail field name), else through encoding/json.
func appendKey(out []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(k)
			return append(out, b...)
		}
	}
	out = append(out, '"')
	out = append(out, k...)
	return append(out, '"')
}

// identity is the part of userIdentity that event history looks at.
type identity struct {
	Type           string `json:"type"`
	UserName       string `json:"userName"`
	AccessKeyID    string `json:"accessKeyId"`
	ARN            string `json:"arn"`
	SessionContext *struct {
		SessionIssuer *struct {
			UserName string `json:"userName"`
		} `json:"sessionIssuer"`
	} `json:"sessionContext"`
}

// Resource is one entry of a record's resources list.
type Resource struct {
	ARN       string `json:"ARN,omitempty"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
}

// username is what LookupEvents calls Username: the IAM user's name, or the
// role a session was issued for, or "root".
func (id *identity) username() string {
	if id.UserName != "" {
		return id.UserName
	}
	if id.SessionContext != nil && id.SessionContext.SessionIssuer != nil && id.SessionContext.SessionIssuer.UserName != "" {
		return id.SessionContext.SessionIssuer.UserName
	}
	if id.Type == "Root" {
		return "root"
	}
	return ""
}

// ShortName is what users type for a resource: the part of an ARN after its
// last '/' or ':'.
func ShortName(arn string) string {
	if i := strings.LastIndexAny(arn, "/:"); i >= 0 && i < len(arn)-1 {
		return arn[i+1:]
	}
	return arn
}

func lookupKeys(fields map[string]json.RawMessage, name, source string) ([]LookupKey, *FieldError) {
	keys := make([]LookupKey, 0, 8)
	add := func(a Attribute, v string) {
		if v == "" {
			return
		}
		for _, k := range keys {
			if k.Attr == a && k.Value == v {
				return
			}
		}
		keys = append(keys, LookupKey{a, v})
	}
	add(AttrEventName, name)
	add(AttrEventSource, source)
	if v, ok := fields["readOnly"]; ok && string(v) != "null" {
		add(AttrReadOnly, string(v))
	}
	if v, ok := fields["userIdentity"]; ok && string(v) != "null" {
		var id identity
		if err := json.Unmarshal(v, &id); err != nil {
			return nil, fieldErr(ErrInvalidData, "userIdentity", "userIdentity: %v", err)
		}
		add(AttrUsername, id.username())
		add(AttrAccessKeyID, id.AccessKeyID)
	}
	if v, ok := fields["resources"]; ok && string(v) != "null" {
		var rs []Resource
		if err := json.Unmarshal(v, &rs); err != nil {
			return nil, fieldErr(ErrInvalidData, "resources", "resources must be a list of {ARN, accountId, type}: %v", err)
		}
		for _, r := range rs {
			add(AttrResourceType, r.Type)
			add(AttrResourceName, r.ARN)
			add(AttrResourceName, ShortName(r.ARN))
		}
	}
	return keys, nil
}
