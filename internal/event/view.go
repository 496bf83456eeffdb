package event

import (
	"encoding/json"
	"time"
)

// View is what event history needs of one stored record: its summary, and
// the lookup keys Decode derives from it. A page of LookupEvents reads up
// to 50 records, and an attribute lookup checks each one's keys (the index
// holds hashes); Summarize and Decode would read each record several times
// through encoding/json. ReadView reads it once, with Decode's scanner, and
// derives the keys by Decode's own rules.
type View struct {
	// Summary is what Summarize reads of the record.
	Summary Summary
	keys    []LookupKey
	keysOK  bool
}

// Keys returns the lookup keys Decode derives from the record (EventId is
// not among them); ok is false when the view cannot tell them, for a
// record Decode refuses as it stands: then ask Decode.
func (v *View) Keys() (keys []LookupKey, ok bool) { return v.keys, v.keysOK }

// ReadView reads a stored record. It gives what Summarize gives for any
// bytes: a record the scanner refuses (not JSON, invalid UTF-8, nested too
// deep), which Decode refuses too, is summarized by Summarize itself.
func ReadView(record []byte) View {
	d := getDecoder()
	defer putDecoder(d)
	return d.view(record)
}

func (d *decoder) view(raw []byte) View {
	var v View
	if d.scan(raw) != nil {
		v.Summary, _ = Summarize(raw)
		return v
	}
	t := d.texts(raw, true)
	v.Summary = d.summary(&t)
	// The rules Decode applies before it derives the keys, but for the
	// record's time and owner, which do not change them.
	if len(raw) > MaxRecordBytes || d.checkFields() != nil {
		return v
	}
	_, name, source, ferr := d.classify(&t)
	if ferr != nil {
		return v
	}
	ks := keySet{keys: make([]LookupKey, 0, 5+3*len(d.res))}
	if d.lookupKeys(&ks, name, source, &t) != nil {
		return v
	}
	v.keys, v.keysOK = ks.keys, true
	return v
}

// summary is what Summarize reads of the record scanned, from its texts:
// encoding/json is asked only for insightDetails, and for a userIdentity
// or resources the walks could not read.
func (d *decoder) summary(t *recordTexts) Summary {
	s := Summary{EventID: t.id, EventName: t.name, EventSource: t.source}
	if v := d.field(rInsightDetails); v != nil {
		s.insightNames(v)
	}
	if tm, ok := canonicalTime(t.time); ok {
		s.EventTime = tm
	} else {
		s.EventTime, _ = time.Parse(time.RFC3339, t.time)
	}
	switch string(d.field(rReadOnly)) {
	case "true":
		s.ReadOnly = "true"
	case "false", "null": // json.Unmarshal leaves a bool false for null
		s.ReadOnly = "false"
	}
	if v := d.field(rUserIdentity); v != nil {
		if user, accessKeyID, err := d.who(v, t); err == nil {
			s.Username, s.AccessKeyID = user, accessKeyID
		}
	}
	if v := d.field(rResources); v != nil {
		s.Resources = d.summaryResources(v, t)
	}
	return s
}

// summaryResources is what json.Unmarshal makes of the resources v, from
// the walk of it when that could read it.
func (d *decoder) summaryResources(v []byte, t *recordTexts) []Resource {
	var rs []Resource
	if !t.resFast {
		_ = json.Unmarshal(v, &rs) // a partial list on error, as Summarize has
		return rs
	}
	rs = make([]Resource, len(d.res))
	for i, r := range d.res {
		rs[i] = Resource{ARN: t.all.get(r.arn), AccountID: t.all.get(r.acct), Type: t.all.get(r.typ)}
	}
	return rs
}
