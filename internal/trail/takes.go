package trail

import (
	"encoding/json"

	"github.com/cairn-audit/cairn/internal/event"
)

// globalSources are the services whose events are global: recorded in the
// global region and taken only by trails that include global service events
// and cover that region.
var globalSources = map[string]bool{
	"iam.amazonaws.com": true, "sts.amazonaws.com": true, "cloudfront.amazonaws.com": true,
	"organizations.amazonaws.com": true, "route53.amazonaws.com": true, "signin.amazonaws.com": true,
}

// Takes reports whether trail t (with matcher m, its compiled selectors)
// takes event ev: an event of an account and region the trail covers
// (accounts and regions, from CoveredAccounts and CoveredRegions), a global
// service's event only if the trail includes them, an Insights event only
// if the trail has an insight selector of its type, any other event if its
// selectors match. Every destination of a trail — its log files, its log
// group — takes exactly these events. An unreadable record is not taken
// (with the error).
func Takes(t *Trail, m *Matcher, accounts, regions map[string]bool, globalRegion string, ev *event.Event) (bool, error) {
	if !accounts[ev.Account] || !regions[ev.Region] {
		return false, nil
	}
	f, err := ParseFields(ev.Record)
	if err != nil {
		return false, err
	}
	if ev.Region == globalRegion && globalSources[f.EventSource] && !t.IncludeGlobalServiceEvents {
		return false, nil
	}
	if ev.Category == event.CategoryInsight {
		return takesInsight(t, ev), nil
	}
	return m.Match(&f), nil
}

// takesInsight reports whether trail t takes the Insights event ev: only a
// trail with an insight selector of the event's insight type does, as
// CloudTrail delivers Insights events only to trails with Insights on.
func takesInsight(t *Trail, ev *event.Event) bool {
	var r struct {
		InsightDetails struct {
			InsightType string `json:"insightType"`
		} `json:"insightDetails"`
	}
	if json.Unmarshal(ev.Record, &r) != nil {
		return false
	}
	for _, s := range t.InsightSelectors {
		if s.InsightType != nil && *s.InsightType == r.InsightDetails.InsightType {
			return true
		}
	}
	return false
}

// Selection decides which events one trail takes, for a consumer that
// follows the log for it (see Takes).
type Selection struct {
	t                 *Trail
	m                 *Matcher
	accounts, regions map[string]bool
	globalRegion      string
}

// Scope is what, beyond a trail's own settings, decides what it takes: the
// served regions (a multi-region trail's), the global region, and the
// organization's members (an organization trail's accounts).
type Scope struct {
	Regions      []string
	GlobalRegion string
	Members      []string
}

// NewSelection compiles t's selectors for Takes within scope s.
func NewSelection(t *Trail, s Scope) (*Selection, error) {
	m, err := Compile(t.EventSelectors, t.AdvancedEventSelectors)
	if err != nil {
		return nil, err
	}
	return &Selection{t: t, m: m, globalRegion: s.GlobalRegion,
		accounts: setOf(CoveredAccounts(t.IsOrganizationTrail, t.Account, s.Members)),
		regions:  setOf(CoveredRegions(t.IsMultiRegionTrail, t.HomeRegion, s.Regions))}, nil
}

// Takes reports whether the trail takes ev (an unreadable record: no).
func (s *Selection) Takes(ev *event.Event) bool {
	ok, _ := Takes(s.t, s.m, s.accounts, s.regions, s.globalRegion, ev)
	return ok
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, v := range list {
		m[v] = true
	}
	return m
}
