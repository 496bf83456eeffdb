package e2e

// Buckets that trails used before claims were stored (issue 14, finding 3
// of the review): a trail saved while only one account was configured (or
// by an older version) keeps its unlisted bucket when a second account
// appears; a refused CreateTrail claims nothing; StartLogging and
// UpdateTrail refuse a trail whose bucket it may not use.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// ouSingleAccount is StandardConfig with only Account1 (and ivan ingesting
// for it alone), with fast delivery.
func ouSingleAccount(t *testing.T) string {
	t.Helper()
	i := strings.Index(StandardConfig, `  - id: "222222222222"`)
	if i < 0 {
		t.Fatal("StandardConfig has no Account2 to leave out")
	}
	cfg := strings.Replace(StandardConfig[:i], `        ingest_accounts: ["222222222222"]`+"\n", "", 1)
	return cfg + dlDelivery
}

// ouMoved lists the bucket "moved" (a directory in dir) as account's.
func ouMoved(dir, account string) string {
	return "buckets:\n  - {name: moved, url: \"file://" + dir + "\", account: \"" + account + "\"}\n"
}

// TestOwnersUnclaimedBucketKeepsItsTrail: a bucket Account1's trails named
// while it was the only account stays Account1's once Account2 is added,
// also after the trail naming it is deleted; Account1's trail still
// delivers there.
func TestOwnersUnclaimedBucketKeepsItsTrail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := Start(t, Options{Config: ouSingleAccount(t)})
	logs := dlDir{name: "alice-logs", dir: dlMkBucket(t, srv, "alice-logs")}
	dlMkBucket(t, srv, "old-logs")
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	_, err := alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("mine"), S3BucketName: aws.String("alice-logs")})
	trOK(t, "CreateTrail mine (the only account)", err)
	_, err = alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("old"), S3BucketName: aws.String("old-logs")})
	trOK(t, "CreateTrail old (the only account)", err)
	srv.Stop(t)

	// A second account is configured; Alice's trails are stopped, so none
	// of them has written (or claimed) anything.
	srv = Start(t, Options{Config: dlConfig(), DataDir: srv.DataDir})
	alice = srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	_, err = bob.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("steal"), S3BucketName: aws.String("alice-logs")})
	owRefused(t, "Account2 in the bucket of Account1's stopped trail", err, "InsufficientS3BucketPolicyException", "alice-logs")
	owNoTrail(t, bob, "steal")
	_, err = alice.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String("old")})
	trOK(t, "DeleteTrail old", err)
	_, err = bob.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("steal"), S3BucketName: aws.String("old-logs")})
	owRefused(t, "Account2 in the bucket of Account1's deleted trail", err, "InsufficientS3BucketPolicyException", "old-logs")
	owNoTrail(t, bob, "steal")

	// Alice's trail delivers to its bucket.
	_, err = alice.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("mine")})
	trOK(t, "StartLogging mine", err)
	ids := dlIngest(t, srv, dlEvent("RunInstances", "ec2.amazonaws.com", "us-east-1", Account1, nil))
	dlWaitDelivered(t, srv, logs, "AWSLogs/", ids, 60*time.Second)
	st, err := alice.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("mine")})
	trOK(t, "GetTrailStatus mine", err)
	if e := aws.ToString(st.LatestDeliveryError); e != "" {
		t.Errorf("mine: LatestDeliveryError %q", e)
	}
}

// TestOwnersRefusedRequestsClaimNothing: a CreateTrail refused for its name
// leaves the bucket it named free; StartLogging and UpdateTrail of a trail
// whose bucket became another account's are refused with the reason, and
// change nothing.
func TestOwnersRefusedRequestsClaimNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	moved := t.TempDir()
	srv := Start(t, Options{Config: dlConfig(ouMoved(moved, Account2))})
	dlMkBucket(t, srv, "free-logs")
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	// A CreateTrail refused for its name claims nothing.
	_, err := bob.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("bobs"), S3BucketName: aws.String("moved")})
	trOK(t, "CreateTrail bobs in Account2's listed bucket", err)
	_, err = bob.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("bobs"), S3BucketName: aws.String("free-logs")})
	owRefused(t, "CreateTrail of an existing name", err, "TrailAlreadyExistsException")
	_, err = alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("free"), S3BucketName: aws.String("free-logs")})
	trOK(t, "Account1 in the bucket a refused CreateTrail of Account2 named", err)
	srv.Stop(t)

	// "moved" now belongs to Account1: Bob's trail there may not start or
	// change, and says why.
	srv = Start(t, Options{Config: dlConfig(ouMoved(moved, Account1)), DataDir: srv.DataDir})
	bob = srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	_, err = bob.StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String("bobs")})
	owRefused(t, "StartLogging of a trail in another account's bucket", err, "InsufficientS3BucketPolicyException", "moved")
	bst, err := bob.GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String("bobs")})
	trOK(t, "GetTrailStatus bobs", err)
	if aws.ToBool(bst.IsLogging) {
		t.Errorf("bobs logs after a refused StartLogging")
	}
	_, err = bob.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("bobs"), EnableLogFileValidation: aws.Bool(true)})
	owRefused(t, "UpdateTrail of a trail in another account's bucket", err, "InsufficientS3BucketPolicyException", "moved")
	got, err := bob.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("bobs")})
	trOK(t, "GetTrail bobs", err)
	if aws.ToBool(got.Trail.LogFileValidationEnabled) {
		t.Errorf("bobs changed by a refused UpdateTrail")
	}
}
