package server

import (
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/trail"
)

// fullTrail has every member a response shows.
func fullTrail() *trail.Trail {
	return &trail.Trail{ID: "id-1", Account: "111111111111", HomeRegion: "us-east-1", Name: "main",
		ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/main", S3BucketName: "logs", S3KeyPrefix: "p",
		SnsTopicName: "alerts", SnsTopicARN: "arn:aws:sns:us-east-1:111111111111:alerts", IncludeGlobalServiceEvents: true,
		IsMultiRegionTrail: true, LogFileValidationEnabled: true,
		CloudWatchLogsLogGroupArn: "arn:aws:logs:us-east-1:111111111111:log-group:g:*", CloudWatchLogsRoleArn: "arn:aws:iam::111111111111:role/R",
		KmsKeyId: "arn:aws:kms:us-east-1:111111111111:key/k", IsOrganizationTrail: true, OrganizationID: "o-a1b2c3d4e5",
		InsightSelectors: []trail.InsightSelector{{InsightType: ptrTo("ApiCallRateInsight"), EventCategories: []string{"Management"}}},
		Tags:             []trail.Tag{{Key: ptrTo("team"), Value: ptrTo("sec")}, {Key: ptrTo("bare")}},
		IsLogging:        true, StartSeq: 7, LoggingEpoch: 1,
		StartLoggingTime: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), StopLoggingTime: time.Date(2026, 11, 26, 8, 0, 0, 500e6, time.UTC)}
}

