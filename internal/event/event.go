// Package event provides Cairn's model of a CloudTrail record: decoding and
// validating records as producers send them, completing them (event IDs,
// account, category defaults), writing them back in CloudTrail's field order,
// deriving the lookup attributes that event history is searched by, and
// reading stored records back for event history (ReadView) by the same
// rules. It owns the record's JSON: the one scanner and the string helpers
// (Unquote, AppendString) the rest of Cairn reads and writes JSON text with.
//
// The files follow the concerns: fields.go (the field table), scan.go and
// record_scan.go (scanning), rules.go (the record rules), encode.go and
// jsonstring.go (writing), words.go (the word-at-a-time byte search they
// share), view.go and summary.go (reading stored records).
package event

import (
	"time"
)

// Version is the eventVersion Cairn writes into records it creates and into
// records that arrive without one.
const Version = "1.11"

// MaxRecordBytes is CloudTrail's largest event (256 KB); a larger record is
// refused with FieldTooLong.
const MaxRecordBytes = 256 * 1024

// TimeFormat is how CloudTrail writes eventTime: UTC, second precision.
const TimeFormat = "2006-01-02T15:04:05Z"

// Categories of events (the eventCategory field).
const (
	CategoryManagement      = "Management"
	CategoryData            = "Data"
	CategoryInsight         = "Insight"
	CategoryNetworkActivity = "NetworkActivity"
)

// Attribute names a LookupEvents lookup attribute.
type Attribute string

// The eight lookup attributes of LookupEvents, spelled as the API spells them.
const (
	AttrEventID      Attribute = "EventId"
	AttrEventName    Attribute = "EventName"
	AttrReadOnly     Attribute = "ReadOnly"
	AttrUsername     Attribute = "Username"
	AttrResourceType Attribute = "ResourceType"
	AttrResourceName Attribute = "ResourceName"
	AttrEventSource  Attribute = "EventSource"
	AttrAccessKeyID  Attribute = "AccessKeyId"
)

// Attributes lists the lookup attributes in the model's order.
var Attributes = []Attribute{AttrEventID, AttrEventName, AttrReadOnly, AttrUsername,
	AttrResourceType, AttrResourceName, AttrEventSource, AttrAccessKeyID}

// ValidAttribute reports whether a is one of the eight lookup attributes.
func ValidAttribute(a Attribute) bool {
	for _, x := range Attributes {
		if x == a {
			return true
		}
	}
	return false
}

// LookupKey is one attribute value an event can be found by.
type LookupKey struct {
	Attr  Attribute
	Value string
}

// Event is a validated, completed record ready for the store, with the
// values the store indexes it by.
type Event struct {
	// Seq is the position in the event log, assigned by the store.
	Seq int64
	// Account owns the event (its recipientAccountId).
	Account string
	// Region is the awsRegion the event belongs to.
	Region string
	// ID is the eventID.
	ID string
	// Time is the eventTime.
	Time time.Time
	// Category is the eventCategory.
	Category string
	// Keys are the lookup attribute values (EventId is not among them: the
	// store finds events by ID directly).
	Keys []LookupKey
	// Record is the complete record as CloudTrail JSON.
	Record []byte
}

// InEventHistory reports whether LookupEvents shows the event: management
// and insight events are kept in event history, data events are not.
func (e *Event) InEventHistory() bool {
	return e.Category == CategoryManagement || e.Category == CategoryInsight
}
