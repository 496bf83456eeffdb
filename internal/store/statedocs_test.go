package store

import (
	"context"
	"strings"
	"testing"
)

// listOnly is a StateDocs that lists fixed documents.
type listOnly struct {
	StateDocs
	docs []StateDoc
}

func (l listOnly) ListState(_ context.Context, prefix string) ([]StateDoc, error) {
	var out []StateDoc
	for _, d := range l.docs {
		if strings.HasPrefix(d.Key, prefix) {
			out = append(out, d)
		}
	}
	return out, nil
}

func TestDecodeStates(t *testing.T) {
	type doc struct{ Cursor int64 }
	ctx := context.Background()
	docs := listOnly{docs: []StateDoc{{Key: "p/a", Doc: []byte(`{"Cursor":3}`)}, {Key: "q/b", Doc: []byte(`{"Cursor":4}`)}}}
	got, err := DecodeStates[doc](ctx, docs, "p/", "test state")
	if err != nil || len(got) != 1 || got["p/a"] == nil || got["p/a"].Cursor != 3 {
		t.Fatalf("got %v, %v", got, err)
	}
	docs.docs = append(docs.docs, StateDoc{Key: "p/bad", Doc: []byte(`{`)})
	if _, err := DecodeStates[doc](ctx, docs, "p/", "test state"); err == nil || !strings.HasPrefix(err.Error(), "test state p/bad: ") {
		t.Fatalf("a bad document: %v", err)
	}
}
