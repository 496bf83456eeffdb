package delivery

import (
	"encoding/json"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/trail"
)

// fileKind tells a trail's ordinary log files from its Insights log files
// (under CloudTrail-Insight/): events of each go to files of their own.
const (
	kindLog     = ""
	kindInsight = "Insight"
)

func kindOf(ev *event.Event) string {
	if ev.Category == event.CategoryInsight {
		return kindInsight
	}
	return kindLog
}

// takesInsight reports whether trail t delivers the Insights event ev:
// only a trail with an insight selector of the event's insight type does,
// as CloudTrail delivers Insights events only to trails with Insights on.
func takesInsight(t *trail.Trail, ev *event.Event) bool {
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
