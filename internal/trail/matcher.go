package trail

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
)

// Fields are the parts of a record that event selectors look at.
type Fields struct {
	EventCategory   string
	EventSource     string
	EventName       string
	EventType       string
	UserIdentityARN string
	ErrorCode       string
	VPCEndpointID   string
	// ReadOnly is the record's readOnly; nil when the record has none.
	ReadOnly *bool
	// SessionCredentialFromConsole is the record's string ("true"), empty
	// when absent (CloudTrail writes the field only when it is true).
	SessionCredentialFromConsole string
	// ManagementEvent is the record's managementEvent; nil when absent.
	ManagementEvent *bool
	Resources       []event.Resource
}

// ParseFields reads the Fields of a record (the JSON of event.Event.Record).
// Keys are matched exactly, unlike encoding/json's struct decoding, so that a
// producer's "EventSource" or "Resources" cannot stand in for the record's
// eventSource or resources. An Insights record's eventName and eventSource
// are read from insightDetails when the top level has none. A field of the
// wrong JSON type is an error; null counts as absent.
//
// Delivery reads every record of the log this way, for every trail, so
// the record is read in one pass of event's scanner (event.WalkObject),
// which takes exactly the JSON encoding/json takes; a member named more
// than once counts with its last value, as in a map encoding/json fills.
func ParseFields(record []byte) (Fields, error) {
	var f Fields
	var top [rfCount][]byte
	if err := event.WalkObject(record, func(name, v []byte) {
		if k := topField(name); k >= 0 {
			top[k] = v
		}
	}); err != nil {
		return f, fmt.Errorf("trail: record is not a JSON object: %w", err)
	}
	for k, dst := range [...]*string{rfEventCategory: &f.EventCategory, rfEventSource: &f.EventSource,
		rfEventName: &f.EventName, rfEventType: &f.EventType, rfErrorCode: &f.ErrorCode, rfVPCEndpointID: &f.VPCEndpointID} {
		if err := recString(top[k], topFieldNames[k], dst); err != nil {
			return f, err
		}
	}
	var err error
	if f.ReadOnly, err = recBool(top[rfReadOnly], "readOnly"); err != nil {
		return f, err
	}
	if f.ManagementEvent, err = recBool(top[rfManagementEvent], "managementEvent"); err != nil {
		return f, err
	}
	if v := top[rfSessionCredentialFromConsole]; !recNull(v) {
		// A string as CloudTrail writes it; a JSON boolean is taken too.
		if b, err := recBool(v, "sessionCredentialFromConsole"); err == nil && b != nil {
			f.SessionCredentialFromConsole = fmt.Sprint(*b)
		} else if err := recString(v, "sessionCredentialFromConsole", &f.SessionCredentialFromConsole); err != nil {
			return f, err
		}
	}
	if id := top[rfUserIdentity]; !recNull(id) {
		var m [1][]byte
		if recObject(id, arnName[:], m[:]) != nil {
			return f, fmt.Errorf("trail: record field userIdentity is not an object")
		}
		if err := recString(m[0], "arn", &f.UserIdentityARN); err != nil {
			return f, fmt.Errorf("trail: record field userIdentity.arn is not a string")
		}
	}
	if rs := top[rfResources]; !recNull(rs) {
		if f.Resources, err = recResources(rs); err != nil {
			return f, err
		}
	}
	if d := top[rfInsightDetails]; !recNull(d) && (f.EventName == "" || f.EventSource == "") {
		var m [2][]byte
		if recObject(d, insightNames[:], m[:]) != nil {
			return f, fmt.Errorf("trail: record field insightDetails is not an object")
		}
		if f.EventName == "" {
			if err := recString(m[0], "eventName", &f.EventName); err != nil {
				return f, fmt.Errorf("trail: record field insightDetails.eventName is not a string")
			}
		}
		if f.EventSource == "" {
			if err := recString(m[1], "eventSource", &f.EventSource); err != nil {
				return f, fmt.Errorf("trail: record field insightDetails.eventSource is not a string")
			}
		}
	}
	return f, nil
}

