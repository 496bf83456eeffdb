package e2e

// Streams as a hostile tenant or a careless operator would try them: what
// a trail's owner reads of an operator's destination, what a live tail
// takes.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
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

// A misspelt parameter of GET /v1/stream (?patern=) must not open a
// stream of every event as though no pattern were given: it is refused
// in the AWS error shape, naming the parameter, and recorded.
func TestTailUnknownParameterRefused(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: StandardConfig})
	ctx := context.Background()
	for _, query := range []string{"patern=" + url.QueryEscape(`{"source":["aws.s3"]}`), "pattern=%7B%7D&region=eu-west-1"} {
		// A stream that opens anyway is cut after a while.
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		status, body := getStatus(t, signedGet(t, rctx, srv.URL+"/v1/stream?"+query, AdminKey, AdminSecret, "us-east-1"))
		cancel()
		if status != http.StatusBadRequest || !strings.Contains(string(body), "InvalidParameterException") {
			t.Errorf("?%s: HTTP %d %s; want 400 InvalidParameterException", query, status, body)
		}
		if strings.Contains(string(body), "stream open") {
			t.Errorf("?%s: a stream opened", query)
		}
	}
	// The refusal is in event history as the stream's LookupEvents call.
	if !dlPoll(20*time.Second, func() bool {
		out, err := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1").LookupEvents(ctx, &cloudtrail.LookupEventsInput{
			LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventName, AttributeValue: aws.String("LookupEvents")}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range out.Events {
			if strings.Contains(aws.ToString(e.CloudTrailEvent), `"errorCode":"InvalidParameterException"`) &&
				strings.Contains(aws.ToString(e.CloudTrailEvent), "patern") {
				return true
			}
		}
		return false
	}) {
		t.Errorf("the refused stream is not in event history")
	}
}

// A file:// log group naming a directory can never be written: the server
// refuses it at start with the file, line and reason rather than accept
// it and fail every delivery.
func TestStartupLogGroupFileIsDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, u := range map[string]string{"trailing slash": "file://" + dir + "/new/", "existing directory": "file://" + dir} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := StandardConfig + "log_groups:\n  - arn: \"arn:aws:logs:us-east-1:111111111111:log-group:dir\"\n" +
				"    account: \"111111111111\"\n    url: \"" + u + "\"\n"
			line := strings.Count(StandardConfig, "\n") + 4
			file := filepath.Join(t.TempDir(), "cairn.yaml")
			if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			_, stderr, code, _ := startupRun(t, nil, "serve", "--listen", "127.0.0.1:0", "--data-dir", PrivateDir(t), "--config", file)
			want := fmt.Sprintf("%s:%d: log_groups[0].url:", file, line)
			if code == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "directory") {
				t.Errorf("exit %d; stderr lacks %q and the reason:\n%s", code, want, stderr)
			}
		})
	}
}
