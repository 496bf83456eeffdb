package console

import (
	"context"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/server"
)

// The fake API's Insights: PutInsightSelectors is noted (and refused as
// fail says); GetInsightSelectors answers as for a trail without Insights.

func (f *fakeAPI) PutInsightSelectors(_ context.Context, who server.Caller, in server.PutInsightSelectorsInput) (server.InsightsOutput, error) {
	_, err := f.enter("PutInsightSelectors", who, in)
	return server.InsightsOutput{}, err
}

func (f *fakeAPI) GetInsightSelectors(_ context.Context, who server.Caller, in server.GetInsightSelectorsInput) (server.InsightsOutput, error) {
	if _, err := f.enter("GetInsightSelectors", who, in); err != nil {
		return server.InsightsOutput{}, err
	}
	return server.InsightsOutput{}, awsproto.Errorf(awsproto.InsightNotEnabledException, "Trail audit does not have Insights enabled.")
}
