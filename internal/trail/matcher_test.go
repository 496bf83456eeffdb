package trail_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/trail"
)

// selRecord loads testdata/selectors/<name>.json, completes it as ingest
// does (event.Decode) and reads its Fields from the stored record, as
// delivery does.
func selRecord(t testing.TB, name string) trail.Fields {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "selectors", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	e, ferr := event.Decode(raw, event.Context{Account: "111122223333", Now: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)})
	if ferr != nil {
		t.Fatalf("%s: Decode: %v", name, ferr)
	}
	f, err := trail.ParseFields(e.Record)
	if err != nil {
		t.Fatalf("%s: ParseFields: %v", name, err)
	}
	return f
}

func TestParseFields(t *testing.T) {
	cases := map[string]trail.Fields{
		"s3_get_object": {
			EventCategory: "Data", EventSource: "s3.amazonaws.com", EventName: "GetObject", EventType: "AwsApiCall",
			UserIdentityARN: "arn:aws:iam::111122223333:user/carol", ErrorCode: "NoSuchKey",
			ReadOnly: selBool(true), ManagementEvent: selBool(false),
			Resources: []event.Resource{
				{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::data/reports/2026/q4.csv"},
				{AccountID: "111122223333", Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::data"},
			},
		},
		"s3_put_object": {
			EventCategory: "Data", EventSource: "s3.amazonaws.com", EventName: "PutObject", EventType: "AwsApiCall",
			UserIdentityARN: "arn:aws:sts::111122223333:assumed-role/Ingest/ingest", VPCEndpointID: "vpce-0a1b2c3d4e5f60718",
			ReadOnly: selBool(false), ManagementEvent: selBool(false),
			Resources: []event.Resource{
				{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::logs/app/2026/11/26/app.log.gz"},
				{AccountID: "111122223333", Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::logs"},
			},
		},
		"console_list_buckets": {
			EventCategory: "Management", EventSource: "s3.amazonaws.com", EventName: "ListBuckets", EventType: "AwsApiCall",
			UserIdentityARN: "arn:aws:iam::111122223333:user/dave", ReadOnly: selBool(true), ManagementEvent: selBool(true),
			SessionCredentialFromConsole: "true",
		},
		"kms_network_activity": {
			EventCategory: "NetworkActivity", EventSource: "kms.amazonaws.com", EventName: "ListKeys", EventType: "AwsVpceEvent",
			ErrorCode: "VpceAccessDenied", VPCEndpointID: "vpce-0123456789abcdef0", ManagementEvent: selBool(false),
		},
		"insight_start": {
			EventCategory: "Insight", EventSource: "ec2.amazonaws.com", EventName: "RunInstances", EventType: "AwsCloudTrailInsight",
		},
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			got := selRecord(t, name)
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("ParseFields:\n got %s\nwant %s", g, w)
			}
		})
	}
}

func TestParseFieldsExactKeys(t *testing.T) {
	// encoding/json matches struct fields case-insensitively; ParseFields
	// must not, or a producer could steer selectors with "EventSource".
	rec := `{"eventCategory":"Management","eventSource":"iam.amazonaws.com","EventSource":"kms.amazonaws.com","EVENTNAME":"Spoof","eventName":"CreateUser",` +
		`"readOnly":false,"ReadOnly":true,"Resources":"not a list","userIdentity":{"arn":"arn:aws:iam::111122223333:user/a","ARN":"arn:aws:iam::111122223333:user/b"},` +
		`"UserIdentity":5,"resources":[{"ARN":"arn:aws:s3:::b","Arn":"x","type":"AWS::S3::Bucket","Type":"y"}]}`
	f, err := trail.ParseFields([]byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	want := trail.Fields{EventCategory: "Management", EventSource: "iam.amazonaws.com", EventName: "CreateUser",
		UserIdentityARN: "arn:aws:iam::111122223333:user/a", ReadOnly: selBool(false),
		Resources: []event.Resource{{ARN: "arn:aws:s3:::b", Type: "AWS::S3::Bucket"}}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("ParseFields = %+v, want %+v", f, want)
	}
}

func TestParseFieldsForms(t *testing.T) {
	cases := []struct {
		rec  string
		want trail.Fields
	}{
		{`{}`, trail.Fields{}},
		{`{"readOnly":null,"resources":null,"userIdentity":null,"eventName":null,"sessionCredentialFromConsole":null}`, trail.Fields{}},
		{`{"readOnly":"true","managementEvent":"false"}`, trail.Fields{ReadOnly: selBool(true), ManagementEvent: selBool(false)}},
		{`{"sessionCredentialFromConsole":true}`, trail.Fields{SessionCredentialFromConsole: "true"}},
		{`{"sessionCredentialFromConsole":"maybe"}`, trail.Fields{SessionCredentialFromConsole: "maybe"}},
		{`{"resources":[]}`, trail.Fields{Resources: []event.Resource{}}},
		{`{"eventName":"Top","insightDetails":{"eventName":"Inner","eventSource":"ec2.amazonaws.com"}}`, trail.Fields{EventName: "Top", EventSource: "ec2.amazonaws.com"}},
		{`{"eventName":"\u0041ssume\u0052ole"}`, trail.Fields{EventName: "AssumeRole"}},
	}
	for _, tc := range cases {
		f, err := trail.ParseFields([]byte(tc.rec))
		if err != nil {
			t.Errorf("%s: %v", tc.rec, err)
			continue
		}
		if !reflect.DeepEqual(f, tc.want) {
			t.Errorf("%s: ParseFields = %+v, want %+v", tc.rec, f, tc.want)
		}
	}
	for _, bad := range []string{
		``, `null`, `[]`, `"x"`, `{`,
		`{"eventName":5}`, `{"readOnly":"yes"}`, `{"readOnly":1}`, `{"managementEvent":{}}`,
		`{"resources":{}}`, `{"resources":[1]}`, `{"resources":[{"ARN":5}]}`, `{"resources":[{"type":true}]}`,
		`{"userIdentity":"root"}`, `{"userIdentity":{"arn":["x"]}}`, `{"sessionCredentialFromConsole":1}`,
		`{"insightDetails":[]}`, `{"insightDetails":{"eventName":1}}`, `{"insightDetails":{"eventSource":false}}`,
	} {
		if f, err := trail.ParseFields([]byte(bad)); err == nil {
			t.Errorf("ParseFields(%s) = %+v, want an error", bad, f)
		} else if !strings.HasPrefix(err.Error(), "trail: ") {
			t.Errorf("ParseFields(%s) error %q lacks the package prefix", bad, err)
		}
	}
}

// selMatchCase is one selector configuration and the records it takes.
type selMatchCase struct {
	name      string
	basic     []trail.EventSelector
	advanced  []trail.AdvancedEventSelector
	takes     []string // record names (testdata/selectors) taken
	partition string   // of the selectors, when not "aws"
}

var selRecordNames = []string{
	"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets",
	"s3_get_object", "s3_put_object", "lambda_invoke", "dynamodb_get_item",
	"kms_network_activity", "insight_start",
}

var selMatchCases = []selMatchCase{
	// Basic selectors: ReadWriteType × management/data.
	{name: "default selectors", basic: nil,
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "explicit default", basic: trail.DefaultSelectors(),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "empty selector means all management", basic: selBasic(`[{}]`),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "management read only", basic: selBasic(`[{"ReadWriteType":"ReadOnly"}]`),
		takes: []string{"ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "management write only", basic: selBasic(`[{"ReadWriteType":"WriteOnly"}]`),
		takes: []string{"iam_create_user"}},
	{name: "no management events", basic: selBasic(`[{"IncludeManagementEvents":false}]`)},
	{name: "exclude kms", basic: selBasic(`[{"ExcludeManagementEventSources":["kms.amazonaws.com"]}]`),
		takes: []string{"iam_create_user", "ec2_describe_instances", "console_list_buckets"}},
	{name: "exclude rdsdata only", basic: selBasic(`[{"ExcludeManagementEventSources":["rdsdata.amazonaws.com"]}]`),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "exclusion in one selector, another selector takes kms", basic: selBasic(`[{"ExcludeManagementEventSources":["kms.amazonaws.com"]},{"ReadWriteType":"ReadOnly"}]`),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "all S3 objects, arn:aws:s3", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]`),
		takes: []string{"s3_get_object", "s3_put_object"}},
	{name: "all S3 objects, arn:aws:s3:::", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::"]}]}]`),
		takes: []string{"s3_get_object", "s3_put_object"}},
	{name: "S3 whole bucket", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::data/"]}]}]`),
		takes: []string{"s3_get_object"}},
	{name: "S3 object prefix", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::logs/app/2026/"]}]}]`),
		takes: []string{"s3_put_object"}},
	{name: "S3 object prefix not matching", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::data/reports/2025/","arn:aws:s3:::logs/db/"]}]}]`)},
	{name: "S3 bucket name is not a prefix of another bucket", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::dat/","arn:aws:s3:::log/"]}]}]`)},
	{name: "S3 other partition", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws-cn:s3"]}]}]`), partition: "aws-cn"},
	{name: "S3 data and management", basic: selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::data/"]}]}]`),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets", "s3_get_object"}},
	{name: "S3 data read only", basic: selBasic(`[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]`),
		takes: []string{"s3_get_object"}},
	{name: "S3 data write only", basic: selBasic(`[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]`),
		takes: []string{"s3_put_object"}},
	{name: "exclusions do not apply to data events", basic: selBasic(`[{"IncludeManagementEvents":false,"ExcludeManagementEventSources":["kms.amazonaws.com"],"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb"]}]}]`),
		takes: []string{"dynamodb_get_item"}},
	{name: "all Lambda functions", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda"]}]}]`),
		takes: []string{"lambda_invoke"}},
	{name: "Lambda exact function", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda:us-west-2:111122223333:function:helloworld"]}]}]`),
		takes: []string{"lambda_invoke"}},
	{name: "Lambda no prefix match", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda:us-west-2:111122223333:function:hello"]}]}]`)},
	{name: "Lambda other region", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda:us-east-1:111122223333:function:helloworld"]}]}]`)},
	{name: "Lambda write only takes Invoke", basic: selBasic(`[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda"]}]}]`),
		takes: []string{"lambda_invoke"}},
	{name: "Lambda read only skips Invoke", basic: selBasic(`[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda"]}]}]`)},
	{name: "all DynamoDB tables", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb"]}]}]`),
		takes: []string{"dynamodb_get_item"}},
	{name: "DynamoDB exact table", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb:us-east-1:111122223333:table/Orders"]}]}]`),
		takes: []string{"dynamodb_get_item"}},
	{name: "DynamoDB no prefix match", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb:us-east-1:111122223333:table/Ord"]}]}]`)},
	{name: "DynamoDB write only", basic: selBasic(`[{"ReadWriteType":"WriteOnly","IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb"]}]}]`)},
	{name: "data resource type must match the resource's type", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda"]},{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb:us-west-2:111122223333:table/xyz"]}]}]`),
		takes: []string{"lambda_invoke"}},
	{name: "several types and selectors ORed", basic: selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::logs/"]}]},{"ReadWriteType":"ReadOnly","IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb"]},{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::data/reports/"]}]}]`),
		takes: []string{"s3_put_object", "s3_get_object", "dynamodb_get_item"}},

	// Advanced selectors: every field and operator.
	{name: "adv management", advanced: selAdvList(selAdv(selMgmt)),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "adv network activity", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "NetworkActivity"))),
		takes: []string{"kms_network_activity"}},
	{name: "adv categories Management or NetworkActivity", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "Management", "NetworkActivity"))),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets", "kms_network_activity"}},
	{name: "adv all S3 objects", advanced: selAdvList(selAdv(selData, selS3Objects)),
		takes: []string{"s3_get_object", "s3_put_object"}},
	{name: "adv resources.type Lambda", advanced: selAdvList(selAdv(selData, selFieldJSON("resources.type", "Equals", "AWS::Lambda::Function"))),
		takes: []string{"lambda_invoke"}},
	{name: "adv resources.type of a secondary resource", advanced: selAdvList(selAdv(selData, selFieldJSON("resources.type", "Equals", "AWS::S3::Bucket"))),
		takes: []string{"s3_get_object", "s3_put_object"}},
	{name: "adv management readOnly true", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("readOnly", "Equals", "true"))),
		takes: []string{"ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "adv management readOnly false", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("readOnly", "Equals", "false"))),
		takes: []string{"iam_create_user"}},
	{name: "adv readOnly false takes events without readOnly", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "NetworkActivity"), selFieldJSON("readOnly", "Equals", "false"))),
		takes: []string{"kms_network_activity"}},
	{name: "adv eventSource NotEquals kms", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventSource", "NotEquals", "kms.amazonaws.com", "rdsdata.amazonaws.com"))),
		takes: []string{"iam_create_user", "ec2_describe_instances", "console_list_buckets"}},
	{name: "adv eventSource Equals", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventSource", "Equals", "ec2.amazonaws.com", "iam.amazonaws.com"))),
		takes: []string{"iam_create_user", "ec2_describe_instances"}},
	{name: "adv eventName Equals", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("eventName", "Equals", "PutObject", "DeleteObject"))),
		takes: []string{"s3_put_object"}},
	{name: "adv eventName StartsWith", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "StartsWith", "Describe", "List"))),
		takes: []string{"ec2_describe_instances", "console_list_buckets"}},
	{name: "adv eventName NotStartsWith", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "NotStartsWith", "Describe", "List", "Get"))),
		takes: []string{"iam_create_user", "kms_decrypt"}},
	{name: "adv eventName EndsWith", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "EndsWith", "User", "crypt"))),
		takes: []string{"iam_create_user", "kms_decrypt"}},
	{name: "adv eventName NotEndsWith", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "NotEndsWith", "User", "crypt"))),
		takes: []string{"ec2_describe_instances", "console_list_buckets"}},
	{name: "adv eventName is case-sensitive", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "Equals", "createuser", "CREATEUSER"))),
		takes: nil},
	{name: "adv eventType", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "Management", "NetworkActivity"), selFieldJSON("eventType", "Equals", "AwsVpceEvent"))),
		takes: []string{"kms_network_activity"}},
	{name: "adv eventType NotEquals", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "Management", "NetworkActivity"), selFieldJSON("eventType", "NotEquals", "AwsVpceEvent"))),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "adv resources.ARN StartsWith bucket", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("resources.ARN", "StartsWith", "arn:aws:s3:::data/"))),
		takes: []string{"s3_get_object"}},
	{name: "adv resources.ARN Equals exact object", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("resources.ARN", "Equals", "arn:aws:s3:::logs/app/2026/11/26/app.log.gz"))),
		takes: []string{"s3_put_object"}},
	{name: "adv resources.ARN EndsWith", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("resources.ARN", "EndsWith", ".csv"))),
		takes: []string{"s3_get_object"}},
	{name: "adv resources.ARN NotEndsWith", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("resources.ARN", "NotEndsWith", ".csv"))),
		takes: []string{"s3_put_object"}},
	{name: "adv resources.ARN NotEquals", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("resources.ARN", "NotEquals", "arn:aws:s3:::logs/app/2026/11/26/app.log.gz"))),
		takes: []string{"s3_get_object"}},
	// The same resource must satisfy resources.type and resources.ARN: the
	// bucket resource "arn:aws:s3:::logs" does not start with "…logs/", but
	// it is not an AWS::S3::Object, so the logs bucket stays excluded.
	{name: "adv resources.ARN NotStartsWith excludes a bucket", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("resources.ARN", "NotStartsWith", "arn:aws:s3:::logs/"))),
		takes: []string{"s3_get_object"}},
	{name: "adv resources.ARN on another type's resource", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("resources.ARN", "Equals", "arn:aws:s3:::data"))),
		takes: nil},
	{name: "adv resources.ARN Lambda exact", advanced: selAdvList(selAdv(selData, selFieldJSON("resources.type", "Equals", "AWS::Lambda::Function"), selFieldJSON("resources.ARN", "Equals", "arn:aws:lambda:us-west-2:111122223333:function:helloworld"))),
		takes: []string{"lambda_invoke"}},
	{name: "adv resources.ARN DynamoDB StartsWith", advanced: selAdvList(selAdv(selData, selFieldJSON("resources.type", "Equals", "AWS::DynamoDB::Table"), selFieldJSON("resources.ARN", "StartsWith", "arn:aws:dynamodb:us-east-1:111122223333:table/Ord"))),
		takes: []string{"dynamodb_get_item"}},
	{name: "adv resources.ARN on management events", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("resources.ARN", "StartsWith", "arn:aws:kms:"))),
		takes: []string{"kms_decrypt"}},
	{name: "adv resources condition fails events without resources", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("resources.ARN", "NotStartsWith", "arn:aws:kms:"))),
		takes: nil},
	{name: "adv userIdentity.arn StartsWith", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "Management", "Data"), selFieldJSON("resources.type", "Equals", "AWS::S3::Object"), selFieldJSON("userIdentity.arn", "StartsWith", "arn:aws:iam::111122223333:user/"))),
		takes: []string{"s3_get_object"}},
	{name: "adv userIdentity.arn EndsWith session", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("userIdentity.arn", "EndsWith", "/alice"))),
		takes: []string{"iam_create_user"}},
	{name: "adv userIdentity.arn NotStartsWith takes events without it", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("userIdentity.arn", "NotStartsWith", "arn:aws:sts::"))),
		takes: []string{"ec2_describe_instances", "kms_decrypt", "console_list_buckets"}},
	{name: "adv sessionCredentialFromConsole true", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("sessionCredentialFromConsole", "Equals", "true"))),
		takes: []string{"console_list_buckets"}},
	{name: "adv sessionCredentialFromConsole false when absent", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("sessionCredentialFromConsole", "Equals", "false"))),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt"}},
	{name: "adv sessionCredentialFromConsole NotEquals true", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("sessionCredentialFromConsole", "NotEquals", "true"))),
		takes: []string{"iam_create_user", "ec2_describe_instances", "kms_decrypt"}},
	{name: "adv errorCode", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "NetworkActivity"), selFieldJSON("eventSource", "Equals", "kms.amazonaws.com"), selFieldJSON("errorCode", "Equals", "VpceAccessDenied"))),
		takes: []string{"kms_network_activity"}},
	{name: "adv errorCode on selData events", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("errorCode", "NotEquals", "NoSuchKey"))),
		takes: []string{"s3_put_object"}},
	{name: "adv vpcEndpointId StartsWith", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "Data", "NetworkActivity"), selFieldJSON("resources.type", "Equals", "AWS::S3::Object"), selFieldJSON("vpcEndpointId", "StartsWith", "vpce-0a1b"))),
		takes: []string{"s3_put_object"}},
	{name: "adv vpcEndpointId NotEquals", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "NetworkActivity"), selFieldJSON("vpcEndpointId", "NotEquals", "vpce-0123456789abcdef0"))),
		takes: nil},
	// ANDs: several operators on one field, several fields.
	{name: "adv operators on one field are ANDed", advanced: selAdvanced(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventName","StartsWith":["Describe","Create","List"],"NotEndsWith":["Buckets"],"NotEquals":["CreateUser"]}]}]`),
		takes: []string{"ec2_describe_instances"}},
	{name: "adv resource operators are ANDed on one resource", advanced: selAdvanced(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"resources.ARN","StartsWith":["arn:aws:s3:::"],"EndsWith":[".gz"],"NotStartsWith":["arn:aws:s3:::data/"]}]}]`),
		takes: []string{"s3_put_object"}},
	{name: "adv fields are ANDed", advanced: selAdvList(selAdv(selData, selS3Objects, selFieldJSON("readOnly", "Equals", "true"), selFieldJSON("eventName", "Equals", "GetObject", "PutObject"))),
		takes: []string{"s3_get_object"}},
	// ORs: selectors.
	{name: "adv selectors are ORed", advanced: selAdvList(
		selAdv(selMgmt, selFieldJSON("readOnly", "Equals", "false")),
		selAdv(selData, selFieldJSON("resources.type", "Equals", "AWS::DynamoDB::Table")),
		selAdv(selData, selFieldJSON("resources.type", "Equals", "AWS::Lambda::Function"), selFieldJSON("eventName", "Equals", "Invoke")),
	), takes: []string{"iam_create_user", "dynamodb_get_item", "lambda_invoke"}},
	{name: "adv many Equals values use a set", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "Equals", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "Decrypt", "K"))),
		takes: []string{"kms_decrypt"}},
	{name: "adv many NotEquals values use a set", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "NotEquals", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "Decrypt", "K"))),
		takes: []string{"iam_create_user", "ec2_describe_instances", "console_list_buckets"}},
}

func TestMatchRecords(t *testing.T) {
	fields := make(map[string]*trail.Fields, len(selRecordNames))
	for _, n := range selRecordNames {
		f := selRecord(t, n)
		fields[n] = &f
	}
	for _, tc := range selMatchCases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.basic != nil || tc.advanced != nil {
				if err := trail.ValidateSelectors(tc.basic, tc.advanced, tc.partition); err != nil {
					t.Fatalf("test selectors are not valid: %v", err)
				}
			}
			m, err := trail.Compile(tc.basic, tc.advanced)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range selRecordNames {
				want := false
				for _, x := range tc.takes {
					want = want || x == n
				}
				if got := m.Match(fields[n]); got != want {
					t.Errorf("%s: Match = %v, want %v", n, got, want)
				}
			}
		})
	}
}

func TestMatchFieldsDirect(t *testing.T) {
	mgmtWrite := trail.Fields{EventCategory: "Management", EventSource: "iam.amazonaws.com", EventName: "CreateRole", ReadOnly: selBool(false)}
	mgmtRead := trail.Fields{EventCategory: "Management", EventSource: "iam.amazonaws.com", EventName: "GetRole", ReadOnly: selBool(true)}
	mgmtNoReadOnly := trail.Fields{EventCategory: "Management", EventSource: "signin.amazonaws.com", EventName: "ConsoleLogin"}
	legacyData := trail.Fields{EventSource: "s3.amazonaws.com", EventName: "GetObject", ReadOnly: selBool(true), ManagementEvent: selBool(false),
		Resources: []event.Resource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::b/k"}}}
	legacyMgmt := trail.Fields{EventSource: "ec2.amazonaws.com", EventName: "RunInstances", ReadOnly: selBool(false)}
	insight := trail.Fields{EventType: "AwsCloudTrailInsight", EventSource: "ec2.amazonaws.com", EventName: "RunInstances"}
	s3Prefix := func(key string) *trail.Fields {
		return &trail.Fields{EventCategory: "Data", EventSource: "s3.amazonaws.com", EventName: "GetObject", ReadOnly: selBool(true),
			Resources: []event.Resource{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::bucket/" + key}, {Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::bucket"}}}
	}
	cases := []struct {
		name     string
		basic    []trail.EventSelector
		advanced []trail.AdvancedEventSelector
		f        *trail.Fields
		want     bool
	}{
		{"write only takes a write", selBasic(`[{"ReadWriteType":"WriteOnly"}]`), nil, &mgmtWrite, true},
		{"write only skips a read", selBasic(`[{"ReadWriteType":"WriteOnly"}]`), nil, &mgmtRead, false},
		{"read only skips a write", selBasic(`[{"ReadWriteType":"ReadOnly"}]`), nil, &mgmtWrite, false},
		{"missing readOnly counts as a write (WriteOnly)", selBasic(`[{"ReadWriteType":"WriteOnly"}]`), nil, &mgmtNoReadOnly, true},
		{"missing readOnly counts as a write (ReadOnly)", selBasic(`[{"ReadWriteType":"ReadOnly"}]`), nil, &mgmtNoReadOnly, false},
		{"missing readOnly is readOnly false (advanced)", nil, selAdvList(selAdv(selMgmt, selFieldJSON("readOnly", "Equals", "false"))), &mgmtNoReadOnly, true},
		{"missing readOnly is not readOnly true (advanced)", nil, selAdvList(selAdv(selMgmt, selFieldJSON("readOnly", "Equals", "true"))), &mgmtNoReadOnly, false},
		{"no eventCategory, managementEvent false is data", selBasic(`[{"IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]`), nil, &legacyData, true},
		{"no eventCategory, managementEvent false is not management", nil, nil, &legacyData, false},
		{"no eventCategory is management", nil, nil, &legacyMgmt, true},
		{"no eventCategory is management (advanced)", nil, selAdvList(selAdv(selMgmt)), &legacyMgmt, true},
		{"insight events do not match basic selectors", nil, nil, &insight, false},
		{"insight events do not match advanced selectors", nil, selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "Management", "Data", "NetworkActivity"), selS3Objects)), &insight, false},
		{"network activity does not match basic selectors", nil, nil, &trail.Fields{EventCategory: "NetworkActivity", EventSource: "kms.amazonaws.com"}, false},
		{"S3 prefix covers a longer key", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::bucket/img"]}]}]`), nil, s3Prefix("img/cat.png"), true},
		{"S3 prefix covers a key with the prefix", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::bucket/img"]}]}]`), nil, s3Prefix("img2.zip"), true},
		{"S3 prefix does not cover another key", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::bucket/img"]}]}]`), nil, s3Prefix("doc/img"), false},
		{"S3 prefix is case-sensitive", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::bucket/IMG"]}]}]`), nil, s3Prefix("img/cat.png"), false},
		{"S3 whole bucket covers the empty key", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::bucket/"]}]}]`), nil, s3Prefix(""), true},
		{"data event without resources", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]}]}]`), nil, &trail.Fields{EventCategory: "Data", ReadOnly: selBool(true)}, false},
		{"Lambda qualified ARN is not the function", selBasic(`[{"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda:us-west-2:111111111111:function:helloworld"]}]}]`), nil,
			&trail.Fields{EventCategory: "Data", Resources: []event.Resource{{Type: "AWS::Lambda::Function", ARN: "arn:aws:lambda:us-west-2:111111111111:function:helloworld2"}}}, false},
		{"empty Fields, default selectors", nil, nil, &trail.Fields{}, true},
		{"nil Fields", nil, nil, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := trail.Compile(tc.basic, tc.advanced)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(tc.f); got != tc.want {
				t.Errorf("Match = %v, want %v", got, tc.want)
			}
		})
	}
	var nilMatcher *trail.Matcher
	if nilMatcher.Match(&mgmtWrite) {
		t.Error("a nil Matcher takes events")
	}
}

func TestCompileRejects(t *testing.T) {
	cases := []struct {
		name     string
		basic    []trail.EventSelector
		advanced []trail.AdvancedEventSelector
		code     string
		want     string
	}{
		{"both", selBasic(`[{}]`), selAdvList(selAdv(selMgmt)), "InvalidParameterCombinationException", "not both"},
		{"ReadWriteType", selBasic(`[{"ReadWriteType":"Both"}]`), nil, "InvalidEventSelectorsException", `ReadWriteType "Both"`},
		{"data type missing", selBasic(`[{"DataResources":[{"Values":["arn:aws:s3"]}]}]`), nil, "InvalidEventSelectorsException", "Type is required"},
		{"data type unknown", selBasic(`[{"DataResources":[{"Type":"AWS::SNS::Topic","Values":["arn:aws:sns"]}]}]`), nil, "InvalidEventSelectorsException", "not supported"},
		{"data value", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::*"]}]}]`), nil, "InvalidEventSelectorsException", "arn:aws:s3:::*"},
		{"no field selectors", nil, selAdvanced(`[{"FieldSelectors":[]}]`), "InvalidEventSelectorsException", "at least one field selector"},
		{"field missing", nil, selAdvanced(`[{"FieldSelectors":[{"Equals":["x"]}]}]`), "InvalidEventSelectorsException", "Field is required"},
		{"field unknown", nil, selAdvList(selAdv(selFieldJSON("eventID", "Equals", "x"))), "InvalidEventSelectorsException", `"eventID"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := trail.Compile(tc.basic, tc.advanced)
			if m != nil {
				t.Error("Compile returned a matcher with an error")
			}
			selAPIError(t, err, tc.code, tc.want)
		})
	}
}

// TestCompileCopies: a matcher does not change when the selectors it was
// compiled from do.
func TestCompileCopies(t *testing.T) {
	adv := selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "Equals", "CreateUser")))
	basic := selBasic(`[{"ExcludeManagementEventSources":["kms.amazonaws.com"]}]`)
	ma, err := trail.Compile(nil, adv)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := trail.Compile(basic, nil)
	if err != nil {
		t.Fatal(err)
	}
	adv[0].FieldSelectors[1].Equals[0] = "DeleteUser"
	basic[0].ExcludeManagementEventSources[0] = "iam.amazonaws.com"
	f := selRecord(t, "iam_create_user")
	if !ma.Match(&f) || !mb.Match(&f) {
		t.Error("changing the selectors after Compile changed the matcher")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	f := selRecord(t, "s3_put_object")
	for _, tc := range selMatchCases {
		m, err := trail.Compile(tc.basic, tc.advanced)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { m.Match(&f) }); n != 0 {
			t.Errorf("%s: Match allocates %v times per call", tc.name, n)
		}
	}
}

// TestMatchConcurrent: one matcher serves many delivery goroutines (run
// with -race).
func TestMatchConcurrent(t *testing.T) {
	m, err := trail.Compile(nil, selAdvList(selAdv(selData, selS3Objects, selFieldJSON("resources.ARN", "StartsWith", "arn:aws:s3:::data/"))))
	if err != nil {
		t.Fatal(err)
	}
	f := selRecord(t, "s3_get_object")
	done := make(chan bool)
	for range 8 {
		go func() {
			ok := true
			for range 1000 {
				ok = ok && m.Match(&f)
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("concurrent Match gave a different answer")
		}
	}
}

// FuzzValidateSelectors: JSON-decoded selectors never make ValidateSelectors,
// Compile or Match panic, and whatever ValidateSelectors accepts compiles.
func FuzzValidateSelectors(f *testing.F) {
	for _, s := range []string{
		`{"EventSelectors":[{"ReadWriteType":"All","IncludeManagementEvents":true}]}`,
		`{"EventSelectors":[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::b/p"]}]}]}`,
		`{"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"resources.ARN","NotStartsWith":["arn:aws:s3:::logs/"]}]}]}`,
		`{"EventSelectors":[{}],"AdvancedEventSelectors":[{"FieldSelectors":[]}]}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	records := []trail.Fields{}
	for _, n := range selRecordNames {
		records = append(records, selRecord(f, n))
	}
	records = append(records, trail.Fields{})
	f.Fuzz(func(t *testing.T, in []byte) {
		var req struct {
			EventSelectors         []trail.EventSelector
			AdvancedEventSelectors []trail.AdvancedEventSelector
			InsightSelectors       []trail.InsightSelector
		}
		if json.Unmarshal(in, &req) != nil {
			return
		}
		_ = trail.ValidateInsightSelectors(req.InsightSelectors)
		_ = trail.NormalizeBasic(req.EventSelectors)
		verr := trail.ValidateSelectors(req.EventSelectors, req.AdvancedEventSelectors, "aws")
		m, cerr := trail.Compile(req.EventSelectors, req.AdvancedEventSelectors)
		if verr == nil && cerr != nil {
			t.Fatalf("ValidateSelectors accepts %s but Compile fails: %v", in, cerr)
		}
		if verr != nil && !strings.HasSuffix(verr.Error(), ".") {
			t.Errorf("message does not end with a full stop: %v", verr)
		}
		if cerr == nil {
			for i := range records {
				m.Match(&records[i])
			}
		}
	})
}

// BenchmarkMatch: an advanced selector with three conditions over a
// realistic data event.
func BenchmarkMatch(b *testing.B) {
	m, err := trail.Compile(nil, selAdvList(
		selAdv(selData, selS3Objects, selFieldJSON("resources.ARN", "StartsWith", "arn:aws:s3:::audit/", "arn:aws:s3:::logs/app/")),
	))
	if err != nil {
		b.Fatal(err)
	}
	f := selRecord(b, "s3_put_object")
	b.ReportAllocs()
	for b.Loop() {
		if !m.Match(&f) {
			b.Fatal("no match")
		}
	}
}
