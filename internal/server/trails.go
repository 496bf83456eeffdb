package server

import (
	"context"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/trail"
)

// trailOps are the trail control plane's operations.
func (s *Server) trailOps() map[string]operation {
	return map[string]operation{
		"CreateTrail":         {handle: s.createTrail},
		"UpdateTrail":         {handle: s.updateTrail},
		"DeleteTrail":         {handle: s.deleteTrail},
		"GetTrail":            {readOnly: true, handle: s.getTrail},
		"DescribeTrails":      {readOnly: true, handle: s.describeTrails},
		"ListTrails":          {readOnly: true, handle: s.listTrails},
		"GetTrailStatus":      {readOnly: true, handle: s.getTrailStatus},
		"StartLogging":        {handle: s.startLogging},
		"StopLogging":         {handle: s.stopLogging},
		"PutEventSelectors":   {handle: s.putEventSelectors},
		"GetEventSelectors":   {readOnly: true, handle: s.getEventSelectors},
		"PutInsightSelectors": {handle: s.putInsightSelectors},
		"GetInsightSelectors": {readOnly: true, handle: s.getInsightSelectors},
		"AddTags":             {handle: s.changeTags(s.opts.Trails.AddTags)},
		"RemoveTags":          {handle: s.changeTags(s.opts.Trails.RemoveTags)},
		"ListTags":            {readOnly: true, handle: s.listTags},
	}
}

func caller(c *call) trail.Caller {
	return trail.Caller{Account: c.principal.Account, Region: c.region}
}

// decode reads the request into a new T.
func decode[T any](c *call) (T, error) {
	var in T
	err := awsproto.Decode(c.body, &in)
	return in, err
}

// about names the trail a call was about, for its audit record.
func (c *call) about(arn string) {
	if arn != "" {
		c.resources = []event.Resource{{ARN: arn, Type: "AWS::CloudTrail::Trail"}}
	}
}

type nameInput struct{ Name *string }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

type empty struct{}

func (s *Server) createTrail(ctx context.Context, c *call) (any, error) {
	in, err := decode[trail.CreateTrailInput](c)
	if err != nil {
		return nil, err
	}
	out, err := s.opts.Trails.CreateTrail(ctx, caller(c), in)
	c.about(out.TrailARN)
	return out, err
}

func (s *Server) updateTrail(ctx context.Context, c *call) (any, error) {
	in, err := decode[trail.UpdateTrailInput](c)
	if err != nil {
		return nil, err
	}
	out, err := s.opts.Trails.UpdateTrail(ctx, caller(c), in)
	c.about(out.TrailARN)
	return out, err
}

func (s *Server) deleteTrail(ctx context.Context, c *call) (any, error) {
	in, err := decode[nameInput](c)
	if err != nil {
		return nil, err
	}
	t, err := s.opts.Trails.DeleteTrail(ctx, caller(c), str(in.Name))
	if err != nil {
		return nil, err
	}
	c.about(t.ARN)
	return empty{}, nil
}

func (s *Server) getTrail(ctx context.Context, c *call) (any, error) {
	in, err := decode[nameInput](c)
	if err != nil {
		return nil, err
	}
	t, err := s.opts.Trails.GetTrail(ctx, caller(c), str(in.Name))
	if err != nil {
		return nil, err
	}
	c.about(t.TrailARN)
	return struct{ Trail trail.Shape }{t}, nil
}

func (s *Server) describeTrails(ctx context.Context, c *call) (any, error) {
	in, err := decode[struct {
		TrailNameList       []string `json:"trailNameList"`
		IncludeShadowTrails *bool    `json:"includeShadowTrails"`
	}](c)
	if err != nil {
		return nil, err
	}
	list, err := s.opts.Trails.DescribeTrails(ctx, caller(c), in.TrailNameList, in.IncludeShadowTrails)
	if err != nil {
		return nil, err
	}
	return struct {
		TrailList []trail.Shape `json:"trailList"`
	}{list}, nil
}

func (s *Server) listTrails(ctx context.Context, c *call) (any, error) {
	in, err := decode[struct{ NextToken *string }](c)
	if err != nil {
		return nil, err
	}
	list, next, err := s.opts.Trails.ListTrails(ctx, caller(c), in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		Trails    []trail.TrailInfo
		NextToken *string `json:",omitempty"`
	}{list, next}, nil
}

