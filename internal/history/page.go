package history

import (
	"context"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
)

// The console's event history: a page of the table with the counts of the
// chart, and the download of everything that matches, each answered as
// one LookupEvents call (one audit record, with the filter in its
// requestParameters). Both may leave out the read-only events, as
// CloudTrail's console does by default; the public LookupEvents never does.

// hides reports whether a query leaves out the read-only events when asked
// to: not when it is itself a lookup by ReadOnly (the user asked for those
// events) or by EventId (an ID names one event, shown whatever it is).
func hides(q store.Query, hide bool) bool {
	return hide && q.Attr != event.AttrReadOnly && q.Attr != event.AttrEventID
}

// HidesReadOnly reports whether HideReadOnly applies to a filter on attr:
// not to lookups by ReadOnly or by EventId.
func HidesReadOnly(attr string) bool {
	return event.Attribute(attr) != event.AttrReadOnly && event.Attribute(attr) != event.AttrEventID
}

// PageInput asks for one page of event history and, when BucketSeconds is
// set, the counts of every event of the whole range that matches, per time
// bucket (the console's chart and totals). Members left out are zero, and
// are left out when it is encoded (the audit record's requestParameters).
type PageInput struct {
	Input
	// HideReadOnly leaves out the read-only events (not for a lookup by
	// ReadOnly or by EventId).
	HideReadOnly bool `json:",omitempty"`
	// BucketSeconds is the width of the counts' buckets; 0 asks for no
	// counts.
	BucketSeconds int64 `json:",omitempty"`
	// BucketOrigin, when set, is where the first bucket begins: at or
	// before StartTime, so that buckets fall on round times (local
	// midnights); events before StartTime are not counted.
	BucketOrigin *awsproto.Time `json:",omitempty"`
}

// PageOutput is one page of events and, when asked for, the counts (with
// errors) of the same filter over the whole range.
type PageOutput struct {
	Output
	Counts *CountOutput `json:",omitempty"`
}

// Page answers a PageInput of account in region: the page as Lookup
// answers it, and the counts as Count does, of the same filter.
func (s *Service) Page(ctx context.Context, account, region string, in PageInput) (PageOutput, error) {
	out, err := s.lookup(ctx, account, region, in.Input, in.HideReadOnly)
	if err != nil {
		return PageOutput{}, err
	}
	res := PageOutput{Output: out}
	if in.BucketSeconds == 0 {
		return res, nil
	}
	counts, err := s.Count(ctx, account, region, CountInput{LookupAttributes: in.LookupAttributes, StartTime: in.StartTime,
		EndTime: in.EndTime, EventCategory: in.EventCategory, BucketSeconds: in.BucketSeconds, BucketOrigin: in.BucketOrigin,
		Errors: true, HideReadOnly: in.HideReadOnly})
	if err != nil {
		return PageOutput{}, err
	}
	res.Counts = &counts
	return res, nil
}

// ExportInput asks for every event of a filter (a download): LookupEvents'
// filter without paging.
type ExportInput struct {
	LookupAttributes []LookupAttribute `json:",omitempty"`
	StartTime        *awsproto.Time    `json:",omitempty"`
	EndTime          *awsproto.Time    `json:",omitempty"`
	EventCategory    *string           `json:",omitempty"`
	// HideReadOnly leaves out the read-only events, as PageInput's does.
	HideReadOnly bool `json:",omitempty"`
	// Format names what the events are written as ("csv", "json"), for the
	// audit record only.
	Format string `json:",omitempty"`
}

// exportPage is how many events an export reads from the store at a time:
// what it holds in memory.
const exportPage = 500

// Export calls emit with every event of in's filter, newest first, reading
// the store a page at a time (memory stays bounded whatever the count). It
// checks the filter before emitting anything, and stops at emit's first
// error, which it returns.
func (s *Service) Export(ctx context.Context, account, region string, in ExportInput, emit func(Event) error) error {
	q, _, err := s.query(account, region, Input{LookupAttributes: in.LookupAttributes, StartTime: in.StartTime,
		EndTime: in.EndTime, EventCategory: in.EventCategory}, in.HideReadOnly)
	if err != nil || q.Limit == 0 {
		return err
	}
	q.Limit = exportPage
	for {
		events, next, err := s.fetch(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := emit(e); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		q.After = next
	}
}

// origin is where the buckets of a count begin: origin when given (at or
// before start; the buckets from it to the end count against
// store.MaxBuckets), else start.
func origin(start time.Time, origin *awsproto.Time) (time.Time, error) {
	if origin == nil {
		return start, nil
	}
	if origin.After(start) {
		return time.Time{}, awsproto.Errorf(awsproto.InvalidParameterException, "BucketOrigin must be at or before StartTime.")
	}
	return origin.Time, nil
}
