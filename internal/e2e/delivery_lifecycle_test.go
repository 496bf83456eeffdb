package e2e

// Delivery across a trail's life: logging stopped, validation turned off and
// on again, a trail deleted and created again under the same name.

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// dlListed maps each log file key to the digests of b that list it.
func dlListed(t *testing.T, b dlBucket) map[string][]string {
	t.Helper()
	m := map[string][]string{}
	for _, d := range dlDigestKeys(t, b, "") {
		for _, l := range dlReadDigest(t, b, d).LogFiles {
			m[l.S3Object] = append(m[l.S3Object], d)
		}
	}
	return m
}

// A trail created again under a deleted trail's name is a new trail: it
// delivers only what happens after it starts logging, and its digest chain
// starts afresh in its own bucket.
func TestDeliveryRecreatedTrail(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	ctx := context.Background()
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	first := dlDir{name: "first-life", dir: dlMkBucket(t, srv, "first-life")}
	second := dlDir{name: "second-life", dir: dlMkBucket(t, srv, "second-life")}

	arn := dlTrail(t, east, "phoenix", first.name, dlValidation)
	before := dlIngest(t, srv, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	dlWaitDelivered(t, srv, first, "AWSLogs/", before, 30*time.Second)
	dlWaitDigests(t, srv, first, time.Now(), 1, "/CloudTrail-Digest/us-east-1/")
	if _, err := east.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(arn)}); err != nil {
		t.Fatalf("DeleteTrail: %v", err)
	}
	// While no trail exists.
	between := dlIngest(t, srv, dlEvent("StopInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))

	arn2 := dlTrail(t, east, "phoenix", second.name, dlValidation)
	if arn2 != arn {
		t.Fatalf("the new trail's ARN %s differs from the old %s", arn2, arn)
	}
	after := dlIngest(t, srv, dlEvent("StartInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	files := dlWaitDelivered(t, srv, second, "AWSLogs/", after, 30*time.Second)
	if where := dlWhere(files)[between[0]]; len(where) != 0 {
		t.Errorf("an event ingested while no trail existed (before the new trail started logging) was delivered by the new trail: %v", where)
	}
	if where := dlWhere(files)[before[0]]; len(where) != 0 {
		t.Errorf("an event of the deleted trail was delivered again by the new trail: %v", where)
	}
	if where := dlWhere(dlLogs(t, first, "AWSLogs/"))[between[0]]; len(where) != 0 {
		t.Errorf("an event ingested after the trail was deleted went to its bucket: %v", where)
	}

	// The new trail's first digest starts a chain (previousDigest* null).
	dlWaitDigests(t, srv, second, time.Now(), 1, "/CloudTrail-Digest/us-east-1/")
	digests := dlDigestKeys(t, second, "/CloudTrail-Digest/us-east-1/")
	sort.Strings(digests)
	d := dlReadDigest(t, second, digests[0])
	if d.PreviousDigestS3Object != nil {
		t.Errorf("the new trail's first digest %s links to %s (the deleted trail's chain), want previousDigestS3Object null",
			digests[0], *d.PreviousDigestS3Object)
	}
}

// Stopping logging or deleting a trail delivers a final digest, so every
// delivered log file is covered by a digest ([CLOUDTRAIL.md §6.1]).
func TestDeliveryFinalDigest(t *testing.T) {
	t.Parallel()
	// Digests every hour: the only digests a test can see are final ones.
	srv := Start(t, Options{Config: StandardConfig + "\ndelivery: {flush_interval: 1s, digest_interval: 1h}\n"})
	ctx := context.Background()
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	stopped := dlDir{name: "stopped-trail", dir: dlMkBucket(t, srv, "stopped-trail")}
	deleted := dlDir{name: "deleted-trail", dir: dlMkBucket(t, srv, "deleted-trail")}
	stopARN := dlTrail(t, east, "stopped", stopped.name, dlValidation)
	delARN := dlTrail(t, east, "deleted", deleted.name, dlValidation)
	ids := dlIngest(t, srv, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	dlWaitDelivered(t, srv, stopped, "AWSLogs/", ids, 30*time.Second)
	dlWaitDelivered(t, srv, deleted, "AWSLogs/", ids, 30*time.Second)

	if _, err := east.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(stopARN)}); err != nil {
		t.Fatalf("StopLogging: %v", err)
	}
	if _, err := east.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(delARN)}); err != nil {
		t.Fatalf("DeleteTrail: %v", err)
	}
	buckets := map[string]dlBucket{"StopLogging": stopped, "DeleteTrail": deleted}
	unlisted := map[string][]string{}
	dlPoll(10*time.Second, func() bool {
		for what, b := range buckets {
			listed := dlListed(t, b)
			unlisted[what] = nil
			for _, k := range b.Keys(t) {
				if dlIsLogKey(k) && len(listed[k]) == 0 {
					unlisted[what] = append(unlisted[what], k)
				}
			}
		}
		return len(unlisted["StopLogging"])+len(unlisted["DeleteTrail"]) == 0
	})
	for what, b := range buckets {
		if len(unlisted[what]) != 0 {
			t.Errorf("after %s, no digest lists the delivered log files %v (digests: %v)", what, unlisted[what], dlDigestKeys(t, b, ""))
		}
	}
	if st := dlStatus(t, srv, "us-east-1", stopARN); st.LatestDigestDeliveryTime == nil {
		t.Errorf("GetTrailStatus after StopLogging: no LatestDigestDeliveryTime (no final digest)")
	}
}

