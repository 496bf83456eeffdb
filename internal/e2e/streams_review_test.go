package e2e

// Streams as a hostile tenant or a careless operator would try them: what
// a trail's owner reads of an operator's destination, what a live tail
// takes.

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// closedURL is an http URL of a 127.0.0.1 port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// An http(s) log group's URL may carry the operator's credentials (basic
// auth, a token in the query): a tenant whose trail names the group reads
// its delivery error in GetTrailStatus, and the server log is read by
// many; neither gets them when the endpoint cannot be reached.
func TestStreamsCWLHTTPErrorHidesURLSecrets(t *testing.T) {
	t.Parallel()
	const user, pass, token = "opuser", "op-pass-word", "tok-SECRET-123"
	u := strings.Replace(closedURL(t), "http://", "http://"+user+":"+pass+"@", 1) + "/ingest?token=" + token
	srv := Start(t, Options{Config: dlConfig(cwlGroups("http-secret=" + u))})
	arn := cwlTrail(t, srv, "secret", "secret-logs", "http-secret")
	dlIngest(t, srv, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	var msg string
	if !dlPoll(30*time.Second, func() bool {
		msg = aws.ToString(dlStatus(t, srv, "us-east-1", arn).LatestCloudWatchLogsDeliveryError)
		return msg != ""
	}) {
		t.Fatalf("GetTrailStatus shows no delivery error for an unreachable endpoint\nserver log:\n%s", dlTail(srv.Log(), 30))
	}
	for _, secret := range []string{pass, token, user} {
		if strings.Contains(msg, secret) {
			t.Errorf("LatestCloudWatchLogsDeliveryError shows %q of the url: %s", secret, msg)
		}
		if strings.Contains(srv.Log(), secret) {
			t.Errorf("the server log shows %q of the url:\n%s", secret, dlTail(srv.Log(), 10))
		}
	}
}
