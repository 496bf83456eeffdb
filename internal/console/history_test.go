package console

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/history"
	"github.com/cairn-audit/cairn/internal/server"
)

// LookupEventsPage answers a page of the fake's events and counts them all
// per bucket, as one call.
func (f *fakeAPI) LookupEventsPage(_ context.Context, who server.Caller, in history.PageInput) (history.PageOutput, error) {
	n, err := f.enter("LookupEvents", who, in)
	if err != nil {
		return history.PageOutput{}, err
	}
	if f.failAfter > 0 && n > f.failAfter {
		return history.PageOutput{}, awsproto.Unavailable("busy")
	}
	hide := in.HideReadOnly && history.HidesReadOnly(attrOf(in.LookupAttributes))
	out := history.PageOutput{Output: f.page(in.Input, hide)}
	if in.BucketSeconds == 0 {
		return out, nil
	}
	all := in.Input
	all.NextToken, all.MaxResults = nil, ptr(math.MaxInt32)
	width := time.Duration(in.BucketSeconds) * time.Second
	origin := in.StartTime.Time
	if in.BucketOrigin != nil {
		origin = in.BucketOrigin.Time
	}
	counts := &history.CountOutput{}
	for t := origin; !t.After(in.EndTime.Time); t = t.Add(width) {
		counts.Buckets = append(counts.Buckets, history.CountBucket{Start: t})
	}
	for _, e := range f.page(all, hide).Events {
		b := &counts.Buckets[int(e.EventTime.Sub(origin)/width)]
		b.Count++
		counts.Total++
		var rf recordFields
		_ = json.Unmarshal([]byte(e.CloudTrailEvent), &rf)
		if rf.ErrorCode != "" {
			b.Errors++
			counts.Errors++
		}
	}
	out.Counts = counts
	return out, nil
}

// LookupEventsExport emits every matching event of the fake, as one call.
func (f *fakeAPI) LookupEventsExport(_ context.Context, who server.Caller, in history.ExportInput, emit func(history.Event) error) error {
	n, err := f.enter("LookupEvents", who, in)
	if err != nil {
		return err
	}
	hide := in.HideReadOnly && history.HidesReadOnly(attrOf(in.LookupAttributes))
	all := history.Input{LookupAttributes: in.LookupAttributes, StartTime: in.StartTime, EndTime: in.EndTime, MaxResults: ptr(math.MaxInt32)}
	for i, e := range f.page(all, hide).Events {
		if f.failAfter > 0 && n+i/50 > f.failAfter {
			return awsproto.Unavailable("busy")
		}
		if err := emit(e); err != nil {
			return err
		}
	}
	return nil
}

func attrOf(attrs []history.LookupAttribute) string {
	if len(attrs) == 1 && attrs[0].AttributeKey != nil {
		return *attrs[0].AttributeKey
	}
	return ""
}
