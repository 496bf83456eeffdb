package e2e

// Ownership of buckets, KMS keys and topics, confined key prefixes, and
// digest chains that fail alone (SPEC §8; issue 14, items 1 and 5): one
// account must not write into another's bucket, encrypt with its key, post
// to its topic, or — through its key prefix — stop another trail's digests.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// Account3 is the third account of owConfig, outside the organization.
const (
	Account3    = "333333333333"
	ThirdKey    = "AKIAOLGATHIRDACCT001" // olga, admin of Account3
	ThirdSecret = "olga-secret-key-0001"

	owKeyOwn    = "arn:aws:kms:us-east-1:111111111111:key/0a0a0a0a-1111-2222-3333-444455556666"
	owKeyShared = "arn:aws:kms:us-east-1:111111111111:key/0b0b0b0b-1111-2222-3333-444455556666"
	owTopicARN  = "arn:aws:sns:us-east-1:111111111111:alerts"
)

// owConfig is StandardConfig with a third account outside the organization
// of Account1 and Account2, and buckets, keys and a topic of Account1 that
// others may or may not use.
func owConfig(dir string) string {
	return StandardConfig + `  - id: "333333333333"
    users:
      - name: olga
        access_keys: [{id: ` + ThirdKey + `, secret: ` + ThirdSecret + `}]
        policy: admin
` + dlDelivery + `
organization: {id: o-a1b2c3d4e5, management_account: "111111111111", members: ["111111111111", "222222222222"]}
buckets:
  - {name: one-bucket, url: "file://` + dir + `/one", account: "111111111111"}
  - {name: shared-bucket, url: "file://` + dir + `/shared", account: "111111111111", writers: ["333333333333"]}
  - {name: org-bucket, url: "file://` + dir + `/org", account: "111111111111", writers: [organization]}
  - {name: bob-bucket, url: "file://` + dir + `/bob", account: "222222222222"}
kms_keys:
  - {arn: "` + owKeyOwn + `", account: "111111111111"}
  - {arn: "` + owKeyShared + `", account: "111111111111", users: ["222222222222"]}
topics:
  - {name: alerts, account: "111111111111", url: "http://127.0.0.1:9/hook"}
`
}

// owStatus is the HTTP status of an API error.
func owStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// owRefused asserts that err is code with HTTP 400 (the model's status).
func owRefused(t *testing.T, what string, err error, code string, parts ...string) {
	t.Helper()
	trErr(t, what, err, code, parts...)
	if err != nil && owStatus(err) != 400 {
		t.Errorf("%s: HTTP %d, want 400", what, owStatus(err))
	}
}

// owNoTrail asserts that c's account has no trail named name.
func owNoTrail(t *testing.T, c *cloudtrail.Client, name string) {
	t.Helper()
	_, err := c.GetTrail(context.Background(), &cloudtrail.GetTrailInput{Name: aws.String(name)})
	trErr(t, "GetTrail "+name+" after a refused CreateTrail", err, "TrailNotFoundException")
}

