package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store/sqlite"
	"github.com/cairn-audit/cairn/internal/trail"
)

type trailList []*trail.Trail

func (l trailList) All(context.Context) ([]*trail.Trail, error) { return l, nil }

// ReadTo holds back retention at the lowest log position a trail still
// delivers from, and not at all for trails that have nothing left to
// deliver.
func TestReadTo(t *testing.T) {
	ctx := context.Background()
	const logEnd = 200 // events in the log
	tr := func(id string, logging bool, epoch, start, stop int64) *trail.Trail {
		return &trail.Trail{ARN: "arn:aws:cloudtrail:us-east-1:111111111111:trail/" + id, ID: id,
			IsLogging: logging, LoggingEpoch: epoch, StartSeq: start, StopSeq: stop}
	}
	type trailState struct {
		t  *trail.Trail
		st *state // nil: no pass yet
	}
	cases := []struct {
		name   string
		trails []trailState
		gone   []state // of deleted trails
		want   int64
	}{
		{name: "no trails", want: logEnd},
		{name: "never started", trails: []trailState{{tr("a", false, 0, 0, 0), nil}}, want: logEnd},
		{name: "logging, no pass yet", trails: []trailState{{tr("a", true, 1, 40, 0), nil}}, want: 40},
		{name: "logging", trails: []trailState{{tr("a", true, 1, 40, 0), &state{Epoch: 1, Cursor: 55}}}, want: 55},
		{name: "stopped, delivered", trails: []trailState{{tr("a", false, 1, 40, 90), &state{Epoch: 1, Cursor: 90}}}, want: logEnd},
		{name: "stopped, not delivered", trails: []trailState{{tr("a", false, 1, 40, 90), &state{Epoch: 1, Cursor: 60}}}, want: 60},
		{name: "restarted since its pass", trails: []trailState{{tr("a", true, 2, 120, 90), &state{Epoch: 1, Cursor: 90}}}, want: 120},
		{name: "planned batch", trails: []trailState{{tr("a", false, 1, 40, 90),
			&state{Epoch: 1, Cursor: 70, Pending: &batch{From: 70, To: 90}}}}, want: 70},
		{name: "lowest of several", trails: []trailState{{tr("a", true, 1, 40, 0), &state{Epoch: 1, Cursor: 50}},
			{tr("b", true, 1, 10, 0), &state{Epoch: 1, Cursor: 25}}}, want: 25},
		{name: "deleted trail's planned batch", gone: []state{{Epoch: 1, Cursor: 30, Pending: &batch{From: 30, To: 35}}}, want: 30},
		{name: "deleted trail, nothing planned", gone: []state{{Epoch: 1, Cursor: 30}}, want: logEnd},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := sqlite.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var evs []*event.Event
			for i := range logEnd {
				e, ferr := event.Decode([]byte(fmt.Sprintf(`{"eventTime":"2026-11-26T09:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"E%d","awsRegion":"us-east-1"}`, i)),
					event.Context{Account: "111111111111"})
				if ferr != nil {
					t.Fatal(ferr)
				}
				evs = append(evs, e)
			}
			if _, err := st.Append(ctx, evs); err != nil {
				t.Fatal(err)
			}
			put := func(key string, s state) {
				doc, err := json.Marshal(s)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.PutState(ctx, key, doc, 0); err != nil {
					t.Fatal(err)
				}
			}
			var trails trailList
			for _, ts := range c.trails {
				trails = append(trails, ts.t)
				if ts.st != nil {
					put(stateKey(ts.t), *ts.st)
				}
			}
			for i, s := range c.gone {
				put(stateKey(tr(string(rune('x'+i)), false, 1, 0, 0)), s)
			}
			e := &Engine{store: st, trails: trails, log: slog.New(slog.DiscardHandler)}
			got, err := e.ReadTo(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("ReadTo = %d, want %d", got, c.want)
			}
		})
	}
}
