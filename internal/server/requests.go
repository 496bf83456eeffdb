package server

import "github.com/cairn-audit/cairn/internal/trail"

// The request shapes of the trail operations that the trail service does
// not take as they are (CreateTrail and UpdateTrail take
// trail.CreateTrailInput and trail.UpdateTrailInput). Members are optional
// as in the API model: a member left out is nil, and is left out when a
// typed call's request is recorded.

// NameInput is the request of the operations that name one trail by Name
// (DeleteTrail, GetTrail, GetTrailStatus, StartLogging, StopLogging).
type NameInput struct {
	Name *string `json:",omitempty"`
}

// DescribeTrailsInput is DescribeTrailsRequest.
type DescribeTrailsInput struct {
	TrailNameList       []string `json:"trailNameList,omitempty"`
	IncludeShadowTrails *bool    `json:"includeShadowTrails,omitempty"`
}

// ListTrailsInput is ListTrailsRequest.
type ListTrailsInput struct {
	NextToken *string `json:",omitempty"`
}

// PutEventSelectorsInput is PutEventSelectorsRequest.
type PutEventSelectorsInput struct {
	TrailName              *string                       `json:",omitempty"`
	EventSelectors         []trail.EventSelector         `json:",omitempty"`
	AdvancedEventSelectors []trail.AdvancedEventSelector `json:",omitempty"`
}

// GetEventSelectorsInput is GetEventSelectorsRequest.
type GetEventSelectorsInput struct {
	TrailName *string `json:",omitempty"`
}

// PutInsightSelectorsInput is PutInsightSelectorsRequest (for trails).
type PutInsightSelectorsInput struct {
	TrailName        *string                  `json:",omitempty"`
	InsightSelectors *[]trail.InsightSelector `json:",omitempty"`
	EventDataStore   *string                  `json:",omitempty"`
}

// GetInsightSelectorsInput is GetInsightSelectorsRequest (for trails).
type GetInsightSelectorsInput struct {
	TrailName      *string `json:",omitempty"`
	EventDataStore *string `json:",omitempty"`
}

// TagsInput is AddTagsRequest and RemoveTagsRequest.
type TagsInput struct {
	ResourceId *string     `json:",omitempty"`
	TagsList   []trail.Tag `json:",omitempty"`
}

// ListTagsInput is ListTagsRequest.
type ListTagsInput struct {
	ResourceIdList []string `json:",omitempty"`
	NextToken      *string  `json:",omitempty"`
}