// TestOwnersCrossAccount: a trail may name a bucket, KMS key or topic only
// if its account owns it or is listed as a writer / user.
func TestOwnersCrossAccount(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: owConfig(t.TempDir())})
	ctx := context.Background()
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	olga := srv.CloudTrail(ThirdKey, ThirdSecret, "us-east-1")
	create := func(c *cloudtrail.Client, name, bucket string, more func(*cloudtrail.CreateTrailInput)) error {
		in := &cloudtrail.CreateTrailInput{Name: aws.String(name), S3BucketName: aws.String(bucket)}
		if more != nil {
			more(in)
		}
		_, err := c.CreateTrail(ctx, in)
		return err
	}

	// Buckets: another account's is refused, and nothing is created.
	err := create(bob, "bob-in-one", "one-bucket", nil)
	owRefused(t, "Account2 naming Account1's bucket", err, "InsufficientS3BucketPolicyException",
		"Incorrect S3 bucket policy is detected for bucket: one-bucket")
	owNoTrail(t, bob, "bob-in-one")
	err = create(olga, "olga-in-org", "org-bucket", nil)
	owRefused(t, "Account3 (not a member) naming a bucket written by the organization", err, "InsufficientS3BucketPolicyException")
	owNoTrail(t, olga, "olga-in-org")
	// A listed writer and "organization" are allowed.
	trOK(t, "Account3 in a bucket that lists it as a writer", create(olga, "olga-shared", "shared-bucket", nil))
	trOK(t, "Account2 (a member) in a bucket the organization may write", create(bob, "bob-org", "org-bucket", nil))
	// The management account's organization trail in its own bucket.
	trOK(t, "organization trail in the management account's bucket", create(alice, "org-trail", "one-bucket",
		func(in *cloudtrail.CreateTrailInput) { in.IsOrganizationTrail = aws.Bool(true) }))

	// KMS keys: another account's key is refused unless users: lists it.
	err = create(bob, "bob-key", "bob-bucket", func(in *cloudtrail.CreateTrailInput) { in.KmsKeyId = aws.String(owKeyOwn) })
	owRefused(t, "Account2 naming Account1's KMS key", err, "InsufficientEncryptionPolicyException", owKeyOwn)
	owNoTrail(t, bob, "bob-key")
	trOK(t, "Account2 naming a KMS key that lists it as a user", create(bob, "bob-shared-key", "bob-bucket",
		func(in *cloudtrail.CreateTrailInput) { in.KmsKeyId = aws.String(owKeyShared) }))

	// Topics: only the owner's trails.
	err = create(bob, "bob-topic", "bob-bucket", func(in *cloudtrail.CreateTrailInput) { in.SnsTopicName = aws.String(owTopicARN) })
	owRefused(t, "Account2 naming Account1's topic", err, "InsufficientSnsTopicPolicyException")
	owNoTrail(t, bob, "bob-topic")
	trOK(t, "Account1 naming its topic", create(alice, "alice-topic", "one-bucket",
		func(in *cloudtrail.CreateTrailInput) { in.SnsTopicName = aws.String(owTopicARN) }))

	// UpdateTrail: the same rules, and a refused update changes nothing.
	trOK(t, "Account2's own trail", create(bob, "bob-own", "bob-bucket", nil))
	for _, tt := range []struct {
		what string
		in   cloudtrail.UpdateTrailInput
		code string
	}{
		{"bucket", cloudtrail.UpdateTrailInput{S3BucketName: aws.String("one-bucket")}, "InsufficientS3BucketPolicyException"},
		{"KMS key", cloudtrail.UpdateTrailInput{KmsKeyId: aws.String(owKeyOwn)}, "InsufficientEncryptionPolicyException"},
		{"topic", cloudtrail.UpdateTrailInput{SnsTopicName: aws.String(owTopicARN)}, "InsufficientSnsTopicPolicyException"},
		{"bucket and prefix", cloudtrail.UpdateTrailInput{S3BucketName: aws.String("one-bucket"), S3KeyPrefix: aws.String("x")}, "InsufficientS3BucketPolicyException"},
	} {
		in := tt.in
		in.Name = aws.String("bob-own")
		_, err := bob.UpdateTrail(ctx, &in)
		owRefused(t, "UpdateTrail to Account1's "+tt.what, err, tt.code)
	}
	got, err := bob.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("bob-own")})
	trOK(t, "GetTrail bob-own", err)
	if tr := got.Trail; aws.ToString(tr.S3BucketName) != "bob-bucket" || aws.ToString(tr.S3KeyPrefix) != "" ||
		aws.ToString(tr.KmsKeyId) != "" || aws.ToString(tr.SnsTopicARN) != "" {
		t.Errorf("bob-own after refused updates: bucket %q prefix %q key %q topic %q, want unchanged",
			aws.ToString(tr.S3BucketName), aws.ToString(tr.S3KeyPrefix), aws.ToString(tr.KmsKeyId), aws.ToString(tr.SnsTopicARN))
	}
}

