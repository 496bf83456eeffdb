package insights

import (
	"encoding/json"
	"fmt"
	"time"
)

// recordVersion is the eventVersion of the Insights records Cairn makes.
const recordVersion = "1.08"

// Record fields of an Insights event for trails, in CloudTrail's order.
type record struct {
	EventVersion       string         `json:"eventVersion"`
	EventTime          string         `json:"eventTime"`
	AWSRegion          string         `json:"awsRegion"`
	EventID            string         `json:"eventID"`
	EventType          string         `json:"eventType"`
	RecipientAccountID string         `json:"recipientAccountId"`
	SharedEventID      string         `json:"sharedEventID"`
	InsightDetails     insightDetails `json:"insightDetails"`
	EventCategory      string         `json:"eventCategory"`
}

type insightDetails struct {
	State          string         `json:"state"`
	EventSource    string         `json:"eventSource"`
	EventName      string         `json:"eventName"`
	InsightType    string         `json:"insightType"`
	InsightContext insightContext `json:"insightContext"`
}

type insightContext struct {
	Statistics   Statistics    `json:"statistics"`
	Attributions []Attribution `json:"attributions"`
}

// Record is the CloudTrail Insights record of a transition: eventType
// AwsCloudTrailInsight, eventCategory Insight, the eventID and
// sharedEventID the detector made for the Insight (the same bytes every
// time it is made), and insightDetails with statistics and attributions.
func Record(tr Transition) []byte {
	r := record{EventVersion: recordVersion, EventTime: tr.Time.UTC().Format("2006-01-02T15:04:05Z"),
		AWSRegion: tr.Key.Region, EventID: tr.EventID, EventType: "AwsCloudTrailInsight",
		RecipientAccountID: tr.Key.Account, SharedEventID: tr.SharedEventID, EventCategory: "Insight",
		InsightDetails: insightDetails{State: tr.State, EventSource: tr.Key.EventSource, EventName: tr.Key.EventName,
			InsightType: tr.Key.InsightType, InsightContext: insightContext{Statistics: tr.Statistics, Attributions: tr.Attributions}}}
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("insights: record: %v", err)) // only strings and numbers: cannot fail
	}
	return b
}

// ParseRecord reads an Insights record back into the transition it
// describes; ok is false for a record that is not a well-formed Insights
// record.
func ParseRecord(raw []byte) (tr Transition, ok bool) {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil || r.EventType != "AwsCloudTrailInsight" {
		return Transition{}, false
	}
	d := r.InsightDetails
	if d.State != "Start" && d.State != "End" || d.InsightType != TypeCallRate && d.InsightType != TypeErrorRate || r.SharedEventID == "" {
		return Transition{}, false
	}
	t, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil {
		return Transition{}, false
	}
	return Transition{Key: Key{Account: r.RecipientAccountID, Region: r.AWSRegion, EventSource: d.EventSource,
		EventName: d.EventName, InsightType: d.InsightType}, State: d.State, SharedEventID: r.SharedEventID, EventID: r.EventID,
		Time: t, Statistics: d.InsightContext.Statistics, Attributions: d.InsightContext.Attributions}, true
}
