package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"
)

// The record rules: what Decode requires of a record, the defaults it
// completes it with, the eventID it derives, and the lookup keys it indexes
// it by. decode applies them in order, and the first rule a record breaks is
// its error; ReadView applies those that decide a stored record's keys.

// decode validates and completes raw (see Decode).
func (d *decoder) decode(raw []byte, c Context) (*Event, *FieldError) {
	if ferr := d.read(raw); ferr != nil {
		return nil, ferr
	}
	t := d.texts(raw, false)
	e, keys := newEvent(5 + 3*len(d.res))
	category, name, source, ferr := d.classify(&t)
	if ferr != nil {
		return nil, ferr
	}
	e.Category = category
	if e.Time, ferr = d.eventTime(t.time); ferr != nil {
		return nil, ferr
	}
	if e.Region, e.Account, ferr = d.owner(&t, c); ferr != nil {
		return nil, ferr
	}
	d.completeDefaults(category)
	id, hashed := d.assignID(t.id, e.Account, raw)
	e.ID = id
	ks := keySet{keys: keys}
	if ferr := d.lookupKeys(&ks, name, source, &t); ferr != nil {
		return nil, ferr
	}
	e.Keys = ks.keys
	e.Record = d.record(raw, hashed)
	if len(e.Record) > MaxRecordBytes {
		return nil, fieldErr(ErrFieldTooLong, "", "completed record is %d bytes; the limit is %d bytes (256 KB)", len(e.Record), MaxRecordBytes)
	}
	return e, nil
}

// read scans raw, filing its members, and checks the kinds and lengths of
// its known fields.
func (d *decoder) read(raw []byte) *FieldError {
	err := d.scan(raw)
	if errors.Is(err, errNotObject) {
		return fieldErr(ErrInvalidData, "", "record must be a JSON object")
	}
	if err != nil {
		return fieldErr(ErrInvalidData, "", "record is not valid JSON: %v", err)
	}
	return d.checkFields()
}

// checkFields checks that each known field present has its JSON kind
// (null is allowed for every one) and its string no longer than its limit.
func (d *decoder) checkFields() *FieldError {
	for r := range nFields {
		f := &fieldInfos[r]
		if d.has&(1<<r) == 0 || !f.checked {
			continue
		}
		v := d.vals[r]
		if err := checkKind(f.name, f.kind, v); err != nil {
			return err
		}
		if f.max > 0 && f.kind == kString && len(v) > f.max+2 {
			s, _ := Unquote(v)
			if len(s) > f.max {
				return fieldErr(ErrFieldTooLong, f.name, "%s is %d bytes; the limit is %d", f.name, len(s), f.max)
			}
		}
	}
	return nil
}

// recordTexts are the texts of the fields the rules read (empty for one
// that is absent or not a string), and what the walks of userIdentity and
// resources found: all cut from one string.
type recordTexts struct {
	category, eventType, name, source, time, region, account, id string

	ident   identityKeys // spans in all
	resFast bool         // d.res holds the resources' entries (spans in all); false: ask encoding/json
	all     texts
}

// texts gathers the recordTexts of the record scanned from raw, with the
// accountId of each resource when accounts is set.
func (d *decoder) texts(raw []byte, accounts bool) recordTexts {
	d.text = d.text[:0]
	d.res = d.res[:0]
	catS, typeS := d.fieldText(rEventCategory), d.fieldText(rEventType)
	nameS, sourceS := d.fieldText(rEventName), d.fieldText(rEventSource)
	timeS, regionS := d.fieldText(rEventTime), d.fieldText(rAwsRegion)
	accountS, idS := d.fieldText(rRecipientAccountID), d.fieldText(rEventID)
	var t recordTexts
	if v := d.field(rUserIdentity); len(v) > 0 && v[0] == '{' {
		t.ident = d.scannedIdentity(raw)
	}
	if v := d.field(rResources); len(v) > 0 && v[0] == '[' {
		t.resFast = d.scannedResources(raw, accounts)
	}
	t.all = d.seal(0)
	t.category, t.eventType = t.all.get(catS), t.all.get(typeS)
	t.name, t.source = t.all.get(nameS), t.all.get(sourceS)
	t.time, t.region = t.all.get(timeS), t.all.get(regionS)
	t.account, t.id = t.all.get(accountS), t.all.get(idS)
	return t
}

// newEvent allocates an Event with room for n lookup keys, in one
// allocation when they fit.
func newEvent(n int) (*Event, []LookupKey) {
	if n <= eventKeys {
		ek := new(eventWithKeys)
		return &ek.e, ek.keys[:0]
	}
	return new(Event), make([]LookupKey, 0, n)
}