// TestOwnersFirstClaim: an unlisted directory bucket belongs to the first
// account that creates a trail on it, also after a restart.
func TestOwnersFirstClaim(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	dlMkBucket(t, srv, "claimed")
	dlMkBucket(t, srv, "alice-logs")
	ctx := context.Background()
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")

	_, err := bob.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("first"), S3BucketName: aws.String("claimed")})
	trOK(t, "Account2 claims an unlisted bucket", err)
	_, err = alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("second"), S3BucketName: aws.String("claimed")})
	owRefused(t, "Account1 in Account2's claimed bucket", err, "InsufficientS3BucketPolicyException", "claimed")
	owNoTrail(t, alice, "second")
	_, err = alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("mine"), S3BucketName: aws.String("alice-logs")})
	trOK(t, "Account1 claims another bucket", err)
	_, err = alice.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("mine"), S3BucketName: aws.String("claimed")})
	owRefused(t, "Account1 moving a trail into Account2's bucket", err, "InsufficientS3BucketPolicyException")

	srv.Stop(t)
	srv = Start(t, Options{Config: dlConfig(), DataDir: srv.DataDir})
	alice = srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob = srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	_, err = alice.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("second"), S3BucketName: aws.String("claimed")})
	owRefused(t, "Account1 in Account2's claimed bucket after a restart", err, "InsufficientS3BucketPolicyException")
	_, err = bob.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("again"), S3BucketName: aws.String("claimed")})
	trOK(t, "Account2 in its claimed bucket after a restart", err)
	_, err = bob.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("intruder"), S3BucketName: aws.String("alice-logs")})
	owRefused(t, "Account2 in Account1's claimed bucket after a restart", err, "InsufficientS3BucketPolicyException")
}

// TestOwnersSingleAccount: with one configured account, every bucket, key
// and topic without account: is that account's.
func TestOwnersSingleAccount(t *testing.T) {
	t.Parallel()
	cfg := `
accounts:
  - id: "111111111111"
    users:
      - name: alice
        access_keys: [{id: ` + AdminKey + `, secret: ` + AdminSecret + `}]
        policy: admin
regions: [us-east-1]
buckets:
  - {name: listed, url: "file://` + t.TempDir() + `"}
kms_keys:
  - {arn: "` + owKeyOwn + `"}
topics:
  - {name: alerts, url: "http://127.0.0.1:9/hook"}
`
	srv := Start(t, Options{Config: cfg})
	dlMkBucket(t, srv, "unlisted")
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	for i, b := range []string{"listed", "unlisted"} {
		_, err := c.CreateTrail(context.Background(), &cloudtrail.CreateTrailInput{Name: aws.String(fmt.Sprintf("trail-%d", i)),
			S3BucketName: aws.String(b), KmsKeyId: aws.String(owKeyOwn), SnsTopicName: aws.String("alerts")})
		trOK(t, "the only account in bucket "+b, err)
	}
}

// TestOwnersConfigNeedsOwner: with several accounts, a listed bucket without
// account: stops the server at start with the file and line.
func TestOwnersConfigNeedsOwner(t *testing.T) {
	t.Parallel()
	cfg := StandardConfig + "buckets:\n  - {name: nobody, url: \"file:///tmp/x\"}\n"
	path := filepath.Join(t.TempDir(), "cairn.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code, _ := startupRun(t, nil, "serve", "--config", path, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0")
	line := strings.Count(StandardConfig, "\n") + 2
	want := fmt.Sprintf("%s:%d: buckets[0].account: several accounts are configured: add account:", path, line)
	if code == 0 || !strings.Contains(stderr, want) {
		t.Errorf("serve with an ownerless bucket: exit %d, stderr:\n%s\nwant it to say %q", code, stderr, want)
	}
}

// owAttackPrefix is the prefix of the attack: the key of an organization
// trail's next digest in Account1's part of the bucket.
const owAttackPrefix = "AWSLogs/o-a1b2c3d4e5/111111111111/CloudTrail-Digest/us-east-1/2026/12/06/" +
	"111111111111_CloudTrail-Digest_us-east-1_org_us-east-1_20261206T080000Z.json.gz"

