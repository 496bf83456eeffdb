package event

import (
	"bytes"
	"encoding/json"
)

// rErrorCode is the rank of the errorCode field.
var rErrorCode = rank("errorCode")

// errorCodeName is how the field's name appears in a record.
var errorCodeName = []byte(`"errorCode"`)

// HasErrorCode reports whether a stored record has a top-level errorCode
// that is a string other than "" (the call failed). Most records do not
// name the field at all, which a byte search shows; one that does is
// scanned as Decode scans it, so that a field of that name nested in the
// parameters is not taken for the record's own.
func HasErrorCode(record []byte) bool {
	if !mentionsErrorCode(record) {
		return false
	}
	d := getDecoder()
	defer putDecoder(d)
	if d.scan(record) != nil {
		// A record the scanner refuses: ask encoding/json, names matched exactly.
		var m map[string]json.RawMessage
		var code string
		return json.Unmarshal(record, &m) == nil && json.Unmarshal(m["errorCode"], &code) == nil && code != ""
	}
	v := d.field(rErrorCode)
	return len(v) > 2 && v[0] == '"'
}

// mentionsErrorCode is bytes.Contains(record, errorCodeName), found from
// the name's 'C': bytes.Index looks for a pattern's first byte, and a
// record is full of the '"' that this one starts with, which makes it
// compare at almost every quote. A record has few capital C's.
func mentionsErrorCode(record []byte) bool {
	const at = len(`"error`) // the index of 'C' in the name
	tail := len(errorCodeName) - at
	for i := at; i+tail <= len(record); {
		j := bytes.IndexByte(record[i:len(record)-tail+1], 'C')
		if j < 0 {
			return false
		}
		p := i + j
		if bytes.Equal(record[p-at:p+tail], errorCodeName) {
			return true
		}
		i = p + 1
	}
	return false
}