// The top-level record fields ParseFields reads, by index.
const (
	rfEventCategory = iota
	rfEventSource
	rfEventName
	rfEventType
	rfErrorCode
	rfVPCEndpointID
	rfReadOnly
	rfManagementEvent
	rfSessionCredentialFromConsole
	rfUserIdentity
	rfResources
	rfInsightDetails
	rfCount
)

var topFieldNames = [rfCount]string{
	rfEventCategory: "eventCategory", rfEventSource: "eventSource", rfEventName: "eventName",
	rfEventType: "eventType", rfErrorCode: "errorCode", rfVPCEndpointID: "vpcEndpointId",
	rfReadOnly: "readOnly", rfManagementEvent: "managementEvent",
	rfSessionCredentialFromConsole: "sessionCredentialFromConsole", rfUserIdentity: "userIdentity",
	rfResources: "resources", rfInsightDetails: "insightDetails",
}

// The members ParseFields reads of userIdentity, of a resource and of
// insightDetails.
var (
	arnName       = [...]string{"arn"}
	resourceNames = [...]string{"ARN", "accountId", "type"}
	insightNames  = [...]string{"eventName", "eventSource"}
)

// topField is the index of the top-level field the quoted member name
// names, or -1.
func topField(quoted []byte) int {
	name, ok := memberName(quoted)
	if !ok {
		return -1
	}
	switch string(name) {
	case "eventCategory":
		return rfEventCategory
	case "eventSource":
		return rfEventSource
	case "eventName":
		return rfEventName
	case "eventType":
		return rfEventType
	case "errorCode":
		return rfErrorCode
	case "vpcEndpointId":
		return rfVPCEndpointID
	case "readOnly":
		return rfReadOnly
	case "managementEvent":
		return rfManagementEvent
	case "sessionCredentialFromConsole":
		return rfSessionCredentialFromConsole
	case "userIdentity":
		return rfUserIdentity
	case "resources":
		return rfResources
	case "insightDetails":
		return rfInsightDetails
	}
	return -1
}

// memberName is the text of a quoted member name, unescaped as
// encoding/json unescapes a map key (so "\u0065ventName" is eventName);
// ok is false for a name it cannot read, which then names no field.
func memberName(quoted []byte) ([]byte, bool) {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	s, err := event.Unquote(quoted)
	return []byte(s), err == nil
}

// recObject reads the JSON object obj (a value of a record ParseFields
// walked) into out: out[i] is the raw value of the member names[i], nil
// when absent. It fails if obj is not an object.
func recObject(obj []byte, names []string, out [][]byte) error {
	if obj[0] != '{' {
		return fmt.Errorf("not an object")
	}
	return event.WalkObject(obj, func(quoted, v []byte) {
		name, ok := memberName(quoted)
		if !ok {
			return
		}
		for i, n := range names {
			if string(name) == n {
				out[i] = v
			}
		}
	})
}

// recResources reads the record's resources rs (a raw value, not null): a
// list whose items are objects or null (a null item is a resource with no
// fields, as encoding/json decodes it).
func recResources(rs []byte) ([]event.Resource, error) {
	if rs[0] != '[' {
		return nil, fmt.Errorf("trail: record field resources is not a list")
	}
	out := make([]event.Resource, 0, 2)
	var err error
	ok := event.EachElement(rs, func(i int, item []byte) {
		if err != nil {
			return
		}
		var r event.Resource
		if !recNull(item) {
			var m [len(resourceNames)][]byte
			if recObject(item, resourceNames[:], m[:]) != nil {
				err = fmt.Errorf("trail: record field resources[%d] is not an object", i)
				return
			}
			for k, dst := range [...]*string{&r.ARN, &r.AccountID, &r.Type} {
				if recString(m[k], resourceNames[k], dst) != nil {
					err = fmt.Errorf("trail: record field resources[%d].%s is not a string", i, resourceNames[k])
					return
				}
			}
		}
		out = append(out, r)
	})
	if err == nil && !ok {
		err = fmt.Errorf("trail: record field resources is not a list")
	}
	return out, err
}

// recNull reports whether a raw value is absent (nil) or null.
func recNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