// TestOwnersPrefixes: a prefix that could reach into AWSLogs/… of another
// account or trail, or escape, is InvalidS3PrefixException, and changes
// nothing.
func TestOwnersPrefixes(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig()})
	dlMkBucket(t, srv, "prefix-logs")
	ctx := context.Background()
	c := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	_, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String("base"), S3BucketName: aws.String("prefix-logs"),
		S3KeyPrefix: aws.String("keep")})
	trOK(t, "CreateTrail base", err)
	bad := []string{
		owAttackPrefix,
		"AWSLogs", "awslogs", "AWSLOGS/x", "x/AWSLogs", "x/awsLogs/y", "AWSLogs/222222222222",
		".cairn-meta", "x/.cairn-tmp",
		"/leading", "trailing/", "a//b", "/", "//",
		".", "..", "./a", "a/./b", "a/..", "../up", "a/../../b",
		`a\b`, `..\..\x`, "a\x00b", "a\nb",
		strings.Repeat("p", 201),
	}
	for i, p := range bad {
		_, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(fmt.Sprintf("bad%d", i)),
			S3BucketName: aws.String("prefix-logs"), S3KeyPrefix: aws.String(p)})
		owRefused(t, fmt.Sprintf("CreateTrail prefix %.40q", p), err, "InvalidS3PrefixException")
		_, err = c.UpdateTrail(ctx, &cloudtrail.UpdateTrailInput{Name: aws.String("base"), S3KeyPrefix: aws.String(p)})
		owRefused(t, fmt.Sprintf("UpdateTrail prefix %.40q", p), err, "InvalidS3PrefixException")
	}
	list, err := c.ListTrails(ctx, &cloudtrail.ListTrailsInput{})
	trOK(t, "ListTrails", err)
	if len(list.Trails) != 1 {
		t.Errorf("trails after refused prefixes: %d, want only base", len(list.Trails))
	}
	got, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("base")})
	trOK(t, "GetTrail base", err)
	if p := aws.ToString(got.Trail.S3KeyPrefix); p != "keep" {
		t.Errorf("base's prefix after refused updates: %q, want keep", p)
	}
	for i, p := range []string{"team/audit", "CloudTrail", "my.prefix-1", "logs.awslogs", "AWSLogs-archive", strings.Repeat("p", 200)} {
		_, err := c.CreateTrail(ctx, &cloudtrail.CreateTrailInput{Name: aws.String(fmt.Sprintf("good%d", i)),
			S3BucketName: aws.String("prefix-logs"), S3KeyPrefix: aws.String(p)})
		trOK(t, fmt.Sprintf("prefix %.40q", p), err)
		_, err = c.DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(fmt.Sprintf("good%d", i))})
		trOK(t, "DeleteTrail", err)
	}
}

