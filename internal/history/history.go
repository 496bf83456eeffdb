// Package history answers CloudTrail's LookupEvents: the event history of
// one account and region, with CloudTrail's parameter rules, errors, paging
// tokens and response shape.
package history

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// Service answers LookupEvents from the store.
type Service struct {
	store store.Querier
	days  int
	now   func() time.Time
}

// New makes the service; days is how far back event history reaches.
func New(st store.Querier, days int) *Service {
	return &Service{store: st, days: days, now: time.Now}
}

// LookupAttribute is one lookup attribute of the request.
type LookupAttribute struct {
	AttributeKey   *string
	AttributeValue *string
}

// Input is LookupEventsRequest. Members left out are nil, and are left out
// when the request is encoded (for the audit record of a typed call).
type Input struct {
	LookupAttributes []LookupAttribute `json:",omitempty"`
	StartTime        *awsproto.Time    `json:",omitempty"`
	EndTime          *awsproto.Time    `json:",omitempty"`
	EventCategory    *string           `json:",omitempty"`
	MaxResults       *int              `json:",omitempty"`
	NextToken        *string           `json:",omitempty"`
}

// Resource is one entry of an Event's Resources.
type Resource struct {
	ResourceType *string `json:",omitempty"`
	ResourceName *string `json:",omitempty"`
}

// Event is the Event shape of the response.
type Event struct {
	EventId         string
	EventName       string
	ReadOnly        string `json:",omitempty"`
	AccessKeyId     string `json:",omitempty"`
	EventTime       awsproto.Time
	EventSource     string
	Username        string `json:",omitempty"`
	Resources       []Resource
	CloudTrailEvent string
}

// Output is LookupEventsResponse.
type Output struct {
	Events    []Event
	NextToken *string `json:",omitempty"`
}

// maxValueLen is the model's limit on AttributeValue; '_', ' ', ',' and '\n'
// count twice.
const maxValueLen = 2000

// Lookup answers one LookupEvents call of account in region.
func (s *Service) Lookup(ctx context.Context, account, region string, in Input) (Output, error) {
	return s.lookup(ctx, account, region, in, false)
}

// lookup answers a LookupEvents call, leaving out the read-only events
// when hide is set (see hides).
func (s *Service) lookup(ctx context.Context, account, region string, in Input, hide bool) (Output, error) {
	q, fp, err := s.query(account, region, in, hide)
	if err != nil {
		return Output{}, err
	}
	if q.Limit == 0 {
		return Output{Events: []Event{}}, nil
	}
	events, next, err := s.fetch(ctx, q)
	if err != nil {
		return Output{}, err
	}
	out := Output{Events: events}
	if next != nil {
		t := EncodeToken(*next, fp)
		out.NextToken = &t
	}
	return out, nil
}

// query is the store query of a LookupEvents call (hide: see hides) and
// the fingerprint of its tokens. A window that ends before event history
// begins has a zero Limit: it finds nothing.
func (s *Service) query(account, region string, in Input, hide bool) (store.Query, [8]byte, error) {
	q, err := filter(account, region, in.EventCategory, in.LookupAttributes)
	if err != nil {
		return q, [8]byte{}, err
	}
	q.HideReadOnly = hides(q, hide)
	q.Limit = 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return q, [8]byte{}, awsproto.Errorf(awsproto.InvalidMaxResultsException, "MaxResults must be between 1 and 50; got %d.", *in.MaxResults)
		}
		q.Limit = *in.MaxResults
	}
	var earliest time.Time
	q.Start, q.End, earliest, err = s.timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return q, [8]byte{}, err
	}
	fp := fingerprint(account, region, in, q.HideReadOnly)
	if in.NextToken != nil {
		c, err := DecodeToken(*in.NextToken, fp)
		if err != nil {
			return q, fp, awsproto.Errorf(awsproto.InvalidNextTokenException, "A token that is not valid, or a token that was previously used in a request with different parameters.")
		}
		q.After = &c
	}
	if q.Start.Before(earliest) {
		q.Start = earliest
	}
	// Event times are whole seconds: an inclusive start inside a second
	// begins at the next one.
	if q.Start.Nanosecond() != 0 {
		q.Start = q.Start.Truncate(time.Second).Add(time.Second)
	}
	if q.End.Before(q.Start) {
		q.Limit = 0
	}
	return q, fp, nil
}

