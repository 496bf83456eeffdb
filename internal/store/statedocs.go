package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// DecodeStates reads the state documents whose keys start with prefix as
// JSON documents of type T, by key. what names them in errors (e.g.
// "stream state"): a document that does not decode is an error.
func DecodeStates[T any](ctx context.Context, docs StateDocs, prefix, what string) (map[string]*T, error) {
	list, err := docs.ListState(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*T, len(list))
	for _, d := range list {
		v := new(T)
		if err := json.Unmarshal(d.Doc, v); err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, d.Key, err)
		}
		out[d.Key] = v
	}
	return out, nil
}