func (s *Server) getTrailStatus(ctx context.Context, c *call) (any, error) {
	in, err := decode[nameInput](c)
	if err != nil {
		return nil, err
	}
	return s.opts.Trails.GetTrailStatus(ctx, caller(c), str(in.Name))
}

func (s *Server) startLogging(ctx context.Context, c *call) (any, error) {
	return s.setLogging(ctx, c, true)
}
func (s *Server) stopLogging(ctx context.Context, c *call) (any, error) {
	return s.setLogging(ctx, c, false)
}

func (s *Server) setLogging(ctx context.Context, c *call, on bool) (any, error) {
	in, err := decode[nameInput](c)
	if err != nil {
		return nil, err
	}
	t, err := s.opts.Trails.SetLogging(ctx, caller(c), str(in.Name), on)
	if err != nil {
		return nil, err
	}
	c.about(t.ARN)
	return empty{}, nil
}

func (s *Server) putEventSelectors(ctx context.Context, c *call) (any, error) {
	in, err := decode[struct {
		TrailName              *string
		EventSelectors         []trail.EventSelector
		AdvancedEventSelectors []trail.AdvancedEventSelector
	}](c)
	if err != nil {
		return nil, err
	}
	out, t, err := s.opts.Trails.PutEventSelectors(ctx, caller(c), str(in.TrailName), in.EventSelectors, in.AdvancedEventSelectors)
	if err != nil {
		return nil, err
	}
	c.about(t.ARN)
	return out, nil
}

func (s *Server) getEventSelectors(ctx context.Context, c *call) (any, error) {
	in, err := decode[struct{ TrailName *string }](c)
	if err != nil {
		return nil, err
	}
	out, err := s.opts.Trails.GetEventSelectors(ctx, caller(c), str(in.TrailName))
	c.about(out.TrailARN)
	return out, err
}

func (s *Server) putInsightSelectors(ctx context.Context, c *call) (any, error) {
	in, err := decode[struct {
		TrailName        *string
		InsightSelectors *[]trail.InsightSelector
		EventDataStore   *string
	}](c)
	if err != nil {
		return nil, err
	}
	if in.EventDataStore != nil {
		return nil, awsproto.Errorf(awsproto.UnsupportedOperationException, "Cairn has no event data stores; name a trail with TrailName.")
	}
	if in.InsightSelectors == nil {
		return nil, awsproto.Errorf(awsproto.InvalidParameterException, "InsightSelectors is required.")
	}
	out, t, err := s.opts.Trails.PutInsightSelectors(ctx, caller(c), str(in.TrailName), *in.InsightSelectors)
	if err != nil {
		return nil, err
	}
	c.about(t.ARN)
	return out, nil
}

func (s *Server) getInsightSelectors(ctx context.Context, c *call) (any, error) {
	in, err := decode[struct {
		TrailName      *string
		EventDataStore *string
	}](c)
	if err != nil {
		return nil, err
	}
	if in.EventDataStore != nil {
		return nil, awsproto.Errorf(awsproto.UnsupportedOperationException, "Cairn has no event data stores; name a trail with TrailName.")
	}
	out, err := s.opts.Trails.GetInsightSelectors(ctx, caller(c), str(in.TrailName))
	c.about(out.TrailARN)
	return out, err
}

type tagsInput struct {
	ResourceId *string
	TagsList   []trail.Tag
}

// tagChange is AddTags or RemoveTags of the trail service.
type tagChange func(ctx context.Context, c trail.Caller, id string, tags []trail.Tag) (*trail.Trail, error)

// changeTags handles AddTags and RemoveTags, which share their shapes.
func (s *Server) changeTags(change tagChange) func(ctx context.Context, c *call) (any, error) {
	return func(ctx context.Context, c *call) (any, error) {
		in, err := decode[tagsInput](c)
		if err != nil {
			return nil, err
		}
		t, err := change(ctx, caller(c), str(in.ResourceId), in.TagsList)
		if err != nil {
			return nil, err
		}
		c.about(t.ARN)
		return empty{}, nil
	}
}

func (s *Server) listTags(ctx context.Context, c *call) (any, error) {
	in, err := decode[struct {
		ResourceIdList []string
		NextToken      *string
	}](c)
	if err != nil {
		return nil, err
	}
	list, err := s.opts.Trails.ListTags(ctx, caller(c), in.ResourceIdList)
	if err != nil {
		return nil, err
	}
	return struct{ ResourceTagList []trail.ResourceTag }{list}, nil
}