// fetch reads one page of q from the store: its events, and where the
// next page starts when there is one.
func (s *Service) fetch(ctx context.Context, q store.Query) ([]Event, *store.Cursor, error) {
	page, err := s.store.Lookup(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	events := make([]Event, 0, len(page.Events))
	for _, e := range page.Events {
		v := event.ReadView(e.Record)
		if q.Attr != "" && !matches(e, &v, q.Attr, q.Value) {
			continue // an index hash collision
		}
		events = append(events, toEvent(e, &v.Summary))
	}
	return events, page.Next, nil
}

// filter is the store query of a LookupEvents filter of account in region:
// its event category and lookup attribute, checked by CloudTrail's rules.
func filter(account, region string, category *string, attrs []LookupAttribute) (store.Query, error) {
	q := store.Query{Account: account, Region: region, Category: event.CategoryManagement}
	if category != nil {
		if *category != "insight" {
			return store.Query{}, awsproto.Errorf(awsproto.InvalidEventCategoryException, "EventCategory %q is not valid; the only valid value is insight.", *category)
		}
		q.Category = event.CategoryInsight
	}
	if len(attrs) > 1 {
		return store.Query{}, awsproto.Errorf(awsproto.InvalidLookupAttributesException, "You can specify only one lookup attribute.")
	}
	if len(attrs) == 1 {
		a := attrs[0]
		if a.AttributeKey == nil || a.AttributeValue == nil {
			return store.Query{}, awsproto.Errorf(awsproto.InvalidLookupAttributesException, "A lookup attribute needs both AttributeKey and AttributeValue.")
		}
		key := event.Attribute(*a.AttributeKey)
		if !event.ValidAttribute(key) {
			return store.Query{}, awsproto.Errorf(awsproto.InvalidLookupAttributesException, "AttributeKey %q is not valid; valid keys are EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource and AccessKeyId.", *a.AttributeKey)
		}
		if q.Category == event.CategoryInsight && key != event.AttrEventID && key != event.AttrEventName && key != event.AttrEventSource {
			return store.Query{}, awsproto.Errorf(awsproto.InvalidLookupAttributesException, "Insights events can be looked up only by EventId, EventName or EventSource.")
		}
		v := *a.AttributeValue
		if n := valueLen(v); n < 1 || n > maxValueLen {
			return store.Query{}, awsproto.Errorf(awsproto.InvalidLookupAttributesException, "AttributeValue must be 1 to %d characters long ('_', ' ', ',' and newlines count as two).", maxValueLen)
		}
		q.Attr, q.Value = key, v
	}
	return q, nil
}

// timeRange is the range asked for (by default the whole event history)
// and where event history begins.
func (s *Service) timeRange(startTime, endTime *awsproto.Time) (start, end, earliest time.Time, err error) {
	now := s.now().UTC()
	earliest = now.Add(-time.Duration(s.days) * 24 * time.Hour)
	start, end = earliest, now
	if startTime != nil {
		start = startTime.Time
	}
	if endTime != nil {
		end = endTime.Time
	}
	if start.After(end) {
		return start, end, earliest, awsproto.Errorf(awsproto.InvalidTimeRangeException, "StartTime must be before or equal to EndTime.")
	}
	return start, end, earliest, nil
}

func valueLen(v string) int {
	n := utf8.RuneCountInString(v)
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '_', ' ', ',', '\n':
			n++
		}
	}
	return n
}

// matches reports whether the event has the lookup attribute value: the
// store's index holds hashes, which can collide.
func matches(e *event.Event, v *event.View, attr event.Attribute, value string) bool {
	if attr == event.AttrEventID {
		return e.ID == value
	}
	keys, ok := v.Keys()
	if !ok {
		// Re-derive the event's keys from its record.
		got, ferr := event.Decode(e.Record, event.Context{Account: e.Account})
		if ferr != nil {
			return false
		}
		keys = got.Keys
	}
	return hasKey(keys, attr, value)
}

func hasKey(keys []event.LookupKey, attr event.Attribute, value string) bool {
	for _, k := range keys {
		if k.Attr == attr && k.Value == value {
			return true
		}
	}
	return false
}

// toEvent builds the response entry. A record that cannot be summarized
// still shows its ID, time and full record.
func toEvent(e *event.Event, sum *event.Summary) Event {
	ev := Event{
		EventId:         e.ID,
		EventName:       sum.EventName,
		ReadOnly:        sum.ReadOnly,
		AccessKeyId:     sum.AccessKeyID,
		EventTime:       awsproto.Time{Time: e.Time},
		EventSource:     sum.EventSource,
		Username:        sum.Username,
		Resources:       []Resource{},
		CloudTrailEvent: string(e.Record),
	}
	for _, r := range sum.Resources {
		r := r
		res := Resource{}
		if r.Type != "" {
			res.ResourceType = &r.Type
		}
		if r.ARN != "" {
			res.ResourceName = &r.ARN
		}
		ev.Resources = append(ev.Resources, res)
	}
	return ev
}

