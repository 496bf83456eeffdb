package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrorKeysState is the state document holding the first sequence number
// from which every failed event is indexed under ErrorsKey (in decimal).
// Events numbered below it were stored by a version that did not index
// failures: a histogram reads their records to count their errors.
const ErrorKeysState = "store/error-keys-from"

// MarkErrorKeys records, the first time a store opens with this version,
// that the events numbered after last (the last number assigned) are all
// indexed under ErrorsKey.
func MarkErrorKeys(ctx context.Context, docs StateDocs, last int64) error {
	_, err := docs.GetState(ctx, ErrorKeysState)
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("store: error keys mark: %w", err)
	}
	_, err = docs.PutState(ctx, ErrorKeysState, []byte(strconv.FormatInt(last+1, 10)), 0)
	if err != nil && !errors.Is(err, ErrExists) {
		return fmt.Errorf("store: error keys mark: %w", err)
	}
	return nil
}

// ErrorKeysFrom reads the mark of MarkErrorKeys: MaxInt64 when there is
// none (no event is known to be indexed by failure).
func ErrorKeysFrom(ctx context.Context, docs StateDocs) (int64, error) {
	doc, err := docs.GetState(ctx, ErrorKeysState)
	if errors.Is(err, ErrNotFound) {
		return math.MaxInt64, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: error keys mark: %w", err)
	}
	from, err := strconv.ParseInt(string(doc.Doc), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: error keys mark %q: %w", doc.Doc, err)
	}
	return from, nil
}
