package stream

import (
	"context"
	"errors"
	"testing"

	"github.com/cairn-audit/cairn/internal/store/sqlite/sqlitetest"
)

// namedSource is a Source whose destinations belong to accounts.
type namedSource struct {
	dests   []Destination
	account map[string]string // destination ID → account
}

func (s namedSource) Destinations(context.Context) ([]Destination, error) { return s.dests, nil }

func (s namedSource) Named(_ context.Context, account string) ([]Named, error) {
	var out []Named
	for _, d := range s.dests {
		if s.account[d.ID] == account {
			out = append(out, Named{ID: d.ID, Kind: d.Kind, Name: "name of " + d.ID, Bound: d.Bound})
		}
	}
	return out, nil
}

// Views shows an account only its own destinations, with their status and
// how far behind the log each is; Lag reports the furthest behind by kind.
func TestViewsAndLag(t *testing.T) {
	ctx := context.Background()
	st := sqlitetest.Open(t)
	down, up := &fakeSink{}, &fakeSink{}
	down.setFail(errors.New("answered 500"))
	src := namedSource{dests: []Destination{
		{ID: "a/down", Kind: "webhook", Start: 0, Sink: down},
		{ID: "a/up", Kind: "log-file", Start: 0, Sink: up},
		{ID: "b/up", Kind: "webhook", Start: 0, Sink: &fakeSink{}},
	}, account: map[string]string{"a/down": "A", "a/up": "A", "b/up": "B"}}
	e := New(st, []Source{src}, Options{})
	views, err := e.Views(ctx, "A")
	if err != nil || len(views) != 2 || views[0].Started || views[1].Started {
		t.Fatalf("before any pass: %+v, %v", views, err)
	}
	appendN(t, st, "ev", 3)
	for _, d := range src.dests {
		e.pass(ctx, d)
	}
	views, err = e.Views(ctx, "A")
	if err != nil || len(views) != 2 {
		t.Fatalf("views of A: %+v, %v", views, err)
	}
	if v := views[0]; v.ID != "a/down" || v.Name != "name of a/down" || !v.Started || v.Behind != 3 ||
		v.Status.LastError != "answered 500" || v.Status.Failures != 1 || v.Status.Sent != 0 {
		t.Errorf("the destination that is down: %+v", v)
	}
	if v := views[1]; v.ID != "a/up" || !v.Started || v.Behind != 0 || v.Status.LastError != "" || v.Status.Sent != 3 ||
		v.Status.LastDelivery.IsZero() {
		t.Errorf("the destination that is up: %+v", v)
	}
	if views, err := e.Views(ctx, "B"); err != nil || len(views) != 1 || views[0].ID != "b/up" {
		t.Errorf("views of B: %+v, %v", views, err)
	}
	lag, err := e.Lag(ctx)
	if err != nil || lag["webhook"] != 3 || lag["log-file"] != 0 || len(lag) != 2 {
		t.Errorf("lag %v, %v", lag, err)
	}
}

// behind counts what is left to the log's end, or to the bound; a
// destination that takes nothing is behind by nothing.
func TestBehind(t *testing.T) {
	for _, c := range []struct{ bound, cursor, end, want int64 }{
		{0, 3, 10, 7}, {5, 3, 10, 2}, {5, 5, 10, 0}, {-1, 3, 10, 0}, {0, 10, 10, 0}, {20, 3, 10, 7},
	} {
		if got := behind(c.bound, c.cursor, c.end); got != c.want {
			t.Errorf("behind(%d, %d, %d) = %d, want %d", c.bound, c.cursor, c.end, got, c.want)
		}
	}
}
