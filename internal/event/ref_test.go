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

// Decode validates one record as a producer sent it and completes it: the
// owner account, eventVersion, eventID (derived from the record's content
// when absent, so a resent record keeps its ID), eventType, eventCategory and
// managementEvent defaults. It returns a FieldError naming the field at fault
// for a record that cannot be accepted.
func refDecode(raw []byte, c Context) (*Event, *FieldError) {
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
	for _, name := range fieldOrder {
		v, ok := fields[name]
		if !ok {
			continue
		}
		k, known := fieldKinds[name]
		if !known {
			continue
		}
		if err := checkKind(name, k, v); err != nil {
			return nil, err
		}
		if max, ok := fieldMax[name]; ok && k == kString && len(v) > max+2 {
			s, _ := Unquote(v)
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
		s, _ := Unquote(v)
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
		id = refContentID(account, refEncode(fields))
		set("eventID", id)
	}
	e.ID = id

	keys, ferr := refLookupKeys(fields, name, source)
	if ferr != nil {
		return nil, ferr
	}
	e.Keys = keys
	e.Record = refEncode(fields)
	if len(e.Record) > MaxRecordBytes {
		return nil, fieldErr(ErrFieldTooLong, "", "completed record is %d bytes; the limit is %d bytes (256 KB)", len(e.Record), MaxRecordBytes)
	}
	return e, nil
}

// contentID derives a stable UUID-shaped eventID from the record's content, so
// that a record resent without an eventID is recognized as the same event.
func refContentID(account string, record []byte) string {
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
func refEncode(fields map[string]json.RawMessage) []byte {
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

func refLookupKeys(fields map[string]json.RawMessage, name, source string) ([]LookupKey, *FieldError) {
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
