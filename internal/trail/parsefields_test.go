package trail_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/loadgen"
	"github.com/cairn-audit/cairn/internal/trail"
)

// BenchmarkParseFields reads the Fields of the records the load generator
// sends (1 KB, a mix of services), as stored: delivery's view of a record.
func BenchmarkParseFields(b *testing.B) {
	const n = 512
	evs, err := loadgen.Events(n, 1024, time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, e := range evs {
		total += len(e.Record)
	}
	b.SetBytes(int64(total / n))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := trail.ParseFields(evs[i].Record); err != nil {
			b.Fatal(err)
		}
		if i++; i == n {
			i = 0
		}
	}
}

// refParseFields is ParseFields as it was before it read records with
// event's scanner: through encoding/json, into maps of raw messages. It is
// the reference FuzzParseFields holds ParseFields to.
func refParseFields(record []byte) (trail.Fields, error) {
	var f trail.Fields
	var top map[string]json.RawMessage
	if err := json.Unmarshal(record, &top); err != nil {
		return f, fmt.Errorf("trail: record is not a JSON object: %w", err)
	}
	if top == nil {
		return f, fmt.Errorf("trail: record is not a JSON object")
	}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"eventCategory", &f.EventCategory},
		{"eventSource", &f.EventSource},
		{"eventName", &f.EventName},
		{"eventType", &f.EventType},
		{"errorCode", &f.ErrorCode},
		{"vpcEndpointId", &f.VPCEndpointID},
	} {
		if err := recString(top, s.name, s.dst); err != nil {
			return f, err
		}
	}
	var err error
	if f.ReadOnly, err = recBool(top, "readOnly"); err != nil {
		return f, err
	}
	if f.ManagementEvent, err = recBool(top, "managementEvent"); err != nil {
		return f, err
	}
	if v, ok := top["sessionCredentialFromConsole"]; ok && !recNull(v) {
		// A string as CloudTrail writes it; a JSON boolean is taken too.
		if b, err := recBool(top, "sessionCredentialFromConsole"); err == nil && b != nil {
			f.SessionCredentialFromConsole = fmt.Sprint(*b)
		} else if err := recString(top, "sessionCredentialFromConsole", &f.SessionCredentialFromConsole); err != nil {
			return f, err
		}
	}
	if id, ok := top["userIdentity"]; ok && !recNull(id) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(id, &m); err != nil {
			return f, fmt.Errorf("trail: record field userIdentity is not an object")
		}
		if err := recString(m, "arn", &f.UserIdentityARN); err != nil {
			return f, fmt.Errorf("trail: record field userIdentity.arn is not a string")
		}
	}
	if rs, ok := top["resources"]; ok && !recNull(rs) {
		var list []json.RawMessage
		if err := json.Unmarshal(rs, &list); err != nil {
			return f, fmt.Errorf("trail: record field resources is not a list")
		}
		f.Resources = make([]event.Resource, 0, len(list))
		for i, item := range list {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(item, &m); err != nil {
				return f, fmt.Errorf("trail: record field resources[%d] is not an object", i)
			}
			var r event.Resource
			for _, s := range []struct {
				name string
				dst  *string
			}{{"ARN", &r.ARN}, {"accountId", &r.AccountID}, {"type", &r.Type}} {
				if err := recString(m, s.name, s.dst); err != nil {
					return f, fmt.Errorf("trail: record field resources[%d].%s is not a string", i, s.name)
				}
			}
			f.Resources = append(f.Resources, r)
		}
	}
	if d, ok := top["insightDetails"]; ok && !recNull(d) && (f.EventName == "" || f.EventSource == "") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(d, &m); err != nil {
			return f, fmt.Errorf("trail: record field insightDetails is not an object")
		}
		if f.EventName == "" {
			if err := recString(m, "eventName", &f.EventName); err != nil {
				return f, fmt.Errorf("trail: record field insightDetails.eventName is not a string")
			}
		}
		if f.EventSource == "" {
			if err := recString(m, "eventSource", &f.EventSource); err != nil {
				return f, fmt.Errorf("trail: record field insightDetails.eventSource is not a string")
			}
		}
	}
	return f, nil
}

