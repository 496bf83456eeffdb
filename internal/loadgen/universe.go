// Package loadgen drives a running Cairn server with synthetic load through
// its real interfaces (signed POST /v1/events batches, and LookupEvents
// through aws-sdk-go-v2) and reports throughput and exact latency
// percentiles. It is the engine of "cairn-bench".
//
// The synthetic data comes from a fixed universe (the same on every run and
// machine): a few dozen IAM users with their access keys, about ten AWS
// services with about forty event names, and a few thousand resources. A
// lookup run can therefore ask for values that an earlier ingest run wrote.
package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// User is a synthetic IAM user.
type User struct {
	Name        string
	PrincipalID string
	AccessKeys  []string
}

// EventName is one API call of a service.
type EventName struct {
	Name     string
	ReadOnly bool
	// Resources are the resource kinds (indexes into Service.Kinds) the call
	// names; empty for calls on no particular resource (List*, Describe*).
	Resources []int
	// Params builds the call's requestParameters (without padding).
	Params func(r *rand.Rand, res, arns []string) map[string]any
}

// ResourceKind is one resource type of a service.
type ResourceKind struct {
	// Type is the CloudTrail resource type, e.g. AWS::EC2::Instance.
	Type string
	// Names are the short names of the universe's resources of this kind.
	Names []string
	// arn makes the resource's ARN in an account and region.
	arn func(account, region, name string) string
}

// ARN is the ARN of the kind's resource name in account and region.
func (k *ResourceKind) ARN(account, region, name string) string { return k.arn(account, region, name) }

// Service is a synthetic AWS service.
type Service struct {
	Source string
	Kinds  []*ResourceKind
	Events []EventName
}

// Universe is the fixed set of users, services and resources the synthetic
// records are drawn from.
type Universe struct {
	Users    []User
	Services []*Service
}

// DefaultAccount is the account named in identities and ARNs when records
// carry no recipientAccountId (the server then files them under the
// caller's account, which the load generator cannot know).
const DefaultAccount = "123456789012"

// resourcesPerKind is how many resources of each kind the universe holds.
const resourcesPerKind = 250

var universe = buildUniverse()

// TheUniverse returns the fixed universe of synthetic data.
func TheUniverse() *Universe { return universe }

// EventSources lists every service's eventSource.
func (u *Universe) EventSources() []string {
	var out []string
	for _, s := range u.Services {
		out = append(out, s.Source)
	}
	return out
}

// EventNames lists every event name, in service order.
func (u *Universe) EventNames() []string {
	var out []string
	for _, s := range u.Services {
		for _, e := range s.Events {
			out = append(out, e.Name)
		}
	}
	return out
}

// UserNames lists the users' names.
func (u *Universe) UserNames() []string {
	var out []string
	for _, x := range u.Users {
		out = append(out, x.Name)
	}
	return out
}

// AccessKeyIDs lists every user's access keys.
func (u *Universe) AccessKeyIDs() []string {
	var out []string
	for _, x := range u.Users {
		out = append(out, x.AccessKeys...)
	}
	return out
}

