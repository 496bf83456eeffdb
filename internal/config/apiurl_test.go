package config

import "testing"

// The two AWS API destination urls share one parser; each keeps its own
// parameters and its own words in errors.
func TestAPIURLs(t *testing.T) {
	eb, err := ParseEventBridgeURL("eventbridge://?endpoint=http://127.0.0.1:5000&bus=b&region=eu-west-1")
	if err != nil || eb != (EventBridgeURL{Endpoint: "http://127.0.0.1:5000", Bus: "b", Region: "eu-west-1"}) {
		t.Errorf("eventbridge: %+v, %v", eb, err)
	}
	if eb, err := ParseEventBridgeURL("eventbridge://"); err != nil || eb.Bus != DefaultEventBusName {
		t.Errorf("eventbridge with no parameters: %+v, %v", eb, err)
	}
	cw, err := ParseCloudWatchLogsURL("cloudwatch-logs://?region=us-east-1")
	if err != nil || cw != (CloudWatchLogsURL{Region: "us-east-1"}) {
		t.Errorf("cloudwatch-logs: %+v, %v", cw, err)
	}
	for _, c := range []struct{ url, want string }{
		{"eventbridge://h", `eventbridge url "eventbridge://h" has a host or path (want eventbridge://?endpoint=URL&bus=NAME&region=R)`},
		{"eventbridge://?bus=a%20b", `eventbridge url "eventbridge://?bus=a%20b": invalid bus "a b" (want a bus name of A-Z a-z 0-9 / . _ - or an event-bus ARN)`},
		{"eventbridge://?x=1", `eventbridge url "eventbridge://?x=1": unknown parameter "x" (want endpoint, bus, region)`},
		{"eventbridge://?region=a&region=b", `eventbridge url "eventbridge://?region=a&region=b": region given 2 times`},
		{"cloudwatch-logs://?bus=b", `cloudwatch-logs url "cloudwatch-logs://?bus=b": unknown parameter "bus" (want endpoint, region)`},
		{"cloudwatch-logs://?endpoint=ftp://h", `cloudwatch-logs url "cloudwatch-logs://?endpoint=ftp://h": endpoint "ftp://h" is not an http(s) URL`},
		{"cloudwatch-logs://?region=US", `cloudwatch-logs url "cloudwatch-logs://?region=US": invalid region "US"`},
		{"cloudwatch-logs:///p", `cloudwatch-logs url "cloudwatch-logs:///p" has a host or path (want cloudwatch-logs://?endpoint=URL&region=R; the log group is the arn's)`},
		{"http://x", `url "http://x" is not a cloudwatch-logs:// url`},
	} {
		var err error
		if c.url[0] == 'e' {
			_, err = ParseEventBridgeURL(c.url)
		} else {
			_, err = ParseCloudWatchLogsURL(c.url)
		}
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v\nwant %s", c.url, err, c.want)
		}
	}
}
