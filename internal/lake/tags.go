package lake

import (
	"context"
	"slices"
	"strings"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/trail"
)

// IsStoreARN reports whether a tag operation's ResourceId names an event
// data store (rather than a trail).
func IsStoreARN(id string) bool { return strings.Contains(id, ":eventdatastore/") }

// AddTags adds tags to a store (AddTags): new keys are added, existing
// keys get the new value; at most 50 in all.
func (s *Service) AddTags(ctx context.Context, c Caller, ref string, tags []trail.Tag) (*DataStore, error) {
	if err := trail.ValidateTags(tags); err != nil {
		return nil, err
	}
	return s.retag(ctx, c, ref, func(d *DataStore) error {
		merged := slices.Clone(d.Tags)
		for _, nt := range tags {
			if i := slices.IndexFunc(merged, func(x trail.Tag) bool { return deref(x.Key) == deref(nt.Key) }); i >= 0 {
				merged[i] = nt
			} else {
				merged = append(merged, nt)
			}
		}
		if len(merged) > 50 {
			return awsproto.Errorf(awsproto.TagsLimitExceededException, "An event data store can have at most 50 tags; this would make %d.", len(merged))
		}
		d.Tags = merged
		return nil
	})
}

// RemoveTags removes tags from a store (RemoveTags): a tag given with a
// value is removed only when the value matches.
func (s *Service) RemoveTags(ctx context.Context, c Caller, ref string, tags []trail.Tag) (*DataStore, error) {
	for i, rt := range tags {
		if rt.Key == nil || *rt.Key == "" {
			return nil, awsproto.Errorf(awsproto.InvalidTagParameterException, "Tag %d: a key is required.", i+1)
		}
	}
	return s.retag(ctx, c, ref, func(d *DataStore) error {
		d.Tags = slices.DeleteFunc(d.Tags, func(x trail.Tag) bool {
			return slices.ContainsFunc(tags, func(rt trail.Tag) bool {
				return deref(rt.Key) == deref(x.Key) && (rt.Value == nil || deref(rt.Value) == deref(x.Value))
			})
		})
		return nil
	})
}

func (s *Service) retag(ctx context.Context, c Caller, ref string, change func(*DataStore) error) (*DataStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.tagTarget(ctx, c, ref)
	if err != nil {
		return nil, err
	}
	if err := change(d); err != nil {
		return nil, err
	}
	d.Updated = s.now()
	return d, s.put(ctx, d)
}

// Tags returns the store a ListTags ResourceId names.
func (s *Service) Tags(ctx context.Context, c Caller, ref string) (*DataStore, error) {
	return s.tagTarget(ctx, c, ref)
}

// tagTarget is the store a tag operation names: the tag operations answer
// ResourceNotFoundException for what they cannot find.
func (s *Service) tagTarget(ctx context.Context, c Caller, ref string) (*DataStore, error) {
	d, err := s.Get(ctx, c, &ref)
	if err != nil && awsproto.As(err).Code == awsproto.EventDataStoreNotFoundException {
		return nil, awsproto.Errorf(awsproto.ResourceNotFoundException, "No event data store %s in this account and region.", ref)
	}
	return d, err
}
