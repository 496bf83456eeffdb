package query

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/insights"
	"github.com/cairn-audit/cairn/internal/trail"
)

// DataInput is ListInsightsDataRequest.
type DataInput struct {
	InsightSource *string           `json:",omitempty"`
	DataType      *string           `json:",omitempty"`
	Dimensions    map[string]string `json:",omitempty"`
	StartTime     *awsproto.Time    `json:",omitempty"`
	EndTime       *awsproto.Time    `json:",omitempty"`
	MaxResults    *int              `json:",omitempty"`
	NextToken     *string           `json:",omitempty"`
}

// InsightsEvents is the model's only DataType of ListInsightsData.
const InsightsEvents = "InsightsEvents"

// sourceARNRE is the model's ResourceArn pattern.
var sourceARNRE = regexp.MustCompile(`^[a-zA-Z0-9._/\-:]+$`)

// dimensions are the model's dimension keys and the lookup attributes they
// are.
var dimensions = map[string]event.Attribute{
	"EventId":     event.AttrEventID,
	"EventName":   event.AttrEventName,
	"EventSource": event.AttrEventSource,
}

// Data answers ListInsightsData for account in region: the Insights events
// of event history that the trail InsightSource receives (those of the
// insight types its selectors name), newest first.
func (s *Service) Data(ctx context.Context, account, region string, in DataInput) (history.Output, error) {
	h, err := checkData(in)
	if err != nil {
		return history.Output{}, err
	}
	t, err := s.trails.GetTrail(ctx, trail.Caller{Account: account, Region: region}, *in.InsightSource)
	var ae *awsproto.Error
	if errors.As(err, &ae) && (ae.Code == awsproto.TrailNotFoundException || ae.Code == awsproto.InvalidTrailNameException ||
		ae.Code == awsproto.CloudTrailARNInvalidException) {
		return history.Output{}, invalid("InsightSource %s is not a trail of account %s in region %s.", *in.InsightSource, account, region)
	}
	if err != nil {
		return history.Output{}, err
	}
	if len(t.InsightSelectors) == 0 {
		return history.Output{}, awsproto.Errorf(awsproto.OperationNotPermittedException,
			"Trail %s does not have Insights enabled; enable them with PutInsightSelectors.", t.Name)
	}
	tag := dataTokenTag(account, region, t.ARN)
	if in.NextToken != nil {
		rest, ok := strings.CutPrefix(*in.NextToken, tag)
		if !ok {
			return history.Output{}, invalid("NextToken is not valid, or was issued for other parameters.")
		}
		h.NextToken = &rest
	}
	out, err := s.history.Lookup(ctx, account, region, h)
	if err != nil {
		// history's codes for the same mistakes are LookupEvents'.
		if errors.As(err, &ae) {
			return history.Output{}, invalid("%s", ae.Message)
		}
		return history.Output{}, err
	}
	types := map[string]bool{}
	for _, sel := range t.InsightSelectors {
		if sel.InsightType != nil {
			types[*sel.InsightType] = true
		}
	}
	kept := out.Events[:0]
	for _, e := range out.Events {
		if tr, ok := insights.ParseRecord([]byte(e.CloudTrailEvent)); ok && types[tr.Key.InsightType] {
			kept = append(kept, e)
		}
	}
	out.Events = kept
	if out.NextToken != nil {
		tok := tag + *out.NextToken
		out.NextToken = &tok
	}
	return out, nil
}

// checkData applies the model's rules and makes the history lookup.
func checkData(in DataInput) (history.Input, error) {
	h := history.Input{EventCategory: ptr("insight"), StartTime: in.StartTime, EndTime: in.EndTime, MaxResults: in.MaxResults}
	switch {
	case in.InsightSource == nil || *in.InsightSource == "":
		return h, invalid("InsightSource is required: the ARN of a trail.")
	case len(*in.InsightSource) < 3 || len(*in.InsightSource) > 256 || !sourceARNRE.MatchString(*in.InsightSource) || !trail.IsARN(*in.InsightSource):
		return h, invalid("InsightSource %q is not valid: it must be a trail's ARN.", *in.InsightSource)
	case in.DataType == nil:
		return h, invalid("DataType is required; its only valid value is InsightsEvents.")
	case *in.DataType != InsightsEvents:
		return h, invalid("DataType %q is not valid; its only valid value is InsightsEvents.", *in.DataType)
	case in.Dimensions != nil && len(in.Dimensions) != 1:
		return h, invalid("Dimensions holds exactly one dimension; got %d.", len(in.Dimensions))
	case in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 50):
		return h, invalid("MaxResults must be between 1 and 50; got %d.", *in.MaxResults)
	case in.NextToken != nil && (len(*in.NextToken) < 4 || len(*in.NextToken) > 1000):
		return h, invalid("NextToken must be 4 to 1000 characters long.")
	case in.StartTime != nil && in.EndTime != nil && in.StartTime.After(in.EndTime.Time):
		return h, invalid("StartTime must be before or equal to EndTime.")
	}
	for k, v := range in.Dimensions {
		attr, ok := dimensions[k]
		if !ok {
			return h, invalid("Dimension %q is not valid; valid dimensions are EventId, EventName and EventSource.", k)
		}
		if len(v) < 1 || len(v) > 2000 {
			return h, invalid("The value of dimension %s must be 1 to 2000 characters long.", k)
		}
		key, val := string(attr), v
		h.LookupAttributes = []history.LookupAttribute{{AttributeKey: &key, AttributeValue: &val}}
	}
	return h, nil
}

// dataTokenTag prefixes ListInsightsData's tokens: history's token is bound
// to the lookup's parameters, the tag to the trail asked about.
func dataTokenTag(account, region, arn string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "data\x00%s\x00%s\x00%s", account, region, arn))
	return hex.EncodeToString(sum[:6]) + "."
}

func ptr[T any](v T) *T { return &v }
