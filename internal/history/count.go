package history

import (
	"context"
	"errors"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/store"
)

// CountInput asks how many events a LookupEvents of the same filter would
// list over the whole range, per time bucket (the console's chart): the
// filter of Input, without paging, and the buckets' width. Members left
// out are nil or zero, and are left out when it is encoded (the audit
// record's requestParameters).
type CountInput struct {
	LookupAttributes []LookupAttribute `json:",omitempty"`
	StartTime        *awsproto.Time    `json:",omitempty"`
	EndTime          *awsproto.Time    `json:",omitempty"`
	EventCategory    *string           `json:",omitempty"`
	// BucketSeconds is each bucket's width (at least 1; at most
	// store.MaxBuckets buckets).
	BucketSeconds int64
	// Errors asks for the count of events with an errorCode too.
	Errors bool `json:",omitempty"`
	// HideReadOnly leaves out the read-only events (not for a count by
	// ReadOnly or by EventId).
	HideReadOnly bool `json:",omitempty"`
	// BucketOrigin, when set, is where the first bucket begins (at or
	// before StartTime); events before StartTime are not counted.
	BucketOrigin *awsproto.Time `json:",omitempty"`
}

// CountBucket is one time bucket of a CountOutput.
type CountBucket struct {
	// Start is the bucket's first second; it spans BucketSeconds.
	Start  time.Time
	Count  int64
	Errors int64 `json:",omitempty"`
}

// CountOutput is the counts of a CountInput: every bucket of the range,
// oldest first, empty ones included, and their totals.
type CountOutput struct {
	Buckets []CountBucket
	Total   int64
	Errors  int64
}

// Count answers a CountInput of account in region with the store's exact
// counts. Its rules are LookupEvents': the same errors for the same filter,
// the same default range (the whole event history) and the same events
// counted (none before event history begins).
func (s *Service) Count(ctx context.Context, account, region string, in CountInput) (CountOutput, error) {
	hs, ok := s.store.(store.Histogrammer)
	if !ok {
		return CountOutput{}, errors.New("history: the store cannot count events")
	}
	q, err := filter(account, region, in.EventCategory, in.LookupAttributes)
	if err != nil {
		return CountOutput{}, err
	}
	start, end, earliest, err := s.timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return CountOutput{}, err
	}
	hq := store.HistogramQuery{Account: q.Account, Region: q.Region, Category: q.Category, Attr: q.Attr, Value: q.Value,
		Start: start, End: end, Since: earliest, Errors: in.Errors, HideReadOnly: hides(q, in.HideReadOnly)}
	if in.BucketSeconds < 1 {
		return CountOutput{}, awsproto.Errorf(awsproto.InvalidParameterException, "BucketSeconds must be at least 1; got %d.", in.BucketSeconds)
	}
	hq.Width = time.Duration(in.BucketSeconds) * time.Second
	if hq.Start, err = origin(start, in.BucketOrigin); err != nil {
		return CountOutput{}, err
	}
	if start.After(hq.Start) && start.After(hq.Since) {
		hq.Since = start // the buckets begin before the range: count from its start
	}
	bs, err := hs.Histogram(ctx, hq)
	if errors.Is(err, store.ErrHistogram) {
		return CountOutput{}, awsproto.Errorf(awsproto.InvalidParameterException,
			"BucketSeconds %d makes more than %d buckets of the time range.", in.BucketSeconds, store.MaxBuckets)
	}
	if err != nil {
		return CountOutput{}, err
	}
	out := CountOutput{Buckets: make([]CountBucket, len(bs))}
	for i, b := range bs {
		out.Buckets[i] = CountBucket{Start: b.Start, Count: b.Count, Errors: b.Errors}
		out.Total += b.Count
		out.Errors += b.Errors
	}
	return out, nil
}
