package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cairn-audit/cairn/internal/store"
)

type noStore struct{}

func (noStore) Stats(context.Context) (store.Stats, error) { return store.Stats{}, nil }

// The stream lag (by kind) and the open tail streams are read at scrape.
func TestWatchStreams(t *testing.T) {
	m := New(noStore{})
	tails := 2
	m.WatchStreams(func(context.Context) (map[string]int64, error) {
		return map[string]int64{"webhook": 7, "cloudwatch-logs": 0}, nil
	}, func() int { return tails })
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	out := scrape()
	for _, want := range []string{`cairn_stream_lag_events{kind="webhook"} 7`, `cairn_stream_lag_events{kind="cloudwatch-logs"} 0`, "cairn_tail_streams 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	tails = 0
	if out := scrape(); !strings.Contains(out, "cairn_tail_streams 0") {
		t.Errorf("the tail gauge is not read at scrape")
	}
}