func recNull(v json.RawMessage) bool { return len(v) == 0 || bytes.Equal(v, []byte("null")) }

// recString sets *dst to the string field name of m, if present and not null.
func recString(m map[string]json.RawMessage, name string, dst *string) error {
	v, ok := m[name]
	if !ok || recNull(v) {
		return nil
	}
	if v[0] != '"' || json.Unmarshal(v, dst) != nil {
		return fmt.Errorf("trail: record field %s is not a string", name)
	}
	return nil
}

// recBool reads the boolean field name of m: a JSON boolean, or the string
// "true" or "false". Absent and null give nil.
func recBool(m map[string]json.RawMessage, name string) (*bool, error) {
	v, ok := m[name]
	if !ok || recNull(v) {
		return nil, nil
	}
	switch string(v) {
	case "true", `"true"`:
		return selBool(true), nil
	case "false", `"false"`:
		return selBool(false), nil
	}
	return nil, fmt.Errorf("trail: record field %s is not true or false", name)
}

// FuzzParseFields: ParseFields reads what the encoding/json reference
// reads of any input — the same Fields, and an error for the same inputs
// with the same message (but for the scanner's text of why the input is
// not JSON).
func FuzzParseFields(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "selectors", "*.json"))
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		``, `null`, `[]`, `"x"`, `{`, `{}`, ` {"eventName" : "a" } `, `{"eventName":"a"}x`,
		`{"eventName":"a","eventName":null}`, `{"eventName":null,"eventName":"b"}`, `{"e\u0076entName":"a"}`,
		`{"eventName":"\ud800x"}`, "{\"eventName\":\"\xff\"}", "{\"\xffeventName\":\"a\"}",
		`{"readOnly":"true","managementEvent":false,"sessionCredentialFromConsole":"false"}`,
		`{"sessionCredentialFromConsole":true}`, `{"sessionCredentialFromConsole":"maybe"}`, `{"sessionCredentialFromConsole":1}`,
		`{"userIdentity":{"arn":"a","arn":null}}`, `{"userIdentity":{"arn":5}}`, `{"userIdentity":[]}`,
		`{"resources":[null, {"ARN":"a","type":"t","accountId":null} ,{}]}`, `{"resources":[1]}`, `{"resources":{}}`,
		`{"resources":[ null ]}`, `{"resources":[{"ARN":5}]}`,
		`{"insightDetails":{"eventName":"n","eventSource":"s"}}`, `{"eventName":"x","insightDetails":[]}`,
		`{"eventName":"x","eventSource":"y","insightDetails":[]}`, `{"insightDetails":{"eventSource":false}}`,
		`{"a":[[[[[[[[[[]]]]]]]]]],"b":-0.5e+3,"c":true}`, `{"a":01}`, `{"a":"\x01"}`, `{"a":[1,]}`,
		`{"eventName":"a"` + strings.Repeat(`,"x":[`, 300) + strings.Repeat(`]`, 300) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		got, gerr := trail.ParseFields(rec)
		want, werr := refParseFields(rec)
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("ParseFields(%q) error %v, reference error %v", rec, gerr, werr)
		}
		if werr != nil {
			if !strings.HasPrefix(werr.Error(), "trail: record is not a JSON object") && gerr.Error() != werr.Error() {
				t.Fatalf("ParseFields(%q) error %q, reference error %q", rec, gerr, werr)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseFields(%q) = %+v, reference %+v", rec, got, want)
		}
	})
}

// TestParseFieldsDeep: ParseFields takes records nested as deep as
// encoding/json takes them, and refuses deeper ones, as the reference does.
func TestParseFieldsDeep(t *testing.T) {
	for _, depth := range []int{9999, 10000, 10001} {
		rec := []byte(`{"eventName":"a","x":` + strings.Repeat(`[`, depth-1) + strings.Repeat(`]`, depth-1) + `}`)
		_, gerr := trail.ParseFields(rec)
		_, werr := refParseFields(rec)
		if (gerr == nil) != (werr == nil) {
			t.Errorf("nesting %d: ParseFields error %v, reference error %v", depth, gerr, werr)
		}
	}
}
