package lakesql

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

// fx is one fixture event: the fields the tests' independent answers read,
// written out as a CloudTrail record.
type fx struct {
	ID, Time, Source, Name, Region, Category, EventType string
	IdentType, PrincipalID, Arn, Account, AccessKey     string
	UserName, IssuerName, IssuerArn                     string
	Recipient, IP, UserAgent, ErrorCode, ErrorMessage   string
	ReadOnly                                            bool
	Console                                             string // sessionCredentialFromConsole: "true" or ""
	TLS                                                 string
	Params                                              map[string]any
	Additional                                          map[string]any
	ResourceArns                                        []string
}

func (f *fx) time() time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", f.Time)
	if err != nil {
		panic(err)
	}
	return t
}

// record writes f as a CloudTrail record (absent fields left out).
func (f *fx) record() []byte {
	ui := map[string]any{"type": f.IdentType}
	put := func(m map[string]any, k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(ui, "principalId", f.PrincipalID)
	put(ui, "arn", f.Arn)
	put(ui, "accountId", f.Account)
	put(ui, "accessKeyId", f.AccessKey)
	put(ui, "userName", f.UserName)
	if f.IssuerName != "" || f.IssuerArn != "" {
		iss := map[string]any{"type": "Role"}
		put(iss, "userName", f.IssuerName)
		put(iss, "arn", f.IssuerArn)
		ui["sessionContext"] = map[string]any{"sessionIssuer": iss,
			"attributes": map[string]any{"creationDate": "2022-05-01T00:00:00Z", "mfaAuthenticated": "false"}}
	}
	rec := map[string]any{
		"eventVersion": "1.08", "userIdentity": ui, "eventTime": f.time().Format(time.RFC3339),
		"eventSource": f.Source, "eventName": f.Name, "awsRegion": f.Region, "eventID": f.ID,
		"readOnly": f.ReadOnly, "eventType": "AwsApiCall", "managementEvent": f.Category == "Management",
		"recipientAccountId": f.Recipient, "eventCategory": f.Category, "requestID": "req-" + f.ID,
		"requestParameters": f.Params,
	}
	put(rec, "sourceIPAddress", f.IP)
	put(rec, "userAgent", f.UserAgent)
	put(rec, "errorCode", f.ErrorCode)
	put(rec, "errorMessage", f.ErrorMessage)
	put(rec, "sessionCredentialFromConsole", f.Console)
	if f.TLS != "" {
		rec["tlsDetails"] = map[string]any{"tlsVersion": f.TLS, "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "h"}
	}
	if f.Additional != nil {
		rec["additionalEventData"] = f.Additional
	}
	if len(f.ResourceArns) > 0 {
		var rs []map[string]any
		for _, a := range f.ResourceArns {
			rs = append(rs, map[string]any{"ARN": a, "accountId": f.Recipient, "type": "AWS::Thing"})
		}
		rec["resources"] = rs
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	return b
}

// fixture builds the events: hand-written ones for the samples' needles,
// and a regular spread for the aggregations.
func fixture() []*fx {
	var out []*fx
	add := func(f fx) { f.ID = fmt.Sprintf("ev-%03d", len(out)); out = append(out, &f) }
	alice := fx{IdentType: "IAMUser", PrincipalID: "AIDAALICE", Arn: "arn:aws:iam::111111111111:user/alice",
		Account: "111111111111", AccessKey: "AKIAIOSFODNN7EXAMPLE", UserName: "alice", Recipient: "111111111111",
		IP: "192.0.2.76", UserAgent: "aws-cli/2.0", TLS: "TLSv1.3", Region: "us-east-1"}
	role := fx{IdentType: "AssumedRole", PrincipalID: "AROAROLE:sess", Arn: "arn:aws:sts::555555555555:assumed-role/alice/sess",
		Account: "555555555555", AccessKey: "ASIAROLE", IssuerName: "alice", IssuerArn: "arn:aws:iam::555555555555:role/alice",
		Recipient: "555555555555", IP: "198.51.100.7", UserAgent: "console.amazonaws.com", TLS: "TLSv1.2", Region: "eu-west-1"}
	svc := fx{IdentType: "AssumedRole", PrincipalID: "AROASVC:cfn", Arn: "arn:aws:sts::111111111111:assumed-role/AWSServiceRoleForX/cfn",
		Account: "111111111111", IssuerName: "AWSServiceRoleForX", Recipient: "111111111111", IP: "cloudformation.amazonaws.com", TLS: "TLSv1.3", Region: "us-west-2"}

	with := func(base fx, mod func(*fx)) fx { mod(&base); return base }
	// Console logins, one without MFA.
	add(with(alice, func(f *fx) {
		f.Time, f.Source, f.Name, f.Category = "2022-05-02 08:00:00", "signin.amazonaws.com", "ConsoleLogin", "Management"
		f.Additional = map[string]any{"MFAUsed": "No", "LoginTo": "https://console"}
	}))
	add(with(role, func(f *fx) {
		f.Time, f.Source, f.Name, f.Category = "2022-05-03 09:00:00", "signin.amazonaws.com", "ConsoleLogin", "Management"
		f.Additional = map[string]any{"MFAUsed": "Yes"}
	}))
	// S3 data events on two buckets.
	for i := 0; i < 9; i++ {
		add(with(alice, func(f *fx) {
			f.Time = fmt.Sprintf("2022-05-%02d 10:%02d:00", 4+i%5, i)
			f.Source, f.Category, f.ReadOnly = "s3.amazonaws.com", "Data", i%3 != 0
			f.Name = []string{"PutObject", "GetObject", "GetObject"}[i%3]
			bucket := []string{"my-bucket-name", "other-bucket"}[i%2]
			f.Params = map[string]any{"bucketName": bucket, "key": fmt.Sprintf("k%d", i%2), "Host": bucket + ".s3"}
			f.ResourceArns = []string{"arn:aws:s3:::" + bucket}
			if i == 4 {
				f.ErrorCode, f.ErrorMessage = "AccessDenied", "Access Denied"
			}
		}))
	}
	// IAM management events by the role, cross-account.
	for i := 0; i < 6; i++ {
		add(with(role, func(f *fx) {
			f.Time = fmt.Sprintf("2022-05-%02d 12:00:00", 10+i)
			f.Source, f.Category = "iam.amazonaws.com", "Management"
			f.Name = []string{"CreateUser", "AddUserToGroup", "ListUsers", "AddUserToGroup", "DeleteRole", "PutRolePolicy"}[i]
			f.ReadOnly = f.Name == "ListUsers"
			f.Recipient = "111111111111" // cross-account
			f.Console = "true"
			f.Params = map[string]any{"userName": fmt.Sprintf("u%d", i), "groupName": []string{"devs", "admins"}[i%2]}
			f.ResourceArns = []string{fmt.Sprintf("arn:aws:iam::111111111111:user/u%d", i)}
			if i == 4 {
				f.ErrorCode, f.ErrorMessage = "NoSuchEntity", "The role cannot be found"
			}
		}))
	}
	// STS: a role assuming itself, and another role.
	add(with(role, func(f *fx) {
		f.Time, f.Source, f.Name, f.Category = "2022-05-20 07:00:00", "sts.amazonaws.com", "AssumeRole", "Management"
		f.ResourceArns = []string{"arn:aws:iam::555555555555:role/alice"}
		f.ReadOnly = true
	}))
	add(with(role, func(f *fx) {
		f.Time, f.Source, f.Name, f.Category = "2022-05-21 07:00:00", "sts.amazonaws.com", "AssumeRole", "Management"
		f.ResourceArns = []string{"arn:aws:iam::555555555555:role/other"}
		f.ReadOnly = true
	}))
	// CloudTrail configuration changes, by a service role, with a TLS 1.2 call.
	for i, n := range []string{"CreateTrail", "StartLogging", "StopLogging", "DescribeTrails"} {
		add(with(svc, func(f *fx) {
			f.Time = fmt.Sprintf("2022-06-%02d 06:00:00", 1+i)
			f.Source, f.Name, f.Category = "cloudtrail.amazonaws.com", n, "Management"
			f.ReadOnly = n == "DescribeTrails"
			f.Params = map[string]any{"name": "trail-" + fmt.Sprint(i)}
			f.ResourceArns = []string{"arn:aws:cloudtrail:us-west-2:111111111111:trail/t"}
			if i == 2 {
				f.TLS = "TLSv1.2"
			}
		}))
	}
	// A week in January 2023 of EC2 calls by alice's access key and by the role.
	for i := 0; i < 8; i++ {
		base := alice
		if i%2 == 1 {
			base = role
		}
		add(with(base, func(f *fx) {
			f.Time = fmt.Sprintf("2023-01-%02d %02d:30:00", 2+i%6, 3*i)
			f.Source, f.Category = "ec2.amazonaws.com", "Management"
			f.Name = []string{"RunInstances", "DescribeInstances", "TerminateInstances", "DescribeInstances"}[i%4]
			f.ReadOnly = f.Name == "DescribeInstances"
			f.Params = map[string]any{"instanceType": "t3.micro", "maxCount": 1}
			if i == 5 {
				f.ErrorCode, f.ErrorMessage = "UnauthorizedOperation", "You are not authorized"
			}
		}))
	}
	// DynamoDB scans (management events named Scan).
	add(with(alice, func(f *fx) {
		f.Time, f.Source, f.Name, f.Category = "2022-07-01 00:00:00", "dynamodb.amazonaws.com", "scan", "Management"
	}))
	return out
}

// loadFixture opens a lake database holding the fixture in store "store1".
func loadFixture(t testing.TB) (*DB, []*fx) {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "lake.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fs := fixture()
	var evs []*event.Event
	for _, f := range fs {
		evs = append(evs, &event.Event{ID: f.ID, Time: f.time(), Record: f.record(), Account: f.Recipient, Region: f.Region})
	}
	if err := db.Insert(context.Background(), "store1", evs); err != nil {
		t.Fatal(err)
	}
	return db, fs
}

// openTemp opens a new lake.db in the test's temporary directory, closed
// when the test ends.
func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "lake.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fixtureRunner runs statements on the fixture's store (db from
// loadFixture), $EDS_ID standing for its ID.
func fixtureRunner(db *DB) func(sql string) (*Result, error) {
	return func(sql string) (*Result, error) {
		st, err := Parse(strings.ReplaceAll(sql, "$EDS_ID", storeID))
		if err != nil {
			return nil, err
		}
		return db.Run(context.Background(), st, RunOptions{Stores: map[string]string{storeID: "store1"}, Now: time.Now()})
	}
}
