package e2e

// The console's trail page shows the trail's CloudWatch Logs delivery: its
// log group, the last delivery and the last error (headless Chromium).

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/chromedp/chromedp"
)

func TestStreamsCWLConsoleTrailPage(t *testing.T) {
	t.Parallel()
	l := cwlListen(t)
	l.setStatus(http.StatusServiceUnavailable)
	srv := Start(t, Options{Config: dlConfig(cwlGroups("http-group=" + l.URL))})
	arn := cwlTrail(t, srv, "console-cwl", "console-cwl-logs", "http-group")
	ids := dlIngest(t, srv, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	if !dlPoll(30*time.Second, func() bool {
		return aws.ToString(dlStatus(t, srv, "us-east-1", arn).LatestCloudWatchLogsDeliveryError) != ""
	}) {
		t.Fatalf("no CloudWatch Logs delivery error while the listener answers 503\nserver log:\n%s", dlTail(srv.Log(), 30))
	}
	ctx, problems := conBrowser(t)
	conSignIn(t, ctx, srv, AdminKey, AdminSecret)
	page := srv.URL + "/console/trail?region=us-east-1&arn=" + url.QueryEscape(arn)
	conRun(t, ctx, "the trail page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("cwl-status")))
	if g := conGet(t, ctx, "log group", chromedp.Text(chromedp.ID("cwl-group"))); g != cwlGroupARN("http-group")+":*" {
		t.Errorf("the page shows log group %q", g)
	}
	if e := conGet(t, ctx, "error", chromedp.Text(chromedp.ID("cwl-error"))); !strings.Contains(e, "503") {
		t.Errorf("the page shows CloudWatch Logs error %q, want the listener's 503", e)
	}
	if last := conGet(t, ctx, "last delivery", chromedp.Text(chromedp.ID("cwl-last"))); last != "none yet" {
		t.Errorf("last delivery %q before any", last)
	}

	l.setStatus(http.StatusOK)
	cwlWaitAll(t, srv, "the listener", ids, 60*time.Second, l.received)
	if !dlPoll(30*time.Second, func() bool {
		return aws.ToString(dlStatus(t, srv, "us-east-1", arn).LatestCloudWatchLogsDeliveryError) == ""
	}) {
		t.Fatalf("the CloudWatch Logs error stays after delivery: %+v", dlStatus(t, srv, "us-east-1", arn))
	}
	conRun(t, ctx, "the trail page again", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("cwl-status")))
	last := conGet(t, ctx, "last delivery", chromedp.Text(chromedp.ID("cwl-last")))
	if _, err := time.Parse("2006-01-02 15:04:05", last); err != nil {
		t.Errorf("last delivery %q is not a time: %v", last, err)
	}
	if n := conGet(t, ctx, "errors shown", chromedp.Evaluate[int](`document.querySelectorAll("#cwl-error").length`)); n != 0 {
		t.Errorf("the page still shows a CloudWatch Logs error")
	}
	if p := problems(); len(p) > 0 {
		t.Errorf("page problems: %v", p)
	}
}
