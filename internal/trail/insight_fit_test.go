package trail

import (
	"strings"
	"testing"
)

func TestCheckInsightsFit(t *testing.T) {
	s := func(v string) *string { return &v }
	b := func(v bool) *bool { return &v }
	call := InsightSelector{InsightType: s(InsightAPICallRate)}
	errRate := InsightSelector{InsightType: s(InsightAPIErrorRate)}
	dataCall := InsightSelector{InsightType: s(InsightAPICallRate), EventCategories: []string{"Data"}}
	readOnly := []EventSelector{{ReadWriteType: s("ReadOnly"), IncludeManagementEvents: b(true)}}
	noMgmt := []EventSelector{{ReadWriteType: s("All"), IncludeManagementEvents: b(false),
		DataResources: []DataResource{{Type: s("AWS::S3::Object"), Values: []string{"arn:aws:s3"}}}}}
	for _, tc := range []struct {
		name  string
		basic []EventSelector
		sel   []InsightSelector
		says  string // "" = accepted
	}{
		{"default selectors, both types", nil, []InsightSelector{call, errRate}, ""},
		{"read-only trail, call rate", readOnly, []InsightSelector{call}, "write management events"},
		{"read-only trail, error rate", readOnly, []InsightSelector{errRate}, ""},
		{"no management events, error rate", noMgmt, []InsightSelector{errRate}, "read or write management events"},
		{"data events logged, data call rate", noMgmt, []InsightSelector{dataCall}, ""},
		{"no data events, data call rate", nil, []InsightSelector{dataCall}, "data events"},
		{"turning Insights off", readOnly, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkInsightsFit(&Trail{EventSelectors: tc.basic}, tc.sel)
			switch {
			case tc.says == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "InvalidInsightSelectorsException")):
				t.Fatalf("got %v, want InvalidInsightSelectorsException saying %q", err, tc.says)
			}
		})
	}
}