// recString sets *dst to the string v (a raw value), if present and not
// null; name names the field in the error.
func recString(v []byte, name string, dst *string) error {
	if recNull(v) {
		return nil
	}
	if v[0] != '"' {
		return fmt.Errorf("trail: record field %s is not a string", name)
	}
	if inner := v[1 : len(v)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		*dst = string(inner)
		return nil
	}
	// Escapes, or invalid UTF-8 that encoding/json turns into U+FFFD.
	if json.Unmarshal(v, dst) != nil {
		return fmt.Errorf("trail: record field %s is not a string", name)
	}
	return nil
}

// recBool reads the boolean v (a raw value): a JSON boolean, or the string
// "true" or "false". Absent and null give nil; name names the field in the
// error.
func recBool(v []byte, name string) (*bool, error) {
	if recNull(v) {
		return nil, nil
	}
	switch string(v) {
	case "true", `"true"`:
		return selPtr(true), nil
	case "false", `"false"`:
		return selPtr(false), nil
	}
	return nil, fmt.Errorf("trail: record field %s is not true or false", name)
}

// Matcher decides whether a trail takes an event. It is built once per
// selector configuration by Compile, is immutable, and is safe for
// concurrent use.
//
// Semantics:
//   - An event is taken if it matches any selector.
//   - An event whose readOnly is absent counts as not read-only (a write), for
//     basic selectors' ReadWriteType and for the advanced readOnly field
//     (whose value is then "false"), as CloudTrail counts such events.
//   - An absent sessionCredentialFromConsole has the value "false"; other
//     absent string fields have the value "" (so Equals and StartsWith fail
//     and NotEquals and NotStartsWith hold).
//   - An event without eventCategory is an Insight event if its eventType is
//     AwsCloudTrailInsight, a Data event if managementEvent is false (records
//     older than eventVersion 1.07), and a Management event otherwise.
//   - Basic selectors take Management events (IncludeManagementEvents,
//     ReadWriteType, ExcludeManagementEventSources) and Data events through
//     DataResources (a resource of the event has the data resource's Type and
//     an ARN one of its values covers; ReadWriteType applies too). They never
//     take Insight or NetworkActivity events.
//   - In an advanced selector all conditions must hold. A field selector with
//     several operators is one condition per operator. Equals, StartsWith,
//     EndsWith hold if any value matches; NotEquals, NotStartsWith,
//     NotEndsWith hold if no value matches. Matching is case-sensitive.
//   - The resources.type and resources.ARN conditions of a selector must all
//     hold for one and the same resource of the event; an event without
//     resources fails them. (Evaluating each condition on any resource would
//     let {resources.type = AWS::S3::Object, resources.ARN NotStartsWith
//     arn:aws:s3:::logs/} take an object event in the logs bucket, because
//     the event's AWS::S3::Bucket resource "arn:aws:s3:::logs" does not start
//     with "arn:aws:s3:::logs/".)
//
// Insights events are not selected by event selectors; their delivery is
// governed by the trail's insight selectors.
type Matcher struct {
	basic    []basicMatcher
	advanced []advancedMatcher
}

type basicMatcher struct {
	management    bool
	reads, writes bool
	exclude       []string
	data          []dataMatcher
}

// dataMatcher is the values of one resource type in a basic selector.
type dataMatcher struct {
	typ      string
	prefixes []string            // "all" values and S3 prefixes: the ARN starts with one
	exact    map[string]struct{} // Lambda functions and DynamoDB tables
}

type advancedMatcher struct {
	conds []selCondition // on the event's scalar fields, eventCategory first
	res   []selCondition // on one resource: resources.type and resources.ARN
}

// selCondition is one operator of one field selector.
type selCondition struct {
	field  selField
	op     selOp
	values []string
	set    map[string]struct{} // values, for Equals and NotEquals with many values
}

// selSetThreshold is how many values make Equals/NotEquals use a map.
const selSetThreshold = 8