// kinds lists the resource kinds, each once.
func (u *Universe) kinds() []*ResourceKind {
	var out []*ResourceKind
	seen := map[*ResourceKind]bool{}
	for _, s := range u.Services {
		for _, k := range s.Kinds {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out
}

// ResourceTypes lists the resource types.
func (u *Universe) ResourceTypes() []string {
	var out []string
	for _, k := range u.kinds() {
		out = append(out, k.Type)
	}
	return out
}

// ResourceCount is how many distinct resources the universe holds.
func (u *Universe) ResourceCount() int {
	n := 0
	for _, k := range u.kinds() {
		n += len(k.Names)
	}
	return n
}

const (
	upperB32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	lowerHex = "0123456789abcdef"
	lowerAN  = "abcdefghijklmnopqrstuvwxyz0123456789"
)

func randString(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func randUUID(r *rand.Rand) string {
	s := randString(r, 32, lowerHex)
	return s[0:8] + "-" + s[8:12] + "-4" + s[13:16] + "-" + string("89ab"[r.IntN(4)]) + s[17:20] + "-" + s[20:32]
}

func buildUniverse() *Universe {
	r := rand.New(rand.NewPCG(0xca124, 0xbe9c4))
	u := &Universe{}
	first := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
		"mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yasmin",
		"zoe", "amir", "bea", "chen", "dmitri", "eva", "farah", "goran"}
	last := []string{"ng", "smith", "garcia", "kowalski", "okafor", "tanaka", "silva", "novak", "haddad", "jensen"}
	for i, f := range first {
		u.Users = append(u.Users, User{Name: f + "." + last[i%len(last)]})
	}
	for _, bot := range []string{"deploy-bot", "ci-runner", "terraform", "backup-agent", "monitoring", "etl-pipeline"} {
		u.Users = append(u.Users, User{Name: bot})
	}
	for i := range u.Users {
		u.Users[i].PrincipalID = "AIDA" + randString(r, 17, upperB32)
		keys := 1
		if i%3 == 0 {
			keys = 2 // some users rotate keys
		}
		for range keys {
			u.Users[i].AccessKeys = append(u.Users[i].AccessKeys, "AKIA"+randString(r, 16, upperB32))
		}
	}

	words := []string{"prod", "staging", "dev", "analytics", "billing", "orders", "users", "search", "media",
		"logs", "reports", "payments", "inventory", "auth", "events", "cache", "ml", "web", "api", "batch"}
	name := func(i int, sep string) string {
		return words[i%len(words)] + sep + words[(i/len(words)+3)%len(words)] + sep + fmt.Sprintf("%03d", i)
	}
	kind := func(typ string, mk func(i int) string, arn func(a, reg, n string) string) *ResourceKind {
		k := &ResourceKind{Type: typ, arn: arn}
		for i := range resourcesPerKind {
			k.Names = append(k.Names, mk(i))
		}
		return k
	}
	ec2Instance := kind("AWS::EC2::Instance", func(int) string { return "i-0" + randString(r, 16, lowerHex) },
		func(a, reg, n string) string { return "arn:aws:ec2:" + reg + ":" + a + ":instance/" + n })
	ec2SG := kind("AWS::EC2::SecurityGroup", func(int) string { return "sg-0" + randString(r, 16, lowerHex) },
		func(a, reg, n string) string { return "arn:aws:ec2:" + reg + ":" + a + ":security-group/" + n })
	bucket := kind("AWS::S3::Bucket", func(i int) string { return "cairn-bench-" + name(i, "-") },
		func(a, reg, n string) string { return "arn:aws:s3:::" + n })
	iamUser := kind("AWS::IAM::User", func(i int) string { return "svc-" + name(i, "-") },
		func(a, reg, n string) string { return "arn:aws:iam::" + a + ":user/" + n })
	iamRole := kind("AWS::IAM::Role", func(i int) string { return "role-" + name(i, "-") },
		func(a, reg, n string) string { return "arn:aws:iam::" + a + ":role/" + n })
	iamPolicy := kind("AWS::IAM::Policy", func(i int) string { return "policy-" + name(i, "-") },
		func(a, reg, n string) string { return "arn:aws:iam::" + a + ":policy/" + n })
	function := kind("AWS::Lambda::Function", func(i int) string { return "fn-" + name(i, "-") },
		func(a, reg, n string) string { return "arn:aws:lambda:" + reg + ":" + a + ":function:" + n })
	table := kind("AWS::DynamoDB::Table", func(i int) string { return "tbl-" + name(i, "_") },
		func(a, reg, n string) string { return "arn:aws:dynamodb:" + reg + ":" + a + ":table/" + n })
	key := kind("AWS::KMS::Key", func(int) string { return randUUID(r) },
		func(a, reg, n string) string { return "arn:aws:kms:" + reg + ":" + a + ":key/" + n })
	db := kind("AWS::RDS::DBInstance", func(i int) string { return "db-" + name(i, "-") },
		func(a, reg, n string) string { return "arn:aws:rds:" + reg + ":" + a + ":db:" + n })
	topic := kind("AWS::SNS::Topic", func(i int) string { return "topic-" + name(i, "-") },
		func(a, reg, n string) string { return "arn:aws:sns:" + reg + ":" + a + ":" + n })
	queue := kind("AWS::SQS::Queue", func(i int) string { return "queue-" + name(i, "-") },
		func(a, reg, n string) string { return "arn:aws:sqs:" + reg + ":" + a + ":" + n })
	logGroup := kind("AWS::Logs::LogGroup", func(i int) string { return "lg-" + name(i, "-") },
		func(a, reg, n string) string { return "arn:aws:logs:" + reg + ":" + a + ":log-group:/aws/lambda/" + n })

	p := func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	// res names the call's resources: one argument per kind in Resources.
	u.Services = []*Service{
		{Source: "ec2.amazonaws.com", Kinds: []*ResourceKind{ec2Instance, ec2SG}, Events: []EventName{
			{Name: "DescribeInstances", ReadOnly: true, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("instancesSet", map[string]any{}, "filterSet", map[string]any{}, "maxResults", 1000)
			}},
			{Name: "RunInstances", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("instanceType", []string{"t3.micro", "m6i.large", "c7g.xlarge"}[r.IntN(3)],
					"instancesSet", map[string]any{"items": []any{map[string]any{"imageId": "ami-0" + randString(r, 16, lowerHex), "minCount": 1, "maxCount": 1}}})
			}},
			{Name: "StopInstances", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("instancesSet", map[string]any{"items": []any{map[string]any{"instanceId": res[0]}}}, "force", false)
			}},
			{Name: "TerminateInstances", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("instancesSet", map[string]any{"items": []any{map[string]any{"instanceId": res[0]}}})
			}},
			{Name: "DescribeSecurityGroups", ReadOnly: true, Resources: []int{1}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("securityGroupIdSet", map[string]any{"items": []any{map[string]any{"groupId": res[0]}}})
			}},
			{Name: "AuthorizeSecurityGroupIngress", Resources: []int{1}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("groupId", res[0], "ipPermissions", map[string]any{"items": []any{map[string]any{
					"ipProtocol": "tcp", "fromPort": 443, "toPort": 443}}})
			}},
		}},
		{Source: "s3.amazonaws.com", Kinds: []*ResourceKind{bucket}, Events: []EventName{
			{Name: "ListBuckets", ReadOnly: true, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("Host", "s3.amazonaws.com") }},
			{Name: "CreateBucket", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("bucketName", res[0], "Host", res[0]+".s3.amazonaws.com")
			}},
			{Name: "GetBucketPolicy", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("bucketName", res[0], "policy", "", "Host", res[0]+".s3.amazonaws.com")
			}},
			{Name: "PutBucketPolicy", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("bucketName", res[0], "policy", "", "Host", res[0]+".s3.amazonaws.com")
			}},
			{Name: "GetBucketAcl", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("bucketName", res[0], "acl", "", "Host", res[0]+".s3.amazonaws.com")
			}},
		}},
		{Source: "iam.amazonaws.com", Kinds: []*ResourceKind{iamUser, iamRole, iamPolicy}, Events: []EventName{
			{Name: "ListUsers", ReadOnly: true, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("maxItems", 100) }},
			{Name: "GetUser", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("userName", res[0]) }},
			{Name: "CreateUser", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("userName", res[0], "path", "/") }},
			{Name: "AttachUserPolicy", Resources: []int{0, 2}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("userName", res[0], "policyArn", arns[1])
			}},
			{Name: "GetRole", ReadOnly: true, Resources: []int{1}, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("roleName", res[0]) }},
			{Name: "CreateAccessKey", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("userName", res[0]) }},
		}},
		{Source: "lambda.amazonaws.com", Kinds: []*ResourceKind{function}, Events: []EventName{
			{Name: "ListFunctions20150331", ReadOnly: true, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("maxItems", 50) }},
			{Name: "GetFunction20150331v2", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("functionName", res[0]) }},
			{Name: "UpdateFunctionCode20150331v2", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("functionName", res[0], "publish", true, "s3Key", "builds/"+res[0]+".zip")
			}},
			{Name: "CreateFunction20150331", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("functionName", res[0], "runtime", "python3.12", "handler", "app.handler", "memorySize", 256)
			}},
		}},
		{Source: "dynamodb.amazonaws.com", Kinds: []*ResourceKind{table}, Events: []EventName{
			{Name: "ListTables", ReadOnly: true, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("limit", 100) }},
			{Name: "DescribeTable", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("tableName", res[0]) }},
			{Name: "CreateTable", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("tableName", res[0], "billingMode", "PAY_PER_REQUEST")
			}},
			{Name: "UpdateTable", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("tableName", res[0], "billingMode", "PROVISIONED")
			}},
		}},
		{Source: "kms.amazonaws.com", Kinds: []*ResourceKind{key}, Events: []EventName{
			{Name: "Decrypt", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("encryptionAlgorithm", "SYMMETRIC_DEFAULT", "keyId", res[0])
			}},
			{Name: "GenerateDataKey", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("keyId", res[0], "keySpec", "AES_256")
			}},
			{Name: "DescribeKey", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("keyId", res[0]) }},
			{Name: "ScheduleKeyDeletion", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("keyId", res[0], "pendingWindowInDays", 30)
			}},
		}},
		{Source: "sts.amazonaws.com", Kinds: []*ResourceKind{iamRole}, Events: []EventName{
			{Name: "GetCallerIdentity", ReadOnly: true, Params: func(r *rand.Rand, res, arns []string) map[string]any { return nil }},
			{Name: "AssumeRole", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("roleArn", arns[0], "roleSessionName", "session-"+randString(r, 8, lowerAN), "durationSeconds", 3600)
			}},
		}},
		{Source: "rds.amazonaws.com", Kinds: []*ResourceKind{db}, Events: []EventName{
			{Name: "DescribeDBInstances", ReadOnly: true, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("maxRecords", 100) }},
			{Name: "ModifyDBInstance", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("dBInstanceIdentifier", res[0], "applyImmediately", true)
			}},
			{Name: "CreateDBSnapshot", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("dBInstanceIdentifier", res[0], "dBSnapshotIdentifier", res[0]+"-snap")
			}},
		}},
		{Source: "sns.amazonaws.com", Kinds: []*ResourceKind{topic}, Events: []EventName{
			{Name: "ListTopics", ReadOnly: true, Params: func(r *rand.Rand, res, arns []string) map[string]any { return nil }},
			{Name: "CreateTopic", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("name", res[0]) }},
			{Name: "Subscribe", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("protocol", "https", "endpoint", "https://hooks.example.com/"+res[0])
			}},
		}},
		{Source: "sqs.amazonaws.com", Kinds: []*ResourceKind{queue}, Events: []EventName{
			{Name: "GetQueueAttributes", ReadOnly: true, Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("queueUrl", "https://sqs.us-east-1.amazonaws.com/"+res[0], "attributeNames", []string{"All"})
			}},
			{Name: "SetQueueAttributes", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("queueUrl", "https://sqs.us-east-1.amazonaws.com/"+res[0], "attributes", map[string]any{"VisibilityTimeout": "60"})
			}},
		}},
		{Source: "logs.amazonaws.com", Kinds: []*ResourceKind{logGroup}, Events: []EventName{
			{Name: "DescribeLogGroups", ReadOnly: true, Params: func(r *rand.Rand, res, arns []string) map[string]any { return p("limit", 50) }},
			{Name: "PutRetentionPolicy", Resources: []int{0}, Params: func(r *rand.Rand, res, arns []string) map[string]any {
				return p("logGroupName", "/aws/lambda/"+res[0], "retentionInDays", 30)
			}},
		}},
	}
	return u
}

// shortName is what LookupEvents matches a ResourceName against besides the
// ARN: the part after the ARN's last '/' or ':'.
func shortName(arn string) string {
	if i := strings.LastIndexAny(arn, "/:"); i >= 0 && i < len(arn)-1 {
		return arn[i+1:]
	}
	return arn
}