// classify applies the category rules: eventCategory and eventType default
// each from the other, the category is one of four, and the record has an
// eventName and eventSource (an Insight record's may come from its
// insightDetails).
func (d *decoder) classify(t *recordTexts) (category, name, source string, ferr *FieldError) {
	category, eventType := t.category, t.eventType
	if category == "" {
		if eventType == "AwsCloudTrailInsight" {
			category = CategoryInsight
		} else {
			category = CategoryManagement
		}
		d.setString(rEventCategory, category)
	}
	switch category {
	case CategoryManagement, CategoryData, CategoryInsight, CategoryNetworkActivity:
	default:
		return "", "", "", fieldErr(ErrInvalidData, "eventCategory", "eventCategory %q is not one of Management, Data, Insight, NetworkActivity", category)
	}
	if eventType == "" {
		if category == CategoryInsight {
			eventType = "AwsCloudTrailInsight"
		} else {
			eventType = "AwsApiCall"
		}
		d.setString(rEventType, eventType)
	}
	if category == CategoryInsight {
		name, source, ferr = d.insightNames(t.name, t.source)
		return category, name, source, ferr
	}
	if t.name == "" {
		return "", "", "", fieldErr(ErrFieldNotFound, "eventName", "eventName is required")
	}
	if t.source == "" {
		return "", "", "", fieldErr(ErrFieldNotFound, "eventSource", "eventSource is required")
	}
	return category, t.name, t.source, nil
}

// insightNames are the eventName and eventSource of an Insight record: its
// own, else those of its insightDetails, which it must have.
func (d *decoder) insightNames(name, source string) (string, string, *FieldError) {
	det := d.field(rInsightDetails)
	if det == nil || string(det) == "null" {
		return "", "", fieldErr(ErrFieldNotFound, "insightDetails", "an Insight record needs insightDetails")
	}
	// An unnamed struct: its errors say "Go struct field .eventName", as
	// they always have.
	var insight struct {
		EventName   string `json:"eventName"`
		EventSource string `json:"eventSource"`
	}
	if err := json.Unmarshal(det, &insight); err != nil {
		return "", "", fieldErr(ErrInvalidData, "insightDetails", "insightDetails: %v", err)
	}
	if name == "" {
		name = insight.EventName
	}
	if source == "" {
		source = insight.EventSource
	}
	if name == "" {
		return "", "", fieldErr(ErrFieldNotFound, "insightDetails.eventName", "an Insight record needs insightDetails.eventName")
	}
	if source == "" {
		return "", "", fieldErr(ErrFieldNotFound, "insightDetails.eventSource", "an Insight record needs insightDetails.eventSource")
	}
	return name, source, nil
}

// eventTime reads the required eventTime, an RFC 3339 time from 1970 on,
// and writes it back in UTC at whole seconds, as TimeFormat writes it.
func (d *decoder) eventTime(ts string) (time.Time, *FieldError) {
	if ts == "" {
		return time.Time{}, fieldErr(ErrFieldNotFound, "eventTime", "eventTime is required")
	}
	if t, ok := canonicalTime(ts); ok && len(d.vals[rEventTime]) == len(ts)+2 {
		// Already as Decode writes it: the value stays as it is.
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, fieldErr(ErrInvalidData, "eventTime", "eventTime %q is not an RFC 3339 time such as 2026-11-26T09:30:00Z", ts)
	}
	t = t.UTC().Truncate(time.Second)
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, fieldErr(ErrInvalidData, "eventTime", "eventTime %q is out of range", ts)
	}
	tv := append(d.set[rEventTime][:0], '"')
	tv = append(appendTime(tv, t), '"')
	d.set[rEventTime] = tv
	if !bytes.Equal(tv, d.vals[rEventTime]) { // else it stays in place in raw
		d.setRaw(rEventTime, tv)
	}
	return t, nil
}

// owner applies the placement rules: the record names a region the server
// serves, and an account the caller may write for (none: the caller's).
func (d *decoder) owner(t *recordTexts, c Context) (region, account string, ferr *FieldError) {
	region = t.region
	if region == "" {
		return "", "", fieldErr(ErrFieldNotFound, "awsRegion", "awsRegion is required")
	}
	if c.ServesRegion != nil && !c.ServesRegion(region) {
		return "", "", fieldErr(ErrInvalidData, "awsRegion", "awsRegion %q is not a region this server serves", region)
	}
	account = t.account
	switch {
	case account == "":
		account = c.Account
		d.setString(rRecipientAccountID, account)
	case account == c.Account:
	case c.MayWriteFor != nil && c.MayWriteFor(account):
	default:
		return "", "", fieldErr(ErrInvalidRecipient, "recipientAccountId", "recipientAccountId %q is not an account this caller may write events for", account)
	}
	return region, account, nil
}

// completeDefaults writes eventVersion when the record has none, and
// managementEvent (but for Insight records) from the category.
func (d *decoder) completeDefaults(category string) {
	if v := d.field(rEventVersion); len(v) <= 2 || v[0] != '"' {
		d.setString(rEventVersion, Version)
	}
	if d.has&(1<<rManagementEvent) == 0 && category != CategoryInsight {
		if category == CategoryManagement {
			d.setRaw(rManagementEvent, litTrue)
		} else {
			d.setRaw(rManagementEvent, litFalse)
		}
	}
}

// hashedRecord is the record as encoded to derive its eventID (in d.buf),
// and where its eventID member goes: record puts the member in rather than
// encoding the record again.
type hashedRecord struct {
	b     []byte // nil: the record has its own eventID
	idAt  int    // where the eventID member goes
	idLen int    // the length of the null or "" eventID member there, with its comma
}

