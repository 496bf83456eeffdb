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

// Summarize reads the event-history view of a stored record.
func Summarize(record []byte) (Summary, error) {
	var r struct {
		EventID        string          `json:"eventID"`
		EventName      string          `json:"eventName"`
		EventSource    string          `json:"eventSource"`
		EventTime      string          `json:"eventTime"`
		ReadOnly       *bool           `json:"readOnly"`
		UserIdentity   *identity       `json:"userIdentity"`
		Resources      []Resource      `json:"resources"`
		InsightDetails *insightSummary `json:"insightDetails"`
	}
	if err := json.Unmarshal(record, &r); err != nil {
		return Summary{}, fmt.Errorf("event: stored record: %w", err)
	}
	s := Summary{EventID: r.EventID, EventName: r.EventName, EventSource: r.EventSource, Resources: r.Resources}
	if r.InsightDetails != nil {
		if s.EventName == "" {
			s.EventName = r.InsightDetails.EventName
		}
		if s.EventSource == "" {
			s.EventSource = r.InsightDetails.EventSource
		}
	}
	s.EventTime, _ = time.Parse(time.RFC3339, r.EventTime)
	if r.ReadOnly != nil {
		s.ReadOnly = fmt.Sprint(*r.ReadOnly)
	}
	if r.UserIdentity != nil {
		s.Username = r.UserIdentity.username()
		s.AccessKeyID = r.UserIdentity.AccessKeyID
	}
	return s, nil
}

type insightSummary struct {
	EventName   string `json:"eventName"`
	EventSource string `json:"eventSource"`
}