// fingerprint identifies the parameters a NextToken is valid for.
func fingerprint(account, region string, in Input, hide bool) [8]byte {
	var b []byte
	b = fmt.Appendf(b, "%s\x00%s\x00", account, region)
	if hide {
		b = append(b, "h\x00"...) // a listing without read-only events
	}
	for _, a := range in.LookupAttributes {
		if a.AttributeKey != nil && a.AttributeValue != nil {
			b = fmt.Appendf(b, "%s=%s\x00", *a.AttributeKey, *a.AttributeValue)
		}
	}
	if in.StartTime != nil {
		b = fmt.Appendf(b, "s%d\x00", in.StartTime.UnixMilli())
	}
	if in.EndTime != nil {
		b = fmt.Appendf(b, "e%d\x00", in.EndTime.UnixMilli())
	}
	if in.EventCategory != nil {
		b = fmt.Appendf(b, "c%s\x00", *in.EventCategory)
	}
	sum := sha256.Sum256(b)
	var fp [8]byte
	copy(fp[:], sum[:])
	return fp
}

// tokenVersion prefixes every NextToken Cairn issues.
const tokenVersion = 1

// EncodeToken makes the opaque NextToken for a cursor.
func EncodeToken(c store.Cursor, fp [8]byte) string {
	b := []byte{tokenVersion}
	b = binary.AppendVarint(b, c.Time)
	b = binary.AppendVarint(b, c.Seq)
	b = append(b, fp[:]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeToken reads a NextToken, refusing one made for other parameters.
func DecodeToken(tok string, fp [8]byte) (store.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1+8 || b[0] != tokenVersion {
		return store.Cursor{}, fmt.Errorf("history: malformed token")
	}
	b = b[1:]
	t, n := binary.Varint(b)
	if n <= 0 {
		return store.Cursor{}, fmt.Errorf("history: malformed token")
	}
	b = b[n:]
	seq, m := binary.Varint(b)
	if m <= 0 || len(b[m:]) != 8 {
		return store.Cursor{}, fmt.Errorf("history: malformed token")
	}
	if !bytes.Equal(b[m:], fp[:]) {
		return store.Cursor{}, fmt.Errorf("history: token was issued for other parameters")
	}
	return store.Cursor{Time: t, Seq: seq}, nil
}

// AppendJSON appends the response as json.Marshal writes it (see
// awsproto.Appender): a page holds up to 50 full records, and encoding it by
// reflection was a good part of a lookup's time.
func (o Output) AppendJSON(b []byte) []byte {
	// Size the buffer once: the records are most of the page, and few of
	// their bytes need escaping ('"' does, at about one byte in twelve).
	n := 64
	for i := range o.Events {
		n += 400 + len(o.Events[i].CloudTrailEvent) + len(o.Events[i].CloudTrailEvent)/8
	}
	b = slices.Grow(b, n)
	b = append(b, `{"Events":`...)
	if o.Events == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range o.Events {
			if i > 0 {
				b = append(b, ',')
			}
			b = o.Events[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	if o.NextToken != nil {
		b = append(b, `,"NextToken":`...)
		b = event.AppendString(b, *o.NextToken)
	}
	return append(b, '}')
}

func (e *Event) appendJSON(b []byte) []byte {
	b = append(b, `{"EventId":`...)
	b = event.AppendString(b, e.EventId)
	b = append(b, `,"EventName":`...)
	b = event.AppendString(b, e.EventName)
	if e.ReadOnly != "" {
		b = append(b, `,"ReadOnly":`...)
		b = event.AppendString(b, e.ReadOnly)
	}
	if e.AccessKeyId != "" {
		b = append(b, `,"AccessKeyId":`...)
		b = event.AppendString(b, e.AccessKeyId)
	}
	b = append(b, `,"EventTime":`...)
	b = e.EventTime.AppendJSON(b)
	b = append(b, `,"EventSource":`...)
	b = event.AppendString(b, e.EventSource)
	if e.Username != "" {
		b = append(b, `,"Username":`...)
		b = event.AppendString(b, e.Username)
	}
	b = append(b, `,"Resources":`...)
	if e.Resources == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range e.Resources {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if r.ResourceType != nil {
				b = append(b, `"ResourceType":`...)
				b = event.AppendString(b, *r.ResourceType)
			}
			if r.ResourceName != nil {
				if r.ResourceType != nil {
					b = append(b, ',')
				}
				b = append(b, `"ResourceName":`...)
				b = event.AppendString(b, *r.ResourceName)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"CloudTrailEvent":`...)
	b = event.AppendString(b, e.CloudTrailEvent)
	return append(b, '}')
}
