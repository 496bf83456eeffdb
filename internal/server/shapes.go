package server

import (
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/trail"
)

// The response shapes of the trail operations, as the CloudTrail API model
// names and orders their members, and the mapping from the trail service's
// domain types to them. The request shapes are in requests.go.

// TrailOutput is CreateTrailResponse and UpdateTrailResponse.
type TrailOutput struct {
	Name                       string
	S3BucketName               string
	S3KeyPrefix                string `json:",omitempty"`
	SnsTopicName               string `json:",omitempty"`
	SnsTopicARN                string `json:",omitempty"`
	IncludeGlobalServiceEvents bool
	IsMultiRegionTrail         bool
	TrailARN                   string
	LogFileValidationEnabled   bool
	CloudWatchLogsLogGroupArn  string `json:",omitempty"`
	CloudWatchLogsRoleArn      string `json:",omitempty"`
	KmsKeyId                   string `json:",omitempty"`
	IsOrganizationTrail        bool
}

// trailOutput is t's CreateTrail or UpdateTrail answer.
func trailOutput(t *trail.Trail) TrailOutput {
	return TrailOutput{Name: t.Name, S3BucketName: t.S3BucketName, S3KeyPrefix: t.S3KeyPrefix,
		SnsTopicName: t.SnsTopicName, SnsTopicARN: t.SnsTopicARN, IncludeGlobalServiceEvents: t.IncludeGlobalServiceEvents,
		IsMultiRegionTrail: t.IsMultiRegionTrail, TrailARN: t.ARN, LogFileValidationEnabled: t.LogFileValidationEnabled,
		CloudWatchLogsLogGroupArn: t.CloudWatchLogsLogGroupArn, CloudWatchLogsRoleArn: t.CloudWatchLogsRoleArn,
		KmsKeyId: t.KmsKeyId, IsOrganizationTrail: t.IsOrganizationTrail}
}

// TrailShape is the model's Trail shape (GetTrail, DescribeTrails).
type TrailShape struct {
	Name                       string
	S3BucketName               string `json:",omitempty"`
	S3KeyPrefix                string `json:",omitempty"`
	SnsTopicName               string `json:",omitempty"`
	SnsTopicARN                string `json:",omitempty"`
	IncludeGlobalServiceEvents bool
	IsMultiRegionTrail         bool
	HomeRegion                 string
	TrailARN                   string
	LogFileValidationEnabled   bool
	CloudWatchLogsLogGroupArn  string `json:",omitempty"`
	CloudWatchLogsRoleArn      string `json:",omitempty"`
	KmsKeyId                   string `json:",omitempty"`
	HasCustomEventSelectors    bool
	HasInsightSelectors        bool
	IsOrganizationTrail        bool
}

// trailShape is t as GetTrail and DescribeTrails show it.
func trailShape(t *trail.Trail) TrailShape {
	o := trailOutput(t)
	return TrailShape{Name: o.Name, S3BucketName: o.S3BucketName, S3KeyPrefix: o.S3KeyPrefix, SnsTopicName: o.SnsTopicName,
		SnsTopicARN: o.SnsTopicARN, IncludeGlobalServiceEvents: o.IncludeGlobalServiceEvents, IsMultiRegionTrail: o.IsMultiRegionTrail,
		HomeRegion: t.HomeRegion, TrailARN: o.TrailARN, LogFileValidationEnabled: o.LogFileValidationEnabled,
		CloudWatchLogsLogGroupArn: o.CloudWatchLogsLogGroupArn, CloudWatchLogsRoleArn: o.CloudWatchLogsRoleArn,
		KmsKeyId: o.KmsKeyId, HasCustomEventSelectors: t.HasCustomSelectors(), HasInsightSelectors: len(t.InsightSelectors) > 0,
		IsOrganizationTrail: o.IsOrganizationTrail}
}

// GetTrailOutput is GetTrailResponse.
type GetTrailOutput struct{ Trail TrailShape }

// DescribeTrailsOutput is DescribeTrailsResponse.
type DescribeTrailsOutput struct {
	TrailList []TrailShape `json:"trailList"`
}

// describeTrailsOutput lists ts ([] when there are none).
func describeTrailsOutput(ts []*trail.Trail) DescribeTrailsOutput {
	out := DescribeTrailsOutput{TrailList: make([]TrailShape, 0, len(ts))}
	for _, t := range ts {
		out.TrailList = append(out.TrailList, trailShape(t))
	}
	return out
}

// TrailInfo is one entry of ListTrails.
type TrailInfo struct {
	TrailARN   string
	Name       string
	HomeRegion string
}

// ListTrailsOutput is ListTrailsResponse.
type ListTrailsOutput struct {
	Trails    []TrailInfo
	NextToken *string `json:",omitempty"`
}

// listTrailsOutput is a page of trails ([] when there are none) and the
// next page's token.
func listTrailsOutput(page []*trail.Trail, next *string) ListTrailsOutput {
	out := ListTrailsOutput{Trails: make([]TrailInfo, 0, len(page)), NextToken: next}
	for _, t := range page {
		out.Trails = append(out.Trails, TrailInfo{TrailARN: t.ARN, Name: t.Name, HomeRegion: t.HomeRegion})
	}
	return out
}