// assignID is the record's eventID: id, or when that is empty one derived
// from the record's content (see contentID), which it writes.
func (d *decoder) assignID(id, account string, raw []byte) (string, hashedRecord) {
	if id != "" {
		return id, hashedRecord{}
	}
	d.buf = append(d.buf[:0], account...)
	d.buf = append(d.buf, 0)
	d.buf = d.encode(d.buf, raw)
	id = contentID(sha256.Sum256(d.buf))
	h := hashedRecord{b: d.buf[len(account)+1:], idAt: d.idAt - (len(account) + 1)}
	if v := d.field(rEventID); v != nil { // null or ""
		h.idLen = 1 + len(fieldInfos[rEventID].key) + len(v)
	}
	d.setString(rEventID, id)
	return id, h
}

// record writes the completed record: the hashed one with its eventID
// member put in when there is one, else encoded afresh.
func (d *decoder) record(raw []byte, h hashedRecord) []byte {
	if h.b == nil || h.idAt <= 1 {
		return d.encode(make([]byte, 0, d.encodedSize()), raw)
	}
	// Written after a member (eventVersion at least), the eventID member
	// starts with a comma.
	v := d.vals[rEventID]
	key := fieldInfos[rEventID].key
	rec := make([]byte, 0, len(h.b)-h.idLen+1+len(key)+len(v))
	rec = append(rec, h.b[:h.idAt]...)
	rec = append(rec, ',')
	rec = append(rec, key...)
	rec = append(rec, v...)
	return append(rec, h.b[h.idAt+h.idLen:]...)
}

// lookupKeys adds a record's lookup keys: its name and source, readOnly,
// the Username and AccessKeyId of its userIdentity, and the type, ARN and
// short name of each of its resources.
func (d *decoder) lookupKeys(ks *keySet, name, source string, t *recordTexts) *FieldError {
	ks.add(AttrEventName, name)
	ks.add(AttrEventSource, source)
	if v := d.field(rReadOnly); v != nil && string(v) != "null" {
		if v[0] == 't' {
			ks.add(AttrReadOnly, "true")
		} else {
			ks.add(AttrReadOnly, "false")
		}
	}
	if v := d.field(rUserIdentity); v != nil && string(v) != "null" {
		user, accessKeyID, err := d.who(v, t)
		if err != nil {
			return fieldErr(ErrInvalidData, "userIdentity", "userIdentity: %v", err)
		}
		ks.add(AttrUsername, user)
		ks.add(AttrAccessKeyID, accessKeyID)
	}
	if v := d.field(rResources); v != nil && string(v) != "null" {
		if t.resFast {
			for _, r := range d.res {
				arn := t.all.get(r.arn)
				ks.add(AttrResourceType, t.all.get(r.typ))
				ks.add(AttrResourceName, arn)
				ks.add(AttrResourceName, ShortName(arn))
			}
			return nil
		}
		var rs []Resource
		if err := json.Unmarshal(v, &rs); err != nil {
			return fieldErr(ErrInvalidData, "resources", "resources must be a list of {ARN, accountId, type}: %v", err)
		}
		for _, r := range rs {
			ks.add(AttrResourceType, r.Type)
			ks.add(AttrResourceName, r.ARN)
			ks.add(AttrResourceName, ShortName(r.ARN))
		}
	}
	return nil
}

// who is the Username and AccessKeyId of the userIdentity v, as
// json.Unmarshal into identity reads them: from the walk of it when that
// could tell, else from encoding/json.
func (d *decoder) who(v []byte, t *recordTexts) (user, accessKeyID string, err error) {
	if t.ident.fast {
		user = t.all.get(t.ident.user)
		if t.ident.root {
			user = "root"
		}
		return user, t.all.get(t.ident.accessKV), nil
	}
	var id identity
	if err := json.Unmarshal(v, &id); err != nil {
		return "", "", err
	}
	return id.username(), id.AccessKeyID, nil
}

// keySet gathers lookup keys, each attribute value once, in the order first
// added.
type keySet struct {
	keys []LookupKey
	seen map[LookupKey]struct{} // once there are many
}

func (ks *keySet) add(a Attribute, v string) {
	if v == "" {
		return
	}
	k := LookupKey{a, v}
	if ks.seen != nil {
		if _, ok := ks.seen[k]; ok {
			return
		}
		ks.seen[k] = struct{}{}
		ks.keys = append(ks.keys, k)
		return
	}
	for _, x := range ks.keys {
		if x == k {
			return
		}
	}
	ks.keys = append(ks.keys, k)
	if len(ks.keys) == 32 {
		ks.seen = make(map[LookupKey]struct{}, 64)
		for _, x := range ks.keys {
			ks.seen[x] = struct{}{}
		}
	}
}

// eventKeys is how many lookup keys an eventWithKeys holds: enough for a
// record of one resource.
const eventKeys = 8

type eventWithKeys struct {
	e    Event
	keys [eventKeys]LookupKey
}

var (
	litTrue  = []byte("true")
	litFalse = []byte("false")
)

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