// The trail shapes: every member in the model's order and spelling, empty
// ones left out where the model's answers leave them out; nothing of what
// Cairn keeps for itself (ID, account, organization id, positions).
func TestTrailShapes(t *testing.T) {
	full, bare := fullTrail(), &trail.Trail{Name: "b", HomeRegion: "eu-west-1", ARN: "arn:aws:cloudtrail:eu-west-1:222222222222:trail/b"}
	for _, c := range []struct {
		name string
		got  any
		want string
	}{
		{"TrailOutput", trailOutput(full), `{"Name":"main","S3BucketName":"logs","S3KeyPrefix":"p","SnsTopicName":"alerts",` +
			`"SnsTopicARN":"arn:aws:sns:us-east-1:111111111111:alerts","IncludeGlobalServiceEvents":true,"IsMultiRegionTrail":true,` +
			`"TrailARN":"arn:aws:cloudtrail:us-east-1:111111111111:trail/main","LogFileValidationEnabled":true,` +
			`"CloudWatchLogsLogGroupArn":"arn:aws:logs:us-east-1:111111111111:log-group:g:*","CloudWatchLogsRoleArn":"arn:aws:iam::111111111111:role/R",` +
			`"KmsKeyId":"arn:aws:kms:us-east-1:111111111111:key/k","IsOrganizationTrail":true}`},
		{"TrailOutput bare", trailOutput(bare), `{"Name":"b","S3BucketName":"","IncludeGlobalServiceEvents":false,"IsMultiRegionTrail":false,` +
			`"TrailARN":"arn:aws:cloudtrail:eu-west-1:222222222222:trail/b","LogFileValidationEnabled":false,"IsOrganizationTrail":false}`},
		{"TrailShape", trailShape(full), `{"Name":"main","S3BucketName":"logs","S3KeyPrefix":"p","SnsTopicName":"alerts",` +
			`"SnsTopicARN":"arn:aws:sns:us-east-1:111111111111:alerts","IncludeGlobalServiceEvents":true,"IsMultiRegionTrail":true,` +
			`"HomeRegion":"us-east-1","TrailARN":"arn:aws:cloudtrail:us-east-1:111111111111:trail/main","LogFileValidationEnabled":true,` +
			`"CloudWatchLogsLogGroupArn":"arn:aws:logs:us-east-1:111111111111:log-group:g:*","CloudWatchLogsRoleArn":"arn:aws:iam::111111111111:role/R",` +
			`"KmsKeyId":"arn:aws:kms:us-east-1:111111111111:key/k","HasCustomEventSelectors":false,"HasInsightSelectors":true,"IsOrganizationTrail":true}`},
		{"TrailShape bare", trailShape(bare), `{"Name":"b","IncludeGlobalServiceEvents":false,"IsMultiRegionTrail":false,"HomeRegion":"eu-west-1",` +
			`"TrailARN":"arn:aws:cloudtrail:eu-west-1:222222222222:trail/b","LogFileValidationEnabled":false,"HasCustomEventSelectors":false,` +
			`"HasInsightSelectors":false,"IsOrganizationTrail":false}`},
		{"GetTrail", GetTrailOutput{Trail: trailShape(bare)}, `{"Trail":` + jsonOf(t, trailShape(bare)) + `}`},
		{"DescribeTrails", describeTrailsOutput([]*trail.Trail{bare}), `{"trailList":[` + jsonOf(t, trailShape(bare)) + `]}`},
		{"DescribeTrails none", describeTrailsOutput(nil), `{"trailList":[]}`},
		{"ListTrails", listTrailsOutput([]*trail.Trail{full, bare}, ptrTo("next")),
			`{"Trails":[{"TrailARN":"arn:aws:cloudtrail:us-east-1:111111111111:trail/main","Name":"main","HomeRegion":"us-east-1"},` +
				`{"TrailARN":"arn:aws:cloudtrail:eu-west-1:222222222222:trail/b","Name":"b","HomeRegion":"eu-west-1"}],"NextToken":"next"}`},
		{"ListTrails none", listTrailsOutput(nil, nil), `{"Trails":[]}`},
		{"ListTags", listTagsOutput([]*trail.Trail{full, bare}),
			`{"ResourceTagList":[{"ResourceId":"arn:aws:cloudtrail:us-east-1:111111111111:trail/main","TagsList":[{"Key":"team","Value":"sec"},{"Key":"bare"}]},` +
				`{"ResourceId":"arn:aws:cloudtrail:eu-west-1:222222222222:trail/b","TagsList":[]}]}`},
		{"InsightSelectors", insightsOutput(full), `{"TrailARN":"arn:aws:cloudtrail:us-east-1:111111111111:trail/main",` +
			`"InsightSelectors":[{"InsightType":"ApiCallRateInsight","EventCategories":["Management"]}]}`},
		{"InsightSelectors none", insightsOutput(bare), `{"TrailARN":"arn:aws:cloudtrail:eu-west-1:222222222222:trail/b","InsightSelectors":[]}`},
		{"empty", empty{}, `{}`},
	} {
		if got := jsonOf(t, c.got); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// The selectors in effect: the default basic selector until any are put,
// basic ones normalized (every member shown, as CloudTrail answers), advanced
// ones as put (and no basic ones beside).
func TestSelectorsOutput(t *testing.T) {
	arn := "arn:aws:cloudtrail:us-east-1:111111111111:trail/main"
	adv := []trail.AdvancedEventSelector{{Name: ptrTo("mgmt"), FieldSelectors: []trail.AdvancedFieldSelector{{Field: ptrTo("eventCategory"), Equals: []string{"Management"}}}}}
	for _, c := range []struct {
		name string
		t    *trail.Trail
		want string
	}{
		{"default", &trail.Trail{ARN: arn},
			`{"TrailARN":"` + arn + `","EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true,"DataResources":[],"ExcludeManagementEventSources":[]}]}`},
		{"basic", &trail.Trail{ARN: arn, EventSelectors: []trail.EventSelector{{ReadWriteType: ptrTo("WriteOnly")}}},
			`{"TrailARN":"` + arn + `","EventSelectors":[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":true,"DataResources":[],"ExcludeManagementEventSources":[]}]}`},
		{"advanced", &trail.Trail{ARN: arn, AdvancedEventSelectors: adv},
			`{"TrailARN":"` + arn + `","AdvancedEventSelectors":[{"Name":"mgmt","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]}]}`},
	} {
		if got := jsonOf(t, selectorsOutput(c.t)); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

// GetTrailStatus: the trail's logging times in epoch seconds and, in the
// legacy members, ISO 8601 to the second; what delivery reports beside; an
// attempt's success only once there was an attempt; nothing known, nothing
// shown.
func TestStatusOutput(t *testing.T) {
	delivered := time.Date(2026, 11, 26, 10, 1, 0, 0, time.UTC)
	d := trail.DeliveryStatus{LatestDeliveryTime: delivered, LatestDeliveryAttemptTime: delivered.Add(time.Minute),
		LatestDeliveryError: "AccessDenied: no", LatestDigestDeliveryTime: delivered, LatestDigestDeliveryError: "AccessDenied",
		LatestNotificationAttemptTime: delivered, LatestNotificationError: "HTTP 500",
		LatestCloudWatchLogsDeliveryTime: delivered, LatestCloudWatchLogsDeliveryError: "refused"}
	for _, c := range []struct {
		name string
		t    *trail.Trail
		d    trail.DeliveryStatus
		want string
	}{
		{"new", &trail.Trail{}, trail.DeliveryStatus{}, `{"IsLogging":false,"LatestDeliveryAttemptTime":"","LatestNotificationAttemptTime":"",` +
			`"LatestNotificationAttemptSucceeded":"","LatestDeliveryAttemptSucceeded":"","TimeLoggingStarted":"","TimeLoggingStopped":""}`},
		{"reported", fullTrail(), d, `{"IsLogging":true,"LatestDeliveryError":"AccessDenied: no","LatestNotificationError":"HTTP 500",` +
			`"LatestDeliveryTime":1795687260.0,"StartLoggingTime":1795683600.0,"StopLoggingTime":1795680000.500,` +
			`"LatestCloudWatchLogsDeliveryError":"refused","LatestCloudWatchLogsDeliveryTime":1795687260.0,` +
			`"LatestDigestDeliveryTime":1795687260.0,"LatestDigestDeliveryError":"AccessDenied",` +
			`"LatestDeliveryAttemptTime":"2026-11-26T10:02:00Z","LatestNotificationAttemptTime":"2026-11-26T10:01:00Z",` +
			`"LatestNotificationAttemptSucceeded":"","LatestDeliveryAttemptSucceeded":"2026-11-26T10:01:00Z",` +
			`"TimeLoggingStarted":"2026-11-26T09:00:00Z","TimeLoggingStopped":"2026-11-26T08:00:00Z"}`},
	} {
		if got := jsonOf(t, statusOutput(c.t, c.d)); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}