// Turning validation off stops digests; turning it on again starts a new
// chain: the first digest has previousDigest* null and does not cover the
// time validation was off ([CLOUDTRAIL.md §6.1]).
func TestDeliveryValidationOffAndOn(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	ctx := context.Background()
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	b := dlDir{name: "toggled", dir: dlMkBucket(t, srv, "toggled")}
	arn := dlTrail(t, east, "toggled", b.name, dlValidation)
	dlWaitDigests(t, srv, b, time.Now(), 1, "/CloudTrail-Digest/us-east-1/")

	set := func(on bool) time.Time {
		if _, err := east.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(arn), EnableLogFileValidation: aws.Bool(on)}); err != nil {
			t.Fatalf("UpdateTrail EnableLogFileValidation=%v: %v", on, err)
		}
		return time.Now()
	}
	off := set(false)
	time.Sleep(2500 * time.Millisecond) // a digest being written as validation went off may still land
	settled := dlDigestKeys(t, b, "")
	dlIngest(t, srv, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	time.Sleep(4 * time.Second) // two digest intervals: none may appear
	if now := dlDigestKeys(t, b, ""); len(now) != len(settled) {
		t.Errorf("digests were written while validation was off: %d, then %d", len(settled), len(now))
	}
	old := map[string]bool{}
	for _, k := range dlDigestKeys(t, b, "") {
		old[k] = true
	}
	on := set(true)
	dlWaitDigests(t, srv, b, on, 1, "/CloudTrail-Digest/us-east-1/")
	var fresh []string
	for _, k := range dlDigestKeys(t, b, "/CloudTrail-Digest/us-east-1/") {
		if !old[k] {
			fresh = append(fresh, k)
		}
	}
	sort.Strings(fresh)
	d := dlReadDigest(t, b, fresh[0])
	if d.PreviousDigestS3Object != nil {
		t.Errorf("first digest after validation was turned on again (%s) links to %s, want previousDigest* null (a new chain)",
			fresh[0], *d.PreviousDigestS3Object)
	}
	if start, err := time.Parse(time.RFC3339, d.DigestStartTime); err != nil || start.Before(on.Truncate(time.Second)) {
		t.Errorf("first digest after validation was turned on again starts at %s, before it was turned on (%s; off since %s): it covers the time validation was off",
			d.DigestStartTime, on.UTC().Format(time.RFC3339), off.UTC().Format(time.RFC3339))
	}
}

// Events recorded while a trail logs are delivered even when logging is
// stopped before the next flush: StopLogging ends recording, it does not
// discard what was recorded.
func TestDeliveryStopLoggingKeepsRecordedEvents(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	ctx := context.Background()
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	b := dlDir{name: "stop-soon", dir: dlMkBucket(t, srv, "stop-soon")}
	arn := dlTrail(t, east, "stop-soon", b.name, nil)
	recorded := dlIngest(t, srv, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	// Within the flush interval (1s) of the event.
	if _, err := east.StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatalf("StopLogging: %v", err)
	}
	unrecorded := dlIngest(t, srv, dlEvent("StopInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	var files []dlLogFile
	dlPoll(8*time.Second, func() bool {
		files = dlLogs(t, b, "AWSLogs/")
		return dlEventIDs(files)[recorded[0]] != 0
	})
	if n := dlEventIDs(files)[recorded[0]]; n != 1 {
		t.Errorf("an event recorded while the trail was logging is in %d log files after StopLogging, want 1", n)
	}
	// Logging again: the events of the stopped time are not delivered, and
	// the recorded event still is (once).
	if _, err := east.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)}); err != nil {
		t.Fatalf("StartLogging: %v", err)
	}
	later := dlIngest(t, srv, dlEvent("StartInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	files = dlWaitDelivered(t, srv, b, "AWSLogs/", later, 30*time.Second)
	counts := dlEventIDs(files)
	if counts[unrecorded[0]] != 0 {
		t.Errorf("an event of the time logging was stopped was delivered")
	}
	if counts[recorded[0]] != 1 {
		t.Errorf("after StartLogging, the event recorded before StopLogging is in %d log files, want 1", counts[recorded[0]])
	}
}

// A multi-region trail made single-region stops covering the other
// regions: no more digests for them (one final digest at most).
func TestDeliveryMultiToSingleRegionDigests(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	ctx := context.Background()
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	b := dlDir{name: "shrinking", dir: dlMkBucket(t, srv, "shrinking")}
	arn := dlTrail(t, east, "shrinking", b.name, dlAll(dlMulti, dlValidation))
	dlWaitDigests(t, srv, b, time.Now(), 1, "/CloudTrail-Digest/eu-west-1/", "/CloudTrail-Digest/us-east-1/")
	if _, err := east.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String(arn), IsMultiRegionTrail: aws.Bool(false)}); err != nil {
		t.Fatalf("UpdateTrail IsMultiRegionTrail=false: %v", err)
	}
	time.Sleep(2500 * time.Millisecond) // room for a final digest
	settled := len(dlDigestKeys(t, b, "/CloudTrail-Digest/eu-west-1/"))
	eastBefore := len(dlDigestKeys(t, b, "/CloudTrail-Digest/us-east-1/"))
	time.Sleep(4 * time.Second) // two digest intervals
	if n := len(dlDigestKeys(t, b, "/CloudTrail-Digest/eu-west-1/")); n != settled {
		t.Errorf("eu-west-1 digests went from %d to %d after the trail became single-region (us-east-1)", settled, n)
	}
	if n := len(dlDigestKeys(t, b, "/CloudTrail-Digest/us-east-1/")); n <= eastBefore {
		t.Errorf("the home region's digests stopped too (%d, then %d)", eastBefore, n)
	}
}
