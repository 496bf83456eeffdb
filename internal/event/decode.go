package event

import (
	"encoding/json"
	"fmt"
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
	d := getDecoder()
	defer putDecoder(d)
	return d.decode(raw, c)
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
	// Bytes, not runes: in UTF-8 no byte of a multi-byte rune is '/' or ':'.
	i := len(arn) - 1
	for i >= 0 && arn[i] != '/' && arn[i] != ':' {
		i--
	}
	if i >= 0 && i < len(arn)-1 {
		return arn[i+1:]
	}
	return arn
}
