package eventbus

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/event"
)

const sourceConfig = `
regions: [us-east-1, eu-west-1]
accounts:
  - id: "111111111111"
    users: []
  - id: "222222222222"
    users: []
event_buses:
  - account: "111111111111"
    regions: [eu-west-1]
    targets:
      - {url: "https://hooks.example.com/a?token=t", secret: s}
      - {url: "eventbridge://?endpoint=http://127.0.0.1:1", access_key_id: K, secret_access_key: S}
  - account: "222222222222"
    read_only_events: true
    targets:
      - {url: "https://hooks.example.com/a?token=t", secret: s, pattern: '{"source":["aws.iam"]}'}
`

func sourceEvent(t *testing.T, account, region string, readOnly bool) *event.Event {
	t.Helper()
	rec := fmt.Sprintf(`{"eventVersion":"1.11","eventTime":"2026-12-06T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"X","awsRegion":%q,"readOnly":%v,"recipientAccountId":%q}`,
		region, readOnly, account)
	ev, ferr := event.Decode([]byte(rec), event.Context{Account: account, Now: time.Now()})
	if ferr != nil {
		t.Fatal(ferr)
	}
	ev.Keys = nil // as read back from the log
	return ev
}

func TestSourceDestinations(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(sourceConfig))
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := src.Destinations(context.Background())
	if len(ds) != 3 {
		t.Fatalf("%d destinations, want 3", len(ds))
	}
	wantKinds := []string{KindWebhook, KindEventBridge, KindWebhook}
	for i, d := range ds {
		if d.Kind != wantKinds[i] || d.Start != 42 || d.Sink == nil {
			t.Errorf("destination %d: %+v", i, d)
		}
	}
	if ds[0].ID != DestinationID("111111111111", "https://hooks.example.com/a?token=t") || ds[0].ID == ds[2].ID {
		t.Errorf("ids %s %s: want them from account and url", ds[0].ID, ds[2].ID)
	}
	if ts := src.Targets(); ts[0].URL != "https://hooks.example.com/a" || ts[0].ID != ds[0].ID {
		t.Errorf("targets %+v: want the url without its token", ts)
	}
	if ts := src.Targets(); ts[1].URL != "eventbridge://?bus=default&endpoint=http://127.0.0.1:1" {
		t.Errorf("EventBridge target shown as %q, want its bus and endpoint", ts[1].URL)
	}
	cases := []struct {
		d    int
		ev   *event.Event
		want bool
	}{
		{0, sourceEvent(t, "111111111111", "eu-west-1", false), true},
		{0, sourceEvent(t, "111111111111", "us-east-1", false), false}, // not its region
		{0, sourceEvent(t, "111111111111", "eu-west-1", true), false},  // a read
		{0, sourceEvent(t, "222222222222", "eu-west-1", false), false}, // another account
		{2, sourceEvent(t, "222222222222", "us-east-1", true), true},   // every region, reads too
		{2, sourceEvent(t, "111111111111", "us-east-1", false), false},
	}
	for i, c := range cases {
		if got := ds[c.d].Select(c.ev); got != c.want {
			t.Errorf("case %d: Select = %v, want %v", i, got, c.want)
		}
	}
}
