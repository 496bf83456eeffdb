package tail

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/ebevent"
	"github.com/cairn-audit/cairn/internal/eventpattern"
	"github.com/cairn-audit/cairn/internal/store/storetest"
)

func TestPattern(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	del := storetest.Rec(t, "111111111111", "us-east-1", "DeleteBucket", at, map[string]any{
		"resources": []any{map[string]any{"ARN": "arn:aws:s3:::logs", "type": "AWS::S3::Bucket"}}})
	get := storetest.Rec(t, "111111111111", "us-east-1", "GetObject", at, nil)
	for _, c := range []struct {
		pattern  string
		del, get bool
	}{
		{`{"detail":{"eventName":[{"prefix":"Delete"}]}}`, true, false},
		{`{"source":["aws.s3"],"detail-type":["AWS API Call via CloudTrail"]}`, true, true},
		{`{"resources":["arn:aws:s3:::logs"]}`, true, false},
		{`{"account":["222222222222"]}`, false, false},
		{`{"detail":{"eventName":[{"anything-but":"GetObject"}]},"region":["us-east-1"]}`, true, false},
	} {
		f, err := Pattern(c.pattern)
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		if ok, err := f(&Entry{Event: del}); err != nil || ok != c.del {
			t.Errorf("%s on DeleteBucket: %v, %v; want %v", c.pattern, ok, err, c.del)
		}
		if ok, err := f(&Entry{Event: get}); err != nil || ok != c.get {
			t.Errorf("%s on GetObject: %v, %v; want %v", c.pattern, ok, err, c.get)
		}
	}
	if _, err := Pattern(`{"detail":{"eventName":[{"prefix":1}]}}`); err == nil {
		t.Fatal("a bad pattern compiled")
	}
}

// The envelope the tail matches against is the one the EventBridge sinks
// send: a pattern's verdict on both is the same.
func TestEnvelopeIsEBEvent(t *testing.T) {
	ev := storetest.Rec(t, "111111111111", "eu-west-1", "PutObject", time.Now(), nil)
	env, err := ebevent.Build(ev, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(env)
	for _, pat := range []string{`{"id":["` + env.ID + `"]}`, `{"time":["` + env.Time + `"]}`, `{"version":["0"]}`,
		`{"detail":{"awsRegion":["eu-west-1"]}}`} {
		p := eventpattern.MustCompile(pat)
		f, _ := Pattern(pat)
		got, err := f(&Entry{Event: ev})
		if err != nil || got != p.Match(b) || !got {
			t.Errorf("%s: tail says %v (%v), the marshalled envelope %v", pat, got, err, p.Match(b))
		}
	}
}