// TestOwnersDigestChainsFailAlone reproduces the attack as far as the rules
// still allow: one chain of an organization trail cannot write its digests
// (a file stands where its folder must be). Its other chains, its log files,
// and another account's trail keep their digests and log files; the broken
// chain's region shows LatestDigestDeliveryError; once the way is clear the
// chain catches up.
func TestOwnersDigestChainsFailAlone(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig(dlOrganization)})
	org := dlDir{name: "org-logs", dir: dlMkBucket(t, srv, "org-logs")}
	bobs := dlDir{name: "bob-logs", dir: dlMkBucket(t, srv, "bob-logs")}
	// eu-west-1 sorts first among the org trail's chains of Account1.
	blocked := "AWSLogs/" + dlOrgID + "/" + Account1 + "/CloudTrail-Digest/eu-west-1"
	if err := os.MkdirAll(filepath.Dir(filepath.Join(org.dir, filepath.FromSlash(blocked))), 0o755); err != nil {
		t.Fatal(err)
	}
	org.Put(t, blocked, []byte("in the way"))

	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	orgARN := dlTrail(t, alice, "org", "org-logs", dlAll(dlMulti, dlValidation, func(in *cloudtrail.CreateTrailInput) {
		in.IsOrganizationTrail = aws.Bool(true)
	}))
	bobARN := dlTrail(t, bob, "bobs", "bob-logs", dlValidation)

	var ids []string
	for _, region := range dlRegions {
		ids = append(ids, dlIngest(t, srv,
			dlEvent("RunInstances", "ec2.amazonaws.com", region, Account1, nil),
			dlEvent("RunInstances", "ec2.amazonaws.com", region, Account2, nil))...)
	}
	// Log files keep arriving: the org trail's (the blocked chain's too)
	// and Bob's.
	dlWaitDelivered(t, srv, org, "AWSLogs/", ids, 60*time.Second)
	dlWaitDelivered(t, srv, bobs, "AWSLogs/", ids[1:2], 60*time.Second)

	// Digests keep arriving for every other chain, and for Bob's trail.
	wantDigests := map[string]dlDigestWant{}
	for _, a := range []string{Account1, Account2} {
		for _, r := range dlRegions {
			p := "AWSLogs/" + dlOrgID + "/" + a + "/CloudTrail-Digest/" + r + "/"
			if p != blocked+"/" {
				wantDigests[p] = dlDigestWant{org, 2}
			}
		}
	}
	wantDigests["AWSLogs/"+Account2+"/CloudTrail-Digest/us-east-1/"] = dlDigestWant{bobs, 2}
	var missing []string
	if !dlPoll(60*time.Second, func() bool {
		missing = owMissingDigests(t, wantDigests)
		return len(missing) == 0
	}) {
		t.Fatalf("digests stopped beside a broken chain: fewer than 2 under %v\nserver log:\n%s", missing, dlTail(srv.Log(), 40))
	}

	// The broken chain's region says so; another region and Bob's trail do not.
	var st *cloudtrail.GetTrailStatusOutput
	if !dlPoll(30*time.Second, func() bool {
		st = dlStatus(t, srv, "eu-west-1", orgARN)
		return aws.ToString(st.LatestDigestDeliveryError) != ""
	}) {
		t.Fatalf("GetTrailStatus of the org trail in eu-west-1: no LatestDigestDeliveryError (LatestDigestDeliveryTime %s)",
			dlTime(st.LatestDigestDeliveryTime))
	}
	if e := aws.ToString(dlStatus(t, srv, "us-west-2", orgARN).LatestDigestDeliveryError); e != "" {
		t.Errorf("GetTrailStatus of the org trail in us-west-2: LatestDigestDeliveryError %q", e)
	}
	bst, err := bob.GetTrailStatus(context.Background(), &cloudtrail.GetTrailStatusInput{Name: aws.String(bobARN)})
	trOK(t, "GetTrailStatus bobs", err)
	if e := aws.ToString(bst.LatestDigestDeliveryError); e != "" || bst.LatestDigestDeliveryTime == nil {
		t.Errorf("Bob's trail: LatestDigestDeliveryError %q, LatestDigestDeliveryTime %s", e, dlTime(bst.LatestDigestDeliveryTime))
	}
	// Backoff, not a failure every pass: a handful of attempts, not ~10 a second.
	if n := strings.Count(srv.Log(), "CloudTrail-Digest/eu-west-1"); n > 40 {
		t.Errorf("the broken chain was logged %d times", n)
	}

	// Cleared: the chain catches up and the error goes.
	org.Delete(t, blocked)
	if !dlPoll(90*time.Second, func() bool {
		return len(owMissingDigests(t, map[string]dlDigestWant{blocked + "/": {org, 1}})) == 0 &&
			aws.ToString(dlStatus(t, srv, "eu-west-1", orgARN).LatestDigestDeliveryError) == ""
	}) {
		t.Fatalf("the chain did not recover after its folder was cleared; keys: %v\nserver log:\n%s", org.Keys(t), dlTail(srv.Log(), 40))
	}
}

// dlDigestWant is how many digests a bucket must hold under a prefix.
type dlDigestWant struct {
	b dlBucket
	n int
}

// owMissingDigests lists the prefixes with fewer digests than wanted.
func owMissingDigests(t *testing.T, want map[string]dlDigestWant) []string {
	var missing []string
	for p, w := range want {
		n := 0
		for _, k := range w.b.Keys(t) {
			if strings.HasPrefix(k, p) && dlIsDigestKey(k) {
				n++
			}
		}
		if n < w.n {
			missing = append(missing, fmt.Sprintf("%s/%s (%d)", w.b.Name(), p, n))
		}
	}
	return missing
}

