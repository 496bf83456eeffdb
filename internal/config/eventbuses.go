package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/cairn-audit/cairn/internal/eventpattern"
)

// EventBus is the EventBridge default bus of one account, as CloudTrail
// feeds it without a trail: where its events go and which events go.
type EventBus struct {
	// Account is the configured account whose events the bus receives; it
	// may be left out only when exactly one account is configured.
	Account string `yaml:"account"`
	// Regions limits the bus to events of these regions; empty means every
	// served region.
	Regions []string `yaml:"regions"`
	// ReadOnlyEvents adds read-only management events (CloudTrail sends
	// writes only by default).
	ReadOnlyEvents bool `yaml:"read_only_events"`
	// DataEvents adds data events.
	DataEvents bool `yaml:"data_events"`
	// Targets are where the bus's events are sent.
	Targets []EventBusTarget `yaml:"targets"`
}

// EventBusTarget is one destination of an event bus: an EventBridge
// PutEvents API (eventbridge://?endpoint=URL[&bus=NAME][&region=R]) or an
// http(s) webhook.
type EventBusTarget struct {
	// URL is the destination.
	URL string `yaml:"url"`
	// AccessKeyID and SecretAccessKey sign PutEvents (both or neither:
	// neither uses the AWS SDK's default credential chain).
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// Pattern is an EventBridge event pattern that Cairn applies to the
	// envelope (as sent, source_prefix included) before sending; empty
	// sends every event of the bus.
	Pattern string `yaml:"pattern"`
	// Secret is a webhook's HMAC-SHA256 key for X-Cairn-Signature.
	Secret string `yaml:"secret"`
	// SourcePrefix replaces "aws." at the start of source (AWS's own
	// EventBridge refuses PutEvents sources starting with "aws."); empty
	// means "aws.".
	SourcePrefix string `yaml:"source_prefix"`
}

// SchemeEventBridge is the scheme of a PutEvents target.
const SchemeEventBridge = "eventbridge"

// DefaultEventBusName is the bus PutEvents targets unless &bus= says.
const DefaultEventBusName = "default"

var (
	eventBusNameRE = regexp.MustCompile(`^[A-Za-z0-9/._-]{1,256}$`)
	eventBusARNRE  = regexp.MustCompile(`^arn:[a-z0-9-]+:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9/._-]{1,256}$`)
	sourcePrefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.$`)
)

// EventBridgeURL is a parsed eventbridge:// target.
type EventBridgeURL struct {
	// Endpoint is the API's base URL; empty means AWS's endpoint.
	Endpoint string
	// Bus is the event bus name or ARN ("default" unless given).
	Bus string
	// Region is the signing region; empty means each event's own region
	// (CloudTrail sends an event to the bus of its region).
	Region string
}

// ParseEventBridgeURL parses eventbridge://?endpoint=URL&bus=NAME&region=R
// (every parameter optional; any other is an error).
func ParseEventBridgeURL(raw string) (EventBridgeURL, error) {
	q, err := eventBridgeURLForm.parse(raw)
	if err != nil {
		return EventBridgeURL{}, err
	}
	out := EventBridgeURL{Endpoint: q["endpoint"], Bus: q["bus"], Region: q["region"]}
	if out.Bus == "" {
		out.Bus = DefaultEventBusName
	}
	return out, nil
}

// eventBridgeURLForm is the form of an eventbridge:// target.
var eventBridgeURLForm = apiURLForm{scheme: SchemeEventBridge, usage: "eventbridge://?endpoint=URL&bus=NAME&region=R",
	names: "endpoint, bus, region", extra: map[string]func(string) string{"bus": func(v string) string {
		if !eventBusNameRE.MatchString(v) && !eventBusARNRE.MatchString(v) {
			return fmt.Sprintf("invalid bus %q (want a bus name of A-Z a-z 0-9 / . _ - or an event-bus ARN)", v)
		}
		return ""
	}}}

// IsEventBridge reports whether the target is a PutEvents target (else it
// is a webhook).
func (t EventBusTarget) IsEventBridge() bool {
	return strings.HasPrefix(t.URL, SchemeEventBridge+"://")
}

// SourcePrefixOrDefault is the target's source prefix, "aws." by default.
func (t EventBusTarget) SourcePrefixOrDefault() string {
	if t.SourcePrefix == "" {
		return "aws."
	}
	return t.SourcePrefix
}

// BusRegions is the regions a bus takes: its regions, or every served one.
func (c *Config) BusRegions(b EventBus) []string {
	if len(b.Regions) > 0 {
		return b.Regions
	}
	return c.Regions
}

// checkEventBuses checks event_buses: known accounts, served regions, valid
// targets, patterns that compile; one entry per account.
func (c *Config) checkEventBuses(v *validator, accounts map[string]bool) {
	seen := map[string]int{}
	for i, b := range c.EventBuses {
		path := fmt.Sprintf("event_buses[%d]", i)
		c.checkOwner(v, path+".account", path, "event bus", b.Account, accounts)
		owner := c.OwnerOf(b.Account)
		if j, dup := seen[owner]; dup && owner != "" {
			v.add(path+".account", "duplicate event bus for account %s (also event_buses[%d]): list its targets under one entry", owner, j)
		} else {
			seen[owner] = i
		}
		for k, r := range b.Regions {
			if !slices.Contains(c.Regions, r) {
				v.add(fmt.Sprintf("%s.regions[%d]", path, k), "region %q is not served (regions: %s)", r, strings.Join(c.Regions, ", "))
			}
		}
		if len(b.Targets) == 0 {
			v.addAlt(path+".targets", path, "must list at least one target")
		}
		urls := map[string]int{}
		for k, t := range b.Targets {
			tp := fmt.Sprintf("%s.targets[%d]", path, k)
			checkEventBusTarget(v, tp, t)
			if j, dup := urls[t.URL]; dup && t.URL != "" {
				v.add(tp+".url", "duplicate target (also targets[%d])", j)
			} else {
				urls[t.URL] = k
			}
		}
	}
}

// checkEventBusTarget checks one target's url, credentials, secret, pattern
// and source prefix.
func checkEventBusTarget(v *validator, path string, t EventBusTarget) {
	if t.IsEventBridge() {
		if _, err := ParseEventBridgeURL(t.URL); err != nil {
			v.add(path+".url", "%v", err)
		}
		if (t.AccessKeyID == "") != (t.SecretAccessKey == "") {
			v.add(path, "access_key_id and secret_access_key must be set together")
		}
		if t.Secret != "" {
			v.add(path+".secret", "secret only applies to http(s) webhooks (PutEvents is signed with access_key_id and secret_access_key)")
		}
	} else {
		checkURL(v, path+".url", path, t.URL, SchemeEventBridge, "http", "https")
		if t.AccessKeyID != "" || t.SecretAccessKey != "" {
			v.add(path, "access_key_id and secret_access_key only apply to eventbridge:// urls")
		}
		if t.Secret == "" {
			v.addAlt(path+".secret", path, "a webhook needs a secret (its requests carry X-Cairn-Signature: sha256=<HMAC-SHA256 of the body>)")
		}
	}
	if t.Pattern != "" {
		if _, err := eventpattern.Compile(t.Pattern); err != nil {
			v.add(path+".pattern", "%v", err)
		}
	}
	if t.SourcePrefix != "" && !sourcePrefixRE.MatchString(t.SourcePrefix) {
		v.add(path+".source_prefix", "invalid source prefix %q (want dot-separated words ending in a dot, e.g. \"cairn.\")", t.SourcePrefix)
	}
}
