package server

import (
	"context"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/lake"
	"github.com/cairn-audit/cairn/internal/trail"
)

// trailOps are the trail control plane's operations.
func (s *Server) trailOps() map[string]operation {
	return map[string]operation{
		"CreateTrail":         write(s.createTrail),
		"UpdateTrail":         write(s.updateTrail),
		"DeleteTrail":         write(s.deleteTrail),
		"GetTrail":            read(s.getTrail),
		"DescribeTrails":      read(s.describeTrails),
		"ListTrails":          read(s.listTrails),
		"GetTrailStatus":      read(s.getTrailStatus),
		"StartLogging":        write(s.startLogging),
		"StopLogging":         write(s.stopLogging),
		"PutEventSelectors":   write(s.putEventSelectors),
		"GetEventSelectors":   read(s.getEventSelectors),
		"PutInsightSelectors": write(s.putInsightSelectors),
		"GetInsightSelectors": read(s.getInsightSelectors),
		"AddTags":             write(s.changeTags(s.opts.Trails.AddTags, s.lakeTags(true))),
		"RemoveTags":          write(s.changeTags(s.opts.Trails.RemoveTags, s.lakeTags(false))),
		"ListTags":            read(s.listTags),
	}
}

func caller(c *call) trail.Caller {
	return trail.Caller{Account: c.principal.Account, Region: c.region}
}

