package lakesql

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestEventJSONColumns: eventJson is each event's record as JSON and
// eventJsonChecksum the base64 of its SHA-256 (as Lake's
// eventDataChecksum is of a non-AWS event's data); both can be filtered
// on and read with JSON functions; SELECT * leaves them out.
func TestEventJSONColumns(t *testing.T) {
	db, fs := loadFixture(t)
	run := fixtureRunner(db)
	res, err := run("SELECT eventID, eventJson, eventJsonChecksum, json_extract_scalar(eventJson, '$.eventName') = eventName AS same FROM $EDS_ID ORDER BY eventID")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != len(fs) {
		t.Fatalf("%d rows, want %d", len(res.Rows), len(fs))
	}
	byID := map[string]*fx{}
	for _, f := range fs {
		byID[f.ID] = f
	}
	for _, r := range res.Rows {
		f := byID[cell(r[0])]
		if f == nil {
			t.Fatalf("unknown eventID %s", cell(r[0]))
		}
		var got, want any
		if err := json.Unmarshal([]byte(cell(r[1])), &got); err != nil {
			t.Fatalf("eventJson of %s is not JSON: %v", f.ID, err)
		}
		if err := json.Unmarshal(f.record(), &want); err != nil {
			t.Fatal(err)
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("eventJson of %s:\n got  %s\n want %s", f.ID, gb, wb)
		}
		sum := sha256.Sum256([]byte(cell(r[1])))
		if cell(r[2]) != base64.StdEncoding.EncodeToString(sum[:]) {
			t.Errorf("eventJsonChecksum of %s: %s", f.ID, cell(r[2]))
		}
		if cell(r[3]) != "true" {
			t.Errorf("json_extract_scalar(eventJson, '$.eventName') of %s differs from eventName", f.ID)
		}
	}
	res, err = run("SELECT count(*) FROM $EDS_ID WHERE eventJson LIKE '%\"" + fs[0].Name + "\"%'")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range fs {
		if strings.Contains(string(f.record()), `"`+fs[0].Name+`"`) {
			n++
		}
	}
	if cell(res.Rows[0][0]) != itoa(int64(n)) {
		t.Errorf("events whose eventJson names %s: %s, want %d", fs[0].Name, cell(res.Rows[0][0]), n)
	}
	res, err = run("SELECT * FROM $EDS_ID LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(res.Columns, func(c string) bool { return strings.HasPrefix(strings.ToLower(c), "eventjson") }) {
		t.Errorf("SELECT * has %v", res.Columns)
	}
}