// TestOwnersDigestKeyIsAFolder is the attack's own mechanism: folders stand
// at the keys the organization trail's next digests of Account1 in
// us-east-1 will have (what account 333's prefix made before prefixes were
// confined). That chain fails and says so in us-east-1's status; the trail's
// other chains and another account's trail keep their digests.
func TestOwnersDigestKeyIsAFolder(t *testing.T) {
	t.Parallel()
	srv := Start(t, Options{Config: dlConfig(dlOrganization)})
	org := dlDir{name: "org-logs", dir: dlMkBucket(t, srv, "org-logs")}
	bobs := dlDir{name: "bob-logs", dir: dlMkBucket(t, srv, "bob-logs")}
	alice := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	bob := srv.CloudTrail(OtherKey, OtherSecret, "us-east-1")
	orgARN := dlTrail(t, alice, "org", "org-logs", dlAll(dlMulti, dlValidation, func(in *cloudtrail.CreateTrailInput) {
		in.IsOrganizationTrail = aws.Bool(true)
	}))
	dlTrail(t, bob, "bobs", "bob-logs", dlValidation)

	// The first digest of the chain tells when its next ones end: every
	// digest interval (2s) after it.
	chain := "AWSLogs/" + dlOrgID + "/" + Account1 + "/CloudTrail-Digest/us-east-1/"
	var first time.Time
	if !dlPoll(60*time.Second, func() bool {
		for _, k := range org.Keys(t) {
			if m := dlDigestTimeRE.FindStringSubmatch(k); m != nil && strings.HasPrefix(k, chain) {
				first, _ = time.Parse("20060102T150405Z", m[1])
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no first digest under %s; keys %v", chain, org.Keys(t))
	}
	for i := 1; i <= 300; i++ {
		end := first.Add(time.Duration(2*i) * time.Second).UTC()
		key := chain + end.Format("2006/01/02") + "/" + Account1 + "_CloudTrail-Digest_us-east-1_org_us-east-1_" +
			end.Format("20060102T150405Z") + ".json.gz"
		if err := os.MkdirAll(filepath.Join(org.dir, filepath.FromSlash(key), "AWSLogs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	marks := map[string]int{}
	count := func(b dlDir, prefix string) int {
		n := 0
		for _, k := range b.Keys(t) {
			if strings.HasPrefix(k, prefix) && dlIsDigestKey(k) {
				n++
			}
		}
		return n
	}
	others := map[string]dlDir{
		"AWSLogs/" + dlOrgID + "/" + Account2 + "/CloudTrail-Digest/us-east-1/": org,
		"AWSLogs/" + dlOrgID + "/" + Account1 + "/CloudTrail-Digest/us-west-2/": org,
		"AWSLogs/" + Account2 + "/CloudTrail-Digest/us-east-1/":                 bobs,
	}
	for p, b := range others {
		marks[p] = count(b, p)
	}
	var st *cloudtrail.GetTrailStatusOutput
	if !dlPoll(60*time.Second, func() bool {
		st = dlStatus(t, srv, "us-east-1", orgARN)
		return aws.ToString(st.LatestDigestDeliveryError) != ""
	}) {
		t.Fatalf("GetTrailStatus of the org trail in us-east-1: no LatestDigestDeliveryError while its next digest key is a folder\nserver log:\n%s",
			dlTail(srv.Log(), 30))
	}
	// After the failure, the other chains still gain digests.
	for p, b := range others {
		marks[p] = count(b, p)
	}
	if !dlPoll(60*time.Second, func() bool {
		for p, b := range others {
			if count(b, p) < marks[p]+2 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("digests stopped beside the blocked chain; keys: %v\nserver log:\n%s", org.Keys(t), dlTail(srv.Log(), 30))
	}
	if n := strings.Count(srv.Log(), "CloudTrail-Digest/us-east-1/"); n > 40 {
		t.Errorf("the blocked chain was logged %d times", n)
	}
}