// StatusOutput is GetTrailStatusResponse.
type StatusOutput struct {
	IsLogging                          bool
	LatestDeliveryError                string         `json:",omitempty"`
	LatestNotificationError            string         `json:",omitempty"`
	LatestDeliveryTime                 *awsproto.Time `json:",omitempty"`
	LatestNotificationTime             *awsproto.Time `json:",omitempty"`
	StartLoggingTime                   *awsproto.Time `json:",omitempty"`
	StopLoggingTime                    *awsproto.Time `json:",omitempty"`
	LatestCloudWatchLogsDeliveryError  string         `json:",omitempty"`
	LatestCloudWatchLogsDeliveryTime   *awsproto.Time `json:",omitempty"`
	LatestDigestDeliveryTime           *awsproto.Time `json:",omitempty"`
	LatestDigestDeliveryError          string         `json:",omitempty"`
	LatestDeliveryAttemptTime          string
	LatestNotificationAttemptTime      string
	LatestNotificationAttemptSucceeded string
	LatestDeliveryAttemptSucceeded     string
	TimeLoggingStarted                 string
	TimeLoggingStopped                 string
}

// statusOutput is t's logging state with what delivery reports of it (the
// zero DeliveryStatus when nothing is known): times are epoch seconds, and
// the legacy members ISO 8601 strings, empty for a time that never was.
func statusOutput(t *trail.Trail, d trail.DeliveryStatus) StatusOutput {
	out := StatusOutput{IsLogging: t.IsLogging, StartLoggingTime: awsproto.NewTime(t.StartLoggingTime),
		StopLoggingTime: awsproto.NewTime(t.StopLoggingTime), TimeLoggingStarted: isoOrEmpty(t.StartLoggingTime),
		TimeLoggingStopped: isoOrEmpty(t.StopLoggingTime)}
	out.LatestDeliveryTime = awsproto.NewTime(d.LatestDeliveryTime)
	out.LatestDeliveryError = d.LatestDeliveryError
	out.LatestNotificationTime = awsproto.NewTime(d.LatestNotificationTime)
	out.LatestNotificationError = d.LatestNotificationError
	out.LatestDigestDeliveryTime = awsproto.NewTime(d.LatestDigestDeliveryTime)
	out.LatestDigestDeliveryError = d.LatestDigestDeliveryError
	out.LatestCloudWatchLogsDeliveryTime = awsproto.NewTime(d.LatestCloudWatchLogsDeliveryTime)
	out.LatestCloudWatchLogsDeliveryError = d.LatestCloudWatchLogsDeliveryError
	out.LatestDeliveryAttemptTime = isoOrEmpty(d.LatestDeliveryAttemptTime)
	out.LatestNotificationAttemptTime = isoOrEmpty(d.LatestNotificationAttemptTime)
	if !d.LatestDeliveryAttemptTime.IsZero() {
		out.LatestDeliveryAttemptSucceeded = isoOrEmpty(d.LatestDeliveryTime)
	}
	if !d.LatestNotificationAttemptTime.IsZero() {
		out.LatestNotificationAttemptSucceeded = isoOrEmpty(d.LatestNotificationTime)
	}
	return out
}

// isoOrEmpty is t in ISO 8601 to the second, or "" for the zero time.
func isoOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// SelectorsOutput is PutEventSelectorsResponse and GetEventSelectorsResponse.
type SelectorsOutput struct {
	TrailARN               string
	EventSelectors         []trail.EventSelector         `json:",omitempty"`
	AdvancedEventSelectors []trail.AdvancedEventSelector `json:",omitempty"`
}

// selectorsOutput is the selectors in effect of t (Trail.Selectors).
func selectorsOutput(t *trail.Trail) SelectorsOutput {
	basic, advanced := t.Selectors()
	return SelectorsOutput{TrailARN: t.ARN, EventSelectors: basic, AdvancedEventSelectors: advanced}
}

// InsightsOutput is Put/GetInsightSelectorsResponse.
type InsightsOutput struct {
	TrailARN         string
	InsightSelectors []trail.InsightSelector
}

// insightsOutput is t's insight selectors ([] when there are none).
func insightsOutput(t *trail.Trail) InsightsOutput {
	return InsightsOutput{TrailARN: t.ARN, InsightSelectors: append([]trail.InsightSelector{}, t.InsightSelectors...)}
}

// ResourceTag is one entry of ListTags.
type ResourceTag struct {
	ResourceId string
	TagsList   []trail.Tag
}

// ListTagsOutput is ListTagsResponse.
type ListTagsOutput struct{ ResourceTagList []ResourceTag }

// listTagsOutput is the tags of ts, in their order ([] for a trail without
// tags).
func listTagsOutput(ts []*trail.Trail) ListTagsOutput {
	out := ListTagsOutput{ResourceTagList: make([]ResourceTag, 0, len(ts))}
	for _, t := range ts {
		out.ResourceTagList = append(out.ResourceTagList, ResourceTag{ResourceId: t.ARN, TagsList: append([]trail.Tag{}, t.Tags...)})
	}
	return out
}

// empty is the answer of operations that answer nothing: {}.
type empty struct{}
