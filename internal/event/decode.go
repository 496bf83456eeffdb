package event

import (
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

// Resource is one entry of a record's resources list.
type Resource struct {
	ARN       string `json:"ARN,omitempty"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
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