// Compile builds the matcher of a trail's selectors. At most one of basic
// and advanced may be non-empty; when both are empty the trail has
// DefaultSelectors. Compile rejects only what it cannot give a meaning to
// (unknown fields, resource types, ReadWriteType values, data resource values
// it cannot read); the limits and the rules of ValidateSelectors are not
// checked again, and every configuration ValidateSelectors accepts compiles.
func Compile(basic []EventSelector, advanced []AdvancedEventSelector) (*Matcher, error) {
	switch {
	case len(basic) > 0 && len(advanced) > 0:
		return nil, awsproto.Errorf(awsproto.InvalidParameterCombinationException,
			"You can use either EventSelectors or AdvancedEventSelectors, but not both.")
	case len(advanced) > 0:
		m := &Matcher{advanced: make([]advancedMatcher, 0, len(advanced))}
		for i := range advanced {
			am, err := compileAdvanced(i+1, &advanced[i])
			if err != nil {
				return nil, err
			}
			m.advanced = append(m.advanced, am)
		}
		return m, nil
	}
	if len(basic) == 0 {
		basic = DefaultSelectors()
	}
	m := &Matcher{basic: make([]basicMatcher, 0, len(basic))}
	for i := range basic {
		bm, err := compileBasic(i+1, &basic[i])
		if err != nil {
			return nil, err
		}
		m.basic = append(m.basic, bm)
	}
	return m, nil
}

func compileBasic(n int, s *EventSelector) (basicMatcher, error) {
	bm := basicMatcher{management: true, reads: true, writes: true}
	if s.IncludeManagementEvents != nil {
		bm.management = *s.IncludeManagementEvents
	}
	if s.ReadWriteType != nil {
		switch *s.ReadWriteType {
		case ReadWriteAll:
		case ReadWriteReadOnly:
			bm.writes = false
		case ReadWriteWriteOnly:
			bm.reads = false
		default:
			return bm, selectorsErr("Event selector %d: ReadWriteType %q is not valid; use ReadOnly, WriteOnly or All.", n, *s.ReadWriteType)
		}
	}
	bm.exclude = slices.Clone(s.ExcludeManagementEventSources)
	for j, dr := range s.DataResources {
		if dr.Type == nil {
			return bm, selectorsErr("Event selector %d, data resource %d: Type is required.", n, j+1)
		}
		k := slices.IndexFunc(bm.data, func(d dataMatcher) bool { return d.typ == *dr.Type })
		if k < 0 {
			bm.data = append(bm.data, dataMatcher{typ: *dr.Type})
			k = len(bm.data) - 1
		}
		d := &bm.data[k]
		for _, v := range dr.Values {
			kind, key, _, reason := parseDataValue(*dr.Type, v)
			if reason != "" {
				return bm, selectorsErr("Event selector %d, data resource %d: Value %s for DataResources.Values is invalid: %s", n, j+1, v, reason)
			}
			if kind == valueExact {
				if d.exact == nil {
					d.exact = make(map[string]struct{})
				}
				d.exact[key] = struct{}{}
			} else if !slices.Contains(d.prefixes, key) {
				d.prefixes = append(d.prefixes, key)
			}
		}
	}
	return bm, nil
}

func compileAdvanced(n int, s *AdvancedEventSelector) (advancedMatcher, error) {
	var am advancedMatcher
	if len(s.FieldSelectors) == 0 {
		return am, selectorsErr("Advanced event selector %d: FieldSelectors must contain at least one field selector.", n)
	}
	for j := range s.FieldSelectors {
		fs := &s.FieldSelectors[j]
		if fs.Field == nil {
			return am, selectorsErr("Advanced event selector %d, field selector %d: Field is required.", n, j+1)
		}
		f, ok := selFieldByName[*fs.Field]
		if !ok {
			return am, selectorsErr("Advanced event selector %d: field %q is not supported.", n, *fs.Field)
		}
		for o, vals := range selOperators(fs) {
			if vals == nil {
				continue
			}
			c := selCondition{field: f, op: selOp(o), values: slices.Clone(vals)}
			if (c.op == opEquals || c.op == opNotEquals) && len(vals) > selSetThreshold {
				c.set = make(map[string]struct{}, len(vals))
				for _, v := range vals {
					c.set[v] = struct{}{}
				}
			}
			if f == fResourcesType || f == fResourcesARN {
				am.res = append(am.res, c)
			} else {
				am.conds = append(am.conds, c)
			}
		}
	}
	// eventCategory first: it rules out most events at once.
	slices.SortStableFunc(am.conds, func(a, b selCondition) int { return int(a.field) - int(b.field) })
	return am, nil
}

