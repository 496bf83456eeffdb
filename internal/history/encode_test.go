package history

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/awsproto"
)

// oddStrings are strings json.Marshal escapes in every way it can.
var oddStrings = []string{"", "plain", `quote " backslash \ slash /`, "<a href='x'>&amp;</a>",
	"\x00\x01\b\f\n\r\t\x1f\x7f", "ümlaut 日本 😀", "bad \xff\xfe utf8 \xe2\x80", "\u2028\u2029 separators",
	`{"eventName":"x","requestParameters":{"k":"v\u003c"}}`}

func TestOutputAppendJSONIsMarshal(t *testing.T) {
	str := func(i int) string { return oddStrings[i%len(oddStrings)] }
	var outs []Output
	outs = append(outs, Output{}, Output{Events: []Event{}}, Output{Events: []Event{}, NextToken: ptr("tok<&>")})
	for i := range oddStrings {
		e := Event{EventId: str(i), EventName: str(i + 1), ReadOnly: str(i + 2), AccessKeyId: str(i + 3),
			EventTime: awsproto.Time{Time: time.Unix(1764150000+int64(i), int64(i)*123_000_000)}, EventSource: str(i + 4),
			Username: str(i + 5), CloudTrailEvent: str(i + 6)}
		switch i % 3 {
		case 0:
			e.Resources = []Resource{}
		case 1:
			e.Resources = []Resource{{}, {ResourceType: ptr(str(i + 7))}, {ResourceName: ptr(str(i + 8))},
				{ResourceType: ptr(str(i)), ResourceName: ptr(str(i + 1))}}
		}
		outs = append(outs, Output{Events: []Event{e}}, Output{Events: []Event{e, e}, NextToken: ptr(str(i))})
	}
	for _, o := range outs {
		want, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.AppendJSON([]byte("prefix")); !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got[len("prefix"):], want)
		}
	}
}
