package main

import (
	"testing"
	"time"
)

// TestCoverageRuleStopped: a stop in the checked range, of an epoch long
// enough for delivery to begin its chains and at least the grace ago,
// requires the final digests; otherwise the rule is the interval rule.
func TestCoverageRuleStopped(t *testing.T) {
	stop := time.Date(2026, 12, 6, 9, 13, 59, 980e6, time.UTC)
	began := stop.Add(-time.Hour)
	now := stop.Add(time.Minute)
	grace := 30 * time.Second
	for _, tc := range []struct {
		name       string
		start, end time.Time
		began, now time.Time
		isLogging  bool
		want       bool
	}{
		{"stop in range", began, now, began, now, false, true},
		{"still logging", began, now, began, now, true, false},
		{"stop before --start-time", stop.Add(time.Second), now, began, now, false, false},
		{"stop after --end-time", began, stop.Add(-time.Second), began, now, false, false},
		{"final digest not due yet", began, now, began, stop.Add(grace - time.Second), false, false},
		{"epoch too short for a pass", began, now, stop.Add(-time.Second), now, false, false},
	} {
		b, s := tc.began, stop
		c := &trailCoverage{DigestIntervalSeconds: 30, IsLogging: tc.isLogging, StartLoggingTime: &b, StopLoggingTime: &s, LoggingKnown: true}
		r := coverageRule(c, tc.start, tc.end, grace, tc.now)
		if got := !r.Stopped.IsZero(); got != tc.want {
			t.Errorf("%s: final digest required %v, want %v (rule %+v)", tc.name, got, tc.want, r)
		}
		if tc.want && !r.Threshold().Equal(stop.Add(-2*time.Second)) {
			t.Errorf("%s: threshold %s, want 2s before the stop", tc.name, r.Threshold())
		}
	}
}
