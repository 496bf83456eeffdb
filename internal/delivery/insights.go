package delivery

import "github.com/cairn-audit/cairn/internal/event"

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