// Match reports whether the trail takes the event. A nil Matcher takes
// nothing. Match does not allocate.
func (m *Matcher) Match(f *Fields) bool {
	if m == nil || f == nil {
		return false
	}
	cat := selCategoryOf(f)
	if len(m.advanced) > 0 {
		for i := range m.advanced {
			if m.advanced[i].match(f, cat) {
				return true
			}
		}
		return false
	}
	read := f.ReadOnly != nil && *f.ReadOnly
	for i := range m.basic {
		if m.basic[i].match(f, cat, read) {
			return true
		}
	}
	return false
}

// selCategoryOf is the event's category (see Matcher for events without one).
func selCategoryOf(f *Fields) string {
	switch {
	case f.EventCategory != "":
		return f.EventCategory
	case f.EventType == "AwsCloudTrailInsight":
		return event.CategoryInsight
	case f.ManagementEvent != nil && !*f.ManagementEvent:
		return event.CategoryData
	}
	return event.CategoryManagement
}

func (b *basicMatcher) match(f *Fields, cat string, read bool) bool {
	if read && !b.reads || !read && !b.writes {
		return false
	}
	switch cat {
	case event.CategoryManagement:
		return b.management && !selContains(b.exclude, f.EventSource)
	case event.CategoryData:
		for i := range b.data {
			d := &b.data[i]
			for j := range f.Resources {
				if r := &f.Resources[j]; r.Type == d.typ && d.covers(r.ARN) {
					return true
				}
			}
		}
	}
	return false
}

func (d *dataMatcher) covers(arn string) bool {
	if _, ok := d.exact[arn]; ok {
		return true
	}
	for _, p := range d.prefixes {
		if strings.HasPrefix(arn, p) {
			return true
		}
	}
	return false
}

func (a *advancedMatcher) match(f *Fields, cat string) bool {
	for i := range a.conds {
		c := &a.conds[i]
		if !c.holds(selFieldValue(f, cat, c.field)) {
			return false
		}
	}
	if len(a.res) == 0 {
		return true
	}
	for j := range f.Resources {
		r := &f.Resources[j]
		all := true
		for i := range a.res {
			c := &a.res[i]
			v := r.ARN
			if c.field == fResourcesType {
				v = r.Type
			}
			if !c.holds(v) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// selFieldValue is the value of a scalar field as advanced selectors see it.
func selFieldValue(f *Fields, cat string, id selField) string {
	switch id {
	case fEventCategory:
		return cat
	case fEventSource:
		return f.EventSource
	case fEventName:
		return f.EventName
	case fEventType:
		return f.EventType
	case fReadOnly:
		if f.ReadOnly != nil && *f.ReadOnly {
			return "true"
		}
		return "false"
	case fUserIdentityARN:
		return f.UserIdentityARN
	case fSessionCredentialFromConsole:
		if f.SessionCredentialFromConsole == "" {
			return "false"
		}
		return f.SessionCredentialFromConsole
	case fErrorCode:
		return f.ErrorCode
	case fVPCEndpointID:
		return f.VPCEndpointID
	}
	return ""
}

func (c *selCondition) holds(v string) bool {
	switch c.op {
	case opEquals:
		return c.has(v)
	case opNotEquals:
		return !c.has(v)
	case opStartsWith:
		return selAnyPrefix(v, c.values)
	case opNotStartsWith:
		return !selAnyPrefix(v, c.values)
	case opEndsWith:
		return selAnySuffix(v, c.values)
	case opNotEndsWith:
		return !selAnySuffix(v, c.values)
	}
	return false
}

func (c *selCondition) has(v string) bool {
	if c.set != nil {
		_, ok := c.set[v]
		return ok
	}
	return selContains(c.values, v)
}

func selAnyPrefix(v string, list []string) bool {
	for _, p := range list {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

func selAnySuffix(v string, list []string) bool {
	for _, s := range list {
		if strings.HasSuffix(v, s) {
			return true
		}
	}
	return false
}
