package testutil

import (
	"encoding/json"
	"strings"
	"testing"
)

// Steady returns the JSON record b with the values of the named top-level
// members, which change from run to run (eventID, eventTime), replaced by
// "*" (where each is first written as it is at the top level), so that a
// test can compare the rest byte for byte. It fails the test when b is not
// a JSON object or a member is missing.
func Steady(t testing.TB, b []byte, members ...string) string {
	t.Helper()
	out := string(b)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("record is not a JSON object: %v\n%s", err, b)
	}
	for _, name := range members {
		v, ok := m[name]
		if !ok {
			t.Fatalf("record has no %s:\n%s", name, b)
		}
		key, _ := json.Marshal(name)
		out = strings.Replace(out, string(key)+":"+string(v), string(key)+`:"*"`, 1)
	}
	return out
}
