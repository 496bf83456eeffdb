package lake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/store"
)

// DefaultMaxKeptResultBytes bounds the bytes of query results one account
// keeps at once (Options.MaxKeptResultBytes). Results are kept QueryKeep
// (seven days) in the server's state; without a bound per account, one
// account running large queries in a loop would fill the disk that every
// account's events are written to.
const DefaultMaxKeptResultBytes = 1 << 30

// resultsExpired is the message of a FINISHED query whose results were
// removed to make room for the account's newer ones.
func (s *Service) resultsExpired() string {
	return fmt.Sprintf("The results were removed to keep this account's query results under %d MiB (lake.max_kept_result_mib); the oldest results go first. Run the query again.",
		s.opts.MaxKeptResultBytes>>20)
}

// errResultsExpired is GetQueryResults' answer for a query whose results
// were removed.
func (s *Service) errResultsExpired(q *Query) error {
	return awsproto.Errorf(awsproto.QueryIdNotFoundException, "Query %s has no results any more: %s", q.ID, s.resultsExpired())
}

// makeRoom removes the results of account's oldest finished queries until
// size more bytes fit under MaxKeptResultBytes, for the query id about to
// keep them. Results are removed whole: a query has all its rows or none,
// and says so (see resultsExpired). The account's lock serializes it with
// this node's other queries of the account.
func (s *Service) makeRoom(ctx context.Context, account, id string, size int64) error {
	unlock := s.starting.lock(account)
	defer unlock()
	qs, err := s.queries(ctx, account)
	if err != nil {
		return err
	}
	var kept []*Query
	total := size
	for _, q := range qs {
		if q.ID != id && q.Status == QueryFinished && q.Chunks > 0 && !q.ResultsExpired {
			kept = append(kept, q)
			total += q.ResultBytes
		}
	}
	slices.SortFunc(kept, func(a, b *Query) int { return cmp.Compare(a.Created.UnixNano(), b.Created.UnixNano()) })
	for _, q := range kept {
		if total <= s.opts.MaxKeptResultBytes {
			break
		}
		if err := s.expireResults(ctx, q.Account, q.ID); err != nil {
			return fmt.Errorf("lake: remove the results of query %s: %w", q.ID, err)
		}
		total -= q.ResultBytes
	}
	return nil
}

// expireResults marks query id's results removed, then removes them.
func (s *Service) expireResults(ctx context.Context, account, id string) error {
	for range 5 {
		q, err := s.loadQuery(ctx, account, id)
		if err != nil {
			return err
		}
		n := q.Chunks
		q.ResultsExpired, q.Chunks, q.Error = true, 0, s.resultsExpired()
		err = s.putQuery(ctx, q)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		s.dropChunks(ctx, id, n)
		return nil
	}
	return fmt.Errorf("lake: query %s kept changing", id)
}
