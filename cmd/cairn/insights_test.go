package main

import (
	"context"
	"errors"
	"testing"
)

// TestReadToAll: retention purges only what every consumer (delivery and
// Insights) has read: the least of their positions; an error holds all.
func TestReadToAll(t *testing.T) {
	at := func(n int64) func(context.Context) (int64, error) {
		return func(context.Context) (int64, error) { return n, nil }
	}
	if to, err := readToAll(at(40), at(7), at(90))(context.Background()); err != nil || to != 7 {
		t.Fatalf("readToAll = %d, %v; want 7", to, err)
	}
	fail := func(context.Context) (int64, error) { return 0, errors.New("down") }
	if _, err := readToAll(at(40), fail)(context.Background()); err == nil {
		t.Fatal("a consumer's error was not reported")
	}
}
