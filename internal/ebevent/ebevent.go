// Package ebevent provides the Amazon EventBridge event that CloudTrail
// sends to an account's default event bus for a CloudTrail record:
//
//	{"version":"0","id":<uuid>,"detail-type":"AWS API Call via CloudTrail",
//	 "source":"aws.<service>","account":…,"time":…,"region":…,
//	 "resources":[<ARNs>],"detail":<the record>}
//
// The EventBridge sinks (PutEvents, webhooks) and the live tail share it, so
// that a pattern written for AWS matches Cairn's events the same way.
package ebevent

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/event"
)

// The detail-types CloudTrail uses. AWS's EventBridge guide spells the
// sign-in one "AWS Console Signin via CloudTrail", but the events CloudTrail
// actually sends (and the rules written for them) say "Sign In".
const (
	DetailTypeAPICall         = "AWS API Call via CloudTrail"
	DetailTypeConsoleSignIn   = "AWS Console Sign In via CloudTrail"
	DetailTypeConsoleAction   = "AWS Console Action via CloudTrail"
	DetailTypeServiceEvent    = "AWS Service Event via CloudTrail"
	DetailTypeInsight         = "AWS Insight via CloudTrail"
	DetailTypeNetworkActivity = "AWS Network Activity Event via CloudTrail"
)

// DefaultSourcePrefix is what CloudTrail puts before the service name.
const DefaultSourcePrefix = "aws."

// namespace makes envelope IDs: a UUID (SHA-1 name-based) of the account,
// region and eventID, so that a resend of the same event carries the same
// id and a receiver can drop the duplicate.
var namespace = uuid.MustParse("5d0f6c1e-8a43-4f0e-9b7a-2f1c3e4d5a6b")

// Envelope is one EventBridge event; Detail is the CloudTrail record as
// stored (compact JSON).
type Envelope struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// recordFields are the parts of a record the envelope is made from.
type recordFields struct {
	EventType   string `json:"eventType"`
	EventSource string `json:"eventSource"`
	Resources   []struct {
		ARN string `json:"ARN"`
	} `json:"resources"`
}

// Build returns the envelope CloudTrail sends for ev. sourcePrefix replaces
// "aws." in source ("" keeps "aws."), for buses that reserve "aws." (AWS's
// own EventBridge refuses PutEvents entries whose source starts with it).
func Build(ev *event.Event, sourcePrefix string) (*Envelope, error) {
	var rf recordFields
	if err := json.Unmarshal(ev.Record, &rf); err != nil {
		return nil, fmt.Errorf("ebevent: event %s: %w", ev.ID, err)
	}
	if sourcePrefix == "" {
		sourcePrefix = DefaultSourcePrefix
	}
	resources := make([]string, 0, len(rf.Resources))
	for _, r := range rf.Resources {
		if r.ARN != "" {
			resources = append(resources, r.ARN)
		}
	}
	return &Envelope{
		Version:    "0",
		ID:         ID(ev),
		DetailType: DetailType(rf.EventType, ev.Category),
		Source:     sourcePrefix + Service(rf.EventType, rf.EventSource, ev.Category),
		Account:    ev.Account,
		Time:       ev.Time.UTC().Format(event.TimeFormat),
		Region:     ev.Region,
		Resources:  resources,
		Detail:     json.RawMessage(ev.Record),
	}, nil
}

// ID is the envelope id of ev: stable for the same event.
func ID(ev *event.Event) string {
	return uuid.NewSHA1(namespace, []byte(ev.Account+"\x00"+ev.Region+"\x00"+ev.ID)).String()
}

// DetailType maps a record's eventType (and category) to the detail-type
// CloudTrail gives its EventBridge event.
func DetailType(eventType, category string) string {
	switch {
	case category == event.CategoryInsight || eventType == "AwsCloudTrailInsight":
		return DetailTypeInsight
	case eventType == "AwsConsoleSignIn":
		return DetailTypeConsoleSignIn
	case eventType == "AwsConsoleAction":
		return DetailTypeConsoleAction
	case eventType == "AwsServiceEvent":
		return DetailTypeServiceEvent
	case category == event.CategoryNetworkActivity || eventType == "AwsVpceEvent":
		return DetailTypeNetworkActivity
	}
	return DetailTypeAPICall
}

// Service is the part of source after the prefix: the eventSource without
// ".amazonaws.com" (s3.amazonaws.com → s3, signin.amazonaws.com → signin,
// monitoring.amazonaws.com → monitoring, as AWS's event reference lists
// them). Insights events come from CloudTrail itself ("cloudtrail"). An
// eventSource outside amazonaws.com is kept whole (orders.example.com →
// aws.orders.example.com), so events of a team's own services stay apart.
func Service(eventType, eventSource, category string) string {
	if category == event.CategoryInsight || eventType == "AwsCloudTrailInsight" {
		return "cloudtrail"
	}
	if s, ok := strings.CutSuffix(eventSource, ".amazonaws.com"); ok && s != "" {
		return s
	}
	if eventSource == "" {
		return "cloudtrail"
	}
	return eventSource
}

// Marshal writes the envelope as compact JSON in CloudTrail's field order,
// leaving the record's bytes as they are.
func (e *Envelope) Marshal() []byte {
	b := make([]byte, 0, len(e.Detail)+256)
	b = append(b, `{"version":`...)
	b = event.AppendString(b, e.Version)
	b = append(b, `,"id":`...)
	b = event.AppendString(b, e.ID)
	b = append(b, `,"detail-type":`...)
	b = event.AppendString(b, e.DetailType)
	b = append(b, `,"source":`...)
	b = event.AppendString(b, e.Source)
	b = append(b, `,"account":`...)
	b = event.AppendString(b, e.Account)
	b = append(b, `,"time":`...)
	b = event.AppendString(b, e.Time)
	b = append(b, `,"region":`...)
	b = event.AppendString(b, e.Region)
	b = append(b, `,"resources":[`...)
	for i, r := range e.Resources {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendString(b, r)
	}
	b = append(b, `],"detail":`...)
	b = append(b, e.Detail...)
	return append(b, '}')
}

// Selection says which events an account's bus receives.
type Selection struct {
	// ReadOnly adds read-only management events (CloudTrail sends writes
	// only unless a rule asks for all management events).
	ReadOnly bool
	// Data adds data events (reads and writes).
	Data bool
}

// Sends reports whether CloudTrail would send ev to the bus under s:
// write management events (console sign-ins among them) always, read-only
// ones when s.ReadOnly, data events when s.Data, Insights events always;
// network activity events are not sent. A record without readOnly counts
// as a write, as trails' selectors count it.
func (s Selection) Sends(ev *event.Event) bool {
	switch ev.Category {
	case event.CategoryInsight:
		return true
	case event.CategoryData:
		return s.Data
	case event.CategoryManagement, "":
		return s.ReadOnly || !readOnly(ev)
	}
	return false
}

// readOnly reads the record's readOnly from its lookup keys.
func readOnly(ev *event.Event) bool {
	for _, k := range ev.Keys {
		if k.Attr == event.AttrReadOnly {
			return k.Value == "true"
		}
	}
	return false
}