// about names the trail a call was about, for its audit record.
func (c *call) about(arn string) {
	if arn != "" {
		c.resources = []event.Resource{{ARN: arn, Type: "AWS::CloudTrail::Trail"}}
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) createTrail(ctx context.Context, c *call, in trail.CreateTrailInput) (TrailOutput, error) {
	t, err := s.opts.Trails.CreateTrail(ctx, caller(c), in)
	if err != nil {
		return TrailOutput{}, err
	}
	c.about(t.ARN)
	return trailOutput(t), nil
}

func (s *Server) updateTrail(ctx context.Context, c *call, in trail.UpdateTrailInput) (TrailOutput, error) {
	t, err := s.opts.Trails.UpdateTrail(ctx, caller(c), in)
	if err != nil {
		return TrailOutput{}, err
	}
	c.about(t.ARN)
	return trailOutput(t), nil
}

func (s *Server) deleteTrail(ctx context.Context, c *call, in NameInput) (empty, error) {
	t, err := s.opts.Trails.DeleteTrail(ctx, caller(c), str(in.Name))
	if err != nil {
		return empty{}, err
	}
	c.about(t.ARN)
	return empty{}, nil
}

func (s *Server) getTrail(ctx context.Context, c *call, in NameInput) (GetTrailOutput, error) {
	t, err := s.opts.Trails.GetTrail(ctx, caller(c), str(in.Name))
	if err != nil {
		return GetTrailOutput{}, err
	}
	c.about(t.ARN)
	return GetTrailOutput{Trail: trailShape(t)}, nil
}

func (s *Server) describeTrails(ctx context.Context, c *call, in DescribeTrailsInput) (DescribeTrailsOutput, error) {
	list, err := s.opts.Trails.DescribeTrails(ctx, caller(c), in.TrailNameList, in.IncludeShadowTrails)
	if err != nil {
		return DescribeTrailsOutput{}, err
	}
	return describeTrailsOutput(list), nil
}

func (s *Server) listTrails(ctx context.Context, c *call, in ListTrailsInput) (ListTrailsOutput, error) {
	page, next, err := s.opts.Trails.ListTrails(ctx, caller(c), in.NextToken)
	if err != nil {
		return ListTrailsOutput{}, err
	}
	return listTrailsOutput(page, next), nil
}

// getTrailStatus answers the trail's logging state with what delivery
// reports of it in the caller's region.
func (s *Server) getTrailStatus(ctx context.Context, c *call, in NameInput) (StatusOutput, error) {
	t, err := s.opts.Trails.GetTrailStatus(ctx, caller(c), str(in.Name))
	if err != nil {
		return StatusOutput{}, err
	}
	var d trail.DeliveryStatus
	if s.opts.Status != nil {
		if d, err = s.opts.Status.DeliveryStatus(ctx, t, c.region); err != nil {
			return StatusOutput{}, err
		}
	}
	return statusOutput(t, d), nil
}

func (s *Server) startLogging(ctx context.Context, c *call, in NameInput) (empty, error) {
	return s.setLogging(ctx, c, in, true)
}

func (s *Server) stopLogging(ctx context.Context, c *call, in NameInput) (empty, error) {
	return s.setLogging(ctx, c, in, false)
}

func (s *Server) setLogging(ctx context.Context, c *call, in NameInput, on bool) (empty, error) {
	t, err := s.opts.Trails.SetLogging(ctx, caller(c), str(in.Name), on)
	if err != nil {
		return empty{}, err
	}
	c.about(t.ARN)
	return empty{}, nil
}

func (s *Server) putEventSelectors(ctx context.Context, c *call, in PutEventSelectorsInput) (SelectorsOutput, error) {
	t, err := s.opts.Trails.PutEventSelectors(ctx, caller(c), str(in.TrailName), in.EventSelectors, in.AdvancedEventSelectors)
	if err != nil {
		return SelectorsOutput{}, err
	}
	c.about(t.ARN)
	return selectorsOutput(t), nil
}

func (s *Server) getEventSelectors(ctx context.Context, c *call, in GetEventSelectorsInput) (SelectorsOutput, error) {
	t, err := s.opts.Trails.GetEventSelectors(ctx, caller(c), str(in.TrailName))
	if err != nil {
		return SelectorsOutput{}, err
	}
	c.about(t.ARN)
	return selectorsOutput(t), nil
}

func (s *Server) putInsightSelectors(ctx context.Context, c *call, in PutInsightSelectorsInput) (InsightsOutput, error) {
	if in.EventDataStore != nil {
		return InsightsOutput{}, awsproto.Errorf(awsproto.UnsupportedOperationException, "Cairn has no event data stores; name a trail with TrailName.")
	}
	if in.InsightSelectors == nil {
		return InsightsOutput{}, awsproto.Errorf(awsproto.InvalidParameterException, "InsightSelectors is required.")
	}
	t, err := s.opts.Trails.PutInsightSelectors(ctx, caller(c), str(in.TrailName), *in.InsightSelectors)
	if err != nil {
		return InsightsOutput{}, err
	}
	c.about(t.ARN)
	return insightsOutput(t), nil
}

func (s *Server) getInsightSelectors(ctx context.Context, c *call, in GetInsightSelectorsInput) (InsightsOutput, error) {
	if in.EventDataStore != nil {
		return InsightsOutput{}, awsproto.Errorf(awsproto.UnsupportedOperationException, "Cairn has no event data stores; name a trail with TrailName.")
	}
	t, err := s.opts.Trails.GetInsightSelectors(ctx, caller(c), str(in.TrailName))
	if err != nil {
		return InsightsOutput{}, err
	}
	c.about(t.ARN)
	return insightsOutput(t), nil
}

// tagChange is AddTags or RemoveTags of the trail service.
type tagChange func(ctx context.Context, c trail.Caller, id string, tags []trail.Tag) (*trail.Trail, error)

// changeTags handles AddTags and RemoveTags, which share their shapes.
func (s *Server) changeTags(change tagChange, lakeChange lakeTagChange) handler[TagsInput, empty] {
	return func(ctx context.Context, c *call, in TagsInput) (empty, error) {
		if s.opts.Lake != nil && lake.IsStoreARN(str(in.ResourceId)) {
			d, err := lakeChange(ctx, lakeCaller(c), str(in.ResourceId), in.TagsList)
			if err != nil {
				return empty{}, err
			}
			c.aboutStore(d.ARN)
			return empty{}, nil
		}
		t, err := change(ctx, caller(c), str(in.ResourceId), in.TagsList)
		if err != nil {
			return empty{}, err
		}
		c.about(t.ARN)
		return empty{}, nil
	}
}

// listTags answers the tags of trails and event data stores, in the
// order of the list.
func (s *Server) listTags(ctx context.Context, c *call, in ListTagsInput) (ListTagsOutput, error) {
	var trailIDs []string
	for _, id := range in.ResourceIdList {
		if s.opts.Lake == nil || !lake.IsStoreARN(id) {
			trailIDs = append(trailIDs, id)
		}
	}
	if len(trailIDs) == len(in.ResourceIdList) {
		list, err := s.opts.Trails.ListTags(ctx, caller(c), in.ResourceIdList)
		if err != nil {
			return ListTagsOutput{}, err
		}
		return listTagsOutput(list), nil
	}
	if len(in.ResourceIdList) > 20 {
		return ListTagsOutput{}, awsproto.Errorf(awsproto.InvalidParameterException, "ResourceIdList must name 1 to 20 resources; got %d.", len(in.ResourceIdList))
	}
	var trails []*trail.Trail
	if len(trailIDs) > 0 {
		var err error
		if trails, err = s.opts.Trails.ListTags(ctx, caller(c), trailIDs); err != nil {
			return ListTagsOutput{}, err
		}
	}
	out := ListTagsOutput{ResourceTagList: make([]ResourceTag, 0, len(in.ResourceIdList))}
	for _, id := range in.ResourceIdList {
		if !lake.IsStoreARN(id) {
			out.ResourceTagList = append(out.ResourceTagList, listTagsOutput(trails[:1]).ResourceTagList...)
			trails = trails[1:]
			continue
		}
		d, err := s.opts.Lake.Tags(ctx, lakeCaller(c), id)
		if err != nil {
			return ListTagsOutput{}, err
		}
		out.ResourceTagList = append(out.ResourceTagList, ResourceTag{ResourceId: d.ARN, TagsList: append([]trail.Tag{}, d.Tags...)})
	}
	return out, nil
}
