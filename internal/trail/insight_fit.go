package trail

import (
	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
)

// checkInsightsFit refuses insight selectors the trail's event selectors
// cannot feed, as CloudTrail does: Insights on the API call rate need the
// trail to log write management events, on the error rate read or write
// management events; Insights on data events need the trail to log data
// events.
func checkInsightsFit(t *Trail, sel []InsightSelector) error {
	basic := t.EventSelectors
	if len(basic) == 0 && len(t.AdvancedEventSelectors) == 0 {
		basic = DefaultSelectors()
	}
	m, err := Compile(basic, t.AdvancedEventSelectors)
	if err != nil {
		return err
	}
	logs := func(readOnly bool) bool {
		f := Fields{EventCategory: event.CategoryManagement, EventSource: "ec2.amazonaws.com", EventName: "RunInstances", ReadOnly: &readOnly}
		return m.Match(&f)
	}
	for i, s := range sel {
		for _, c := range s.EventCategories {
			if c == "Data" && !t.logsDataEvents() {
				return awsproto.Errorf(awsproto.InvalidInsightSelectorsException,
					"Insight selector %d: Insights on data events need the trail to log data events; add data event selectors first.", i+1)
			}
		}
		if !selContains(s.EventCategories, "Management") && len(s.EventCategories) > 0 {
			continue
		}
		switch {
		case *s.InsightType == InsightAPICallRate && !logs(false):
			return awsproto.Errorf(awsproto.InvalidInsightSelectorsException,
				"Insight selector %d: %s needs the trail to log write management events; its event selectors do not.", i+1, InsightAPICallRate)
		case *s.InsightType == InsightAPIErrorRate && !logs(false) && !logs(true):
			return awsproto.Errorf(awsproto.InvalidInsightSelectorsException,
				"Insight selector %d: %s needs the trail to log read or write management events; its event selectors log none.", i+1, InsightAPIErrorRate)
		}
	}
	return nil
}

// logsDataEvents reports whether the trail's selectors take data events.
func (t *Trail) logsDataEvents() bool {
	for _, s := range t.EventSelectors {
		if len(s.DataResources) > 0 {
			return true
		}
	}
	for _, a := range t.AdvancedEventSelectors {
		for _, f := range a.FieldSelectors {
			if f.Field != nil && *f.Field == "eventCategory" && selContains(f.Equals, event.CategoryData) {
				return true
			}
		}
	}
	return false
}
