package event

import (
	"encoding/json"
	"fmt"
	"time"
)

// Summary is what LookupEvents shows of an event besides the record itself.
type Summary struct {
	EventID     string
	EventName   string
	EventSource string
	EventTime   time.Time
	ReadOnly    string // "true", "false" or "" (as LookupEvents reports it: a string)
	AccessKeyID string
	Username    string
	Resources   []Resource
}

// Summarize reads the event-history view of a stored record through
// encoding/json. Field names are matched exactly, as Decode matches them, so
// that a look-alike field ("EVENTNAME") can never stand in for the real one.
// ReadView gives the same summary in one pass; Summarize is its reference,
// and what it falls back on for a record its scanner refuses.
func Summarize(record []byte) (Summary, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(record, &fields); err != nil {
		return Summary{}, fmt.Errorf("event: stored record: %w", err)
	}
	str := func(name string) string {
		var s string
		if v, ok := fields[name]; ok {
			_ = json.Unmarshal(v, &s)
		}
		return s
	}
	s := Summary{EventID: str("eventID"), EventName: str("eventName"), EventSource: str("eventSource")}
	if v, ok := fields["insightDetails"]; ok {
		s.insightNames(v)
	}
	s.EventTime, _ = time.Parse(time.RFC3339, str("eventTime"))
	if v, ok := fields["readOnly"]; ok {
		var b bool
		if json.Unmarshal(v, &b) == nil {
			s.ReadOnly = fmt.Sprint(b)
		}
	}
	if v, ok := fields["userIdentity"]; ok {
		var id identity
		if json.Unmarshal(v, &id) == nil {
			s.Username = id.username()
			s.AccessKeyID = id.AccessKeyID
		}
	}
	if v, ok := fields["resources"]; ok {
		_ = json.Unmarshal(v, &s.Resources)
	}
	return s, nil
}

type insightSummary struct {
	EventName   string `json:"eventName"`
	EventSource string `json:"eventSource"`
}

// insightNames fills in an empty EventName and EventSource from the
// record's insightDetails v, when json.Unmarshal can read it.
func (s *Summary) insightNames(v []byte) {
	var d insightSummary
	if json.Unmarshal(v, &d) == nil {
		if s.EventName == "" {
			s.EventName = d.EventName
		}
		if s.EventSource == "" {
			s.EventSource = d.EventSource
		}
	}
}
