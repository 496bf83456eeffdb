package trail_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/trail"
)

// selBasic decodes basic selectors written as the PutEventSelectors request
// spells them.
func selBasic(js string) []trail.EventSelector {
	var s []trail.EventSelector
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		panic(fmt.Sprintf("bad test selectors %s: %v", js, err))
	}
	return s
}

// selAdvanced decodes advanced selectors written as the request spells them.
func selAdvanced(js string) []trail.AdvancedEventSelector {
	var s []trail.AdvancedEventSelector
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		panic(fmt.Sprintf("bad test selectors %s: %v", js, err))
	}
	return s
}

func selInsight(js string) []trail.InsightSelector {
	var s []trail.InsightSelector
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		panic(fmt.Sprintf("bad test selectors %s: %v", js, err))
	}
	return s
}

// selAPIError asserts err is an *awsproto.Error with code whose message
// contains every one of want.
func selAPIError(t *testing.T, err error, code string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want %s containing %q", code, want)
	}
	var ae *awsproto.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *awsproto.Error", err, err)
	}
	if string(ae.Code) != code || ae.Status != 400 {
		t.Errorf("code %s (HTTP %d), want %s (HTTP 400); message %q", ae.Code, ae.Status, code, ae.Message)
	}
	for _, w := range want {
		if !strings.Contains(ae.Message, w) {
			t.Errorf("message %q does not contain %q", ae.Message, w)
		}
	}
}

// advanced selector JSON helpers.
func selFieldJSON(field string, op string, values ...string) string {
	b, _ := json.Marshal(values)
	return fmt.Sprintf(`{"Field":%q,%q:%s}`, field, op, b)
}

func selAdv(fields ...string) string {
	return `{"Name":"test","FieldSelectors":[` + strings.Join(fields, ",") + `]}`
}

func selAdvList(sels ...string) []trail.AdvancedEventSelector {
	return selAdvanced("[" + strings.Join(sels, ",") + "]")
}

var (
	selMgmt      = selFieldJSON("eventCategory", "Equals", "Management")
	selData      = selFieldJSON("eventCategory", "Equals", "Data")
	selS3Objects = selFieldJSON("resources.type", "Equals", "AWS::S3::Object")
)

func TestValidateSelectorsAccepts(t *testing.T) {
	long := strings.Repeat("x", 2048)
	manyValues := make([]string, 0, 250)
	for i := range 250 {
		manyValues = append(manyValues, fmt.Sprintf("arn:aws:s3:::bucket-%03d/", i))
	}
	manyJSON, _ := json.Marshal(manyValues)
	fiveHundred := make([]string, 499)
	for i := range fiveHundred {
		fiveHundred[i] = fmt.Sprintf("Event%d", i)
	}
	cases := []struct {
		name      string
		basic     []trail.EventSelector
		advanced  []trail.AdvancedEventSelector
		partition string
	}{
		{name: "default", basic: trail.DefaultSelectors()},
		{name: "empty selector (all defaults)", basic: selBasic(`[{}]`)},
		{name: "as GetEventSelectors returns it", basic: selBasic(`[{"ReadWriteType":"All","IncludeManagementEvents":true,"DataResources":[],"ExcludeManagementEventSources":[]}]`)},
		{name: "read only, no management", basic: selBasic(`[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":false}]`)},
		{name: "write only", basic: selBasic(`[{"ReadWriteType":"WriteOnly"}]`)},
		{name: "five selectors", basic: selBasic(`[{},{},{},{},{}]`)},
		{name: "s3 forms", basic: selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3","arn:aws:s3:::","arn:aws:s3:::bucket/","arn:aws:s3:::bucket/prefix","arn:aws:s3:::my.bucket-1/a/b/c.txt","arn:aws:s3:::Legacy_Bucket/"]}]}]`)},
		{name: "lambda forms", basic: selBasic(`[{"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda","arn:aws:lambda:us-west-2:111111111111:function:helloworld","arn:aws:lambda:us-west-2:111111111111:function:hello-world_2:PROD","arn:aws:lambda:us-west-2:111111111111:function:f:$LATEST"]}]}]`)},
		{name: "dynamodb forms", basic: selBasic(`[{"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb","arn:aws:dynamodb:us-east-1:111122223333:table/Orders","arn:aws:dynamodb:us-east-1:111122223333:table/my.table-v2_x"]}]}]`)},
		{name: "other partition", basic: selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws-cn:s3:::bkt/"]}]}]`), partition: "aws-cn"},
		{name: "exclusions", basic: selBasic(`[{"ExcludeManagementEventSources":["kms.amazonaws.com","rdsdata.amazonaws.com"]}]`)},
		{name: "250 data resources", basic: selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":` + string(manyJSON) + `}]}]`)},
		{name: "250 data resources plus all-of-type values", basic: selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":` + string(manyJSON) + `},{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda"]}]}]`)},

		{name: "advanced management", advanced: selAdvList(selAdv(selMgmt))},
		{name: "advanced all categories", advanced: selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "Management", "Data", "NetworkActivity"), selS3Objects))},
		{name: "advanced every field", advanced: selAdvList(selAdv(
			selData, selS3Objects,
			selFieldJSON("eventSource", "Equals", "s3.amazonaws.com"),
			selFieldJSON("eventName", "StartsWith", "Get"),
			selFieldJSON("eventType", "NotEquals", "AwsServiceEvent"),
			selFieldJSON("readOnly", "Equals", "true"),
			selFieldJSON("resources.ARN", "NotStartsWith", "arn:aws:s3:::logs/"),
			selFieldJSON("userIdentity.arn", "EndsWith", "/Admin"),
			selFieldJSON("sessionCredentialFromConsole", "NotEquals", "true"),
			selFieldJSON("errorCode", "NotEndsWith", "Denied"),
			selFieldJSON("vpcEndpointId", "StartsWith", "vpce-"),
		))},
		{name: "advanced several operators on one field", advanced: selAdvanced(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},{"Field":"resources.type","Equals":["AWS::S3::Object"]},{"Field":"resources.ARN","StartsWith":["arn:aws:s3:::a/"],"NotEndsWith":[".tmp"],"NotEquals":["arn:aws:s3:::a/x"]}]}]`)},
		{name: "advanced five selectors", advanced: selAdvList(selAdv(selMgmt), selAdv(selMgmt), selAdv(selMgmt), selAdv(selMgmt), selAdv(selMgmt))},
		{name: "advanced no name, max value length", advanced: selAdvanced(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventName","Equals":["` + long + `"]}]}]`)},
		{name: "advanced name 1000 chars", advanced: selAdvanced(`[{"Name":"` + strings.Repeat("é", 1000) + `","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]}]`)},
		{name: "advanced 500 values", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "NotEquals", fiveHundred...)))},
		{name: "sessionCredentialFromConsole Equals", advanced: selAdvList(selAdv(selMgmt, selFieldJSON("sessionCredentialFromConsole", "Equals", "true")))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := trail.ValidateSelectors(tc.basic, tc.advanced, tc.partition); err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if _, err := trail.Compile(tc.basic, tc.advanced); err != nil {
				t.Fatalf("validated but does not compile: %v", err)
			}
		})
	}
}

func TestValidateSelectorsRejects(t *testing.T) {
	const ies, ipc = "InvalidEventSelectorsException", "InvalidParameterCombinationException"
	manyValues := make([]string, 0, 251)
	for i := range 251 {
		manyValues = append(manyValues, fmt.Sprintf("arn:aws:s3:::bucket-%03d/", i))
	}
	half1, _ := json.Marshal(manyValues[:126])
	half2, _ := json.Marshal(manyValues[126:])
	values := func(n int) []string {
		v := make([]string, n)
		for i := range v {
			v[i] = fmt.Sprintf("Event%d", i)
		}
		return v
	}
	cases := []struct {
		name     string
		basic    []trail.EventSelector
		advanced []trail.AdvancedEventSelector
		code     string
		want     []string
	}{
		{"both", selBasic(`[{}]`), selAdvList(selAdv(selMgmt)), ipc, []string{"either EventSelectors or AdvancedEventSelectors", "not both"}},
		{"both, one empty", selBasic(`[]`), selAdvList(selAdv(selMgmt)), ipc, []string{"not both"}},
		{"neither", nil, nil, ipc, []string{"either EventSelectors or AdvancedEventSelectors"}},

		// Basic selectors.
		{"no basic selectors", selBasic(`[]`), nil, ies, []string{"EventSelectors has 0", "1 to 5"}},
		{"six basic selectors", selBasic(`[{},{},{},{},{},{}]`), nil, ies, []string{"EventSelectors has 6", "1 to 5"}},
		{"ReadWriteType", selBasic(`[{},{"ReadWriteType":"read-only"}]`), nil, ies, []string{"Event selector 2", `ReadWriteType "read-only"`, "ReadOnly, WriteOnly or All"}},
		{"ReadWriteType case", selBasic(`[{"ReadWriteType":"all"}]`), nil, ies, []string{"Event selector 1", `ReadWriteType "all"`}},
		{"data resource without type", selBasic(`[{"DataResources":[{"Values":["arn:aws:s3"]}]}]`), nil, ies, []string{"Event selector 1, data resource 1", "Type is required"}},
		{"data resource type not basic", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3"]},{"Type":"AWS::S3Express::Object","Values":["arn:aws:s3express"]}]}]`), nil, ies, []string{"data resource 2", `Type "AWS::S3Express::Object"`, "AdvancedEventSelectors"}},
		{"data resource without values", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object"}]}]`), nil, ies, []string{"data resource 1", "Values must contain at least one"}},
		{"data resource empty values", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":[]}]}]`), nil, ies, []string{"Values must contain at least one"}},
		{"s3 wildcard", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::*"]}]}]`), nil, ies, []string{"Value arn:aws:s3:::* for DataResources.Values is invalid", "bucket name"}},
		{"s3 wildcard bucket prefix", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::cg-*/*"]}]}]`), nil, ies, []string{"arn:aws:s3:::cg-*/*", "not a valid S3 bucket name"}},
		{"s3 bucket without slash", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::bucket"]}]}]`), nil, ies, []string{"arn:aws:s3:::bucket for DataResources.Values is invalid", "arn:aws:s3:::bucket/"}},
		{"s3 with region", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:us-east-1:111122223333:bucket/"]}]}]`), nil, ies, []string{"no region or account"}},
		{"s3 value of another service", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:lambda"]}]}]`), nil, ies, []string{"Value arn:aws:lambda for DataResources.Values is invalid", "arn:<partition>:s3"}},
		{"s3 not an arn", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["bucket/"]}]}]`), nil, ies, []string{"Value bucket/ for"}},
		{"s3 wrong partition", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws-cn:s3:::bkt/"]}]}]`), nil, ies, []string{"arn:aws-cn:s3:::bkt/", `partition must be "aws"`}},
		{"lambda wildcard", selBasic(`[{"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda:*"]}]}]`), nil, ies, []string{"Value arn:aws:lambda:* for DataResources.Values is invalid", "function ARN"}},
		{"lambda partial", selBasic(`[{"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda:us-west-2:111111111111:function:"]}]}]`), nil, ies, []string{"function:"}},
		{"lambda bad account", selBasic(`[{"DataResources":[{"Type":"AWS::Lambda::Function","Values":["arn:aws:lambda:us-west-2:1111:function:f"]}]}]`), nil, ies, []string{"is invalid"}},
		{"dynamodb index", selBasic(`[{"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb:us-east-1:111122223333:table/Orders/index/byDate"]}]}]`), nil, ies, []string{"table/Orders/index/byDate", "table ARN"}},
		{"dynamodb wildcard", selBasic(`[{"DataResources":[{"Type":"AWS::DynamoDB::Table","Values":["arn:aws:dynamodb:us-east-1:111122223333:table/*"]}]}]`), nil, ies, []string{"is invalid"}},
		{"251 data resources", selBasic(`[{"DataResources":[{"Type":"AWS::S3::Object","Values":` + string(half1) + `}]},{"DataResources":[{"Type":"AWS::S3::Object","Values":` + string(half2) + `}]}]`), nil, ies, []string{"251 data resources", "at most 250"}},
		{"exclude s3", selBasic(`[{"ExcludeManagementEventSources":["kms.amazonaws.com","s3.amazonaws.com"]}]`), nil, ies, []string{"Event selector 1", `"s3.amazonaws.com"`, "kms.amazonaws.com and rdsdata.amazonaws.com"}},

		// Advanced selectors.
		{"no advanced selectors", nil, selAdvanced(`[]`), ies, []string{"AdvancedEventSelectors has 0", "1 to 5"}},
		{"six advanced selectors", nil, selAdvList(selAdv(selMgmt), selAdv(selMgmt), selAdv(selMgmt), selAdv(selMgmt), selAdv(selMgmt), selAdv(selMgmt)), ies, []string{"AdvancedEventSelectors has 6"}},
		{"no field selectors", nil, selAdvanced(`[{"Name":"x","FieldSelectors":[]}]`), ies, []string{"Advanced event selector 1", "at least one field selector"}},
		{"name too long", nil, selAdvanced(`[{"Name":"` + strings.Repeat("n", 1001) + `","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]}]`), ies, []string{"Advanced event selector 1", "Name is 1001 characters", "1000"}},
		{"field missing", nil, selAdvanced(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Equals":["x"]}]}]`), ies, []string{"Advanced event selector 1, field selector 2", "Field is required"}},
		{"unknown field", nil, selAdvList(selAdv(selMgmt), selAdv(selMgmt, selFieldJSON("requestParameters.bucketName", "Equals", "b"))), ies, []string{"Advanced event selector 2", `field "requestParameters.bucketName" is not supported`, "resources.ARN"}},
		{"field case", nil, selAdvList(selAdv(selFieldJSON("EventCategory", "Equals", "Management"))), ies, []string{`field "EventCategory" is not supported`}},
		{"field twice", nil, selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "Equals", "A"), selFieldJSON("eventName", "Equals", "B"))), ies, []string{"Advanced event selector 1", `field "eventName" appears in more than one`}},
		{"no operator", nil, selAdvanced(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventName"}]}]`), ies, []string{`field "eventName" has no operator`}},
		{"empty operator", nil, selAdvanced(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventName","StartsWith":[]}]}]`), ies, []string{`field "eventName" operator StartsWith has no values`}},
		{"empty value", nil, selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "NotEquals", "A", ""))), ies, []string{`field "eventName" operator NotEquals value 2 is empty`}},
		{"value too long", nil, selAdvList(selAdv(selMgmt, selFieldJSON("userIdentity.arn", "EndsWith", strings.Repeat("a", 2049)))), ies, []string{`field "userIdentity.arn" operator EndsWith value 1 is 2049 characters`, "1 to 2048"}},
		{"eventCategory missing", nil, selAdvList(selAdv(selMgmt), selAdv(selFieldJSON("eventName", "Equals", "A"))), ies, []string{"Advanced event selector 2", `field "eventCategory" is required`}},
		{"eventCategory NotEquals", nil, selAdvList(selAdv(selFieldJSON("eventCategory", "NotEquals", "Data"))), ies, []string{`field "eventCategory" supports only the Equals operator, not NotEquals`}},
		{"eventCategory StartsWith besides Equals", nil, selAdvanced(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"],"StartsWith":["M"]}]}]`), ies, []string{`field "eventCategory" supports only the Equals operator, not StartsWith`}},
		{"eventCategory Insight", nil, selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "Management", "Insight"))), ies, []string{`field "eventCategory" value "Insight" is not valid for a trail`, "Management, Data, NetworkActivity"}},
		{"eventCategory case", nil, selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "management"))), ies, []string{`value "management"`}},
		{"readOnly NotEquals", nil, selAdvList(selAdv(selMgmt, selFieldJSON("readOnly", "NotEquals", "true"))), ies, []string{`field "readOnly" supports only the Equals operator, not NotEquals`}},
		{"readOnly value", nil, selAdvList(selAdv(selMgmt, selFieldJSON("readOnly", "Equals", "True"))), ies, []string{`field "readOnly" value "True" is not valid`, "true or false"}},
		{"resources.type StartsWith", nil, selAdvList(selAdv(selData, selFieldJSON("resources.type", "StartsWith", "AWS::S3"))), ies, []string{`field "resources.type" supports only the Equals operator, not StartsWith`}},
		{"resources.type two values", nil, selAdvList(selAdv(selData, selFieldJSON("resources.type", "Equals", "AWS::S3::Object", "AWS::Lambda::Function"))), ies, []string{`field "resources.type" must have exactly one value in Equals, not 2`}},
		{"resources.type required for Data", nil, selAdvList(selAdv(selMgmt), selAdv(selData, selFieldJSON("resources.ARN", "StartsWith", "arn:aws:s3:::b/"))), ies, []string{`Advanced event selector 2: field "resources.type" is required when eventCategory is Data.`}},
		{"resources.type required for Management and Data", nil, selAdvList(selAdv(selFieldJSON("eventCategory", "Equals", "Management", "Data"))), ies, []string{`field "resources.type" is required when eventCategory is Data`}},
		{"sessionCredentialFromConsole StartsWith", nil, selAdvList(selAdv(selMgmt, selFieldJSON("sessionCredentialFromConsole", "StartsWith", "t"))), ies, []string{`field "sessionCredentialFromConsole" supports only the Equals and NotEquals operator`, "not StartsWith"}},
		{"501 values", nil, selAdvList(selAdv(selMgmt, selFieldJSON("eventName", "Equals", values(300)...)), selAdv(selMgmt, selFieldJSON("eventName", "NotEquals", values(199)...))), ies, []string{"501 condition values", "at most 500"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			selAPIError(t, trail.ValidateSelectors(tc.basic, tc.advanced, "aws"), tc.code, tc.want...)
		})
	}
}

func TestValidateInsightSelectors(t *testing.T) {
	for _, js := range []string{
		`[]`,
		`null`,
		`[{"InsightType":"ApiCallRateInsight"}]`,
		`[{"InsightType":"ApiCallRateInsight","EventCategories":["Management","Data"]},{"InsightType":"ApiErrorRateInsight","EventCategories":["Data"]}]`,
	} {
		if err := trail.ValidateInsightSelectors(selInsight(js)); err != nil {
			t.Errorf("%s rejected: %v", js, err)
		}
	}
	const iis = "InvalidInsightSelectorsException"
	for _, tc := range []struct {
		js   string
		want []string
	}{
		{`[{}]`, []string{"Insight selector 1", "InsightType is required"}},
		{`[{"InsightType":"ApiCallRateInsight"},{"InsightType":"ApiErrorRate"}]`, []string{"Insight selector 2", `InsightType "ApiErrorRate" is not valid`, "ApiCallRateInsight or ApiErrorRateInsight"}},
		{`[{"InsightType":"ApiCallRateInsight"},{"InsightType":"ApiCallRateInsight","EventCategories":["Data"]}]`, []string{"Insight selector 2", "ApiCallRateInsight is given more than once"}},
		{`[{"InsightType":"ApiErrorRateInsight","EventCategories":["Management","NetworkActivity"]}]`, []string{"Insight selector 1", `EventCategories value "NetworkActivity" is not valid`, "Management or Data"}},
		{`[{"InsightType":"ApiErrorRateInsight","EventCategories":["Insight"]}]`, []string{`"Insight" is not valid`}},
	} {
		t.Run(tc.js, func(t *testing.T) {
			selAPIError(t, trail.ValidateInsightSelectors(selInsight(tc.js)), iis, tc.want...)
		})
	}
}

func TestDefaultSelectors(t *testing.T) {
	got, err := json.Marshal(trail.NormalizeBasic(trail.DefaultSelectors()))
	if err != nil {
		t.Fatal(err)
	}
	// The wire types omit empty lists (omitempty); compare the values.
	d := trail.DefaultSelectors()
	if len(d) != 1 || d[0].ReadWriteType == nil || *d[0].ReadWriteType != "All" ||
		d[0].IncludeManagementEvents == nil || !*d[0].IncludeManagementEvents ||
		d[0].DataResources == nil || len(d[0].DataResources) != 0 ||
		d[0].ExcludeManagementEventSources == nil || len(d[0].ExcludeManagementEventSources) != 0 {
		t.Errorf("DefaultSelectors() = %s", got)
	}
	// Each call returns a fresh value.
	*d[0].ReadWriteType = "ReadOnly"
	if *trail.DefaultSelectors()[0].ReadWriteType != "All" {
		t.Error("DefaultSelectors shares state between calls")
	}
}

func TestNormalizeBasic(t *testing.T) {
	if trail.NormalizeBasic(nil) != nil {
		t.Error("NormalizeBasic(nil) is not nil")
	}
	in := selBasic(`[{},{"ReadWriteType":"WriteOnly","IncludeManagementEvents":false,"DataResources":[{"Type":"AWS::S3::Object","Values":["arn:aws:s3:::b/"]}],"ExcludeManagementEventSources":["kms.amazonaws.com"]}]`)
	before, _ := json.Marshal(in)
	out := trail.NormalizeBasic(in)
	after, _ := json.Marshal(in)
	if string(before) != string(after) {
		t.Errorf("NormalizeBasic changed its input: %s → %s", before, after)
	}
	want := []trail.EventSelector{
		trail.DefaultSelectors()[0],
		{
			ReadWriteType:                 selStr("WriteOnly"),
			IncludeManagementEvents:       selBool(false),
			DataResources:                 []trail.DataResource{{Type: selStr("AWS::S3::Object"), Values: []string{"arn:aws:s3:::b/"}}},
			ExcludeManagementEventSources: []string{"kms.amazonaws.com"},
		},
	}
	if !reflect.DeepEqual(out, want) {
		g, _ := json.Marshal(out)
		w, _ := json.Marshal(want)
		t.Errorf("NormalizeBasic = %s, want %s", g, w)
	}
	// The result does not alias the input.
	*out[1].DataResources[0].Type = "changed"
	out[1].ExcludeManagementEventSources[0] = "changed"
	out[1].DataResources[0].Values[0] = "changed"
	if again, _ := json.Marshal(in); string(again) != string(before) {
		t.Errorf("NormalizeBasic's result aliases its input: %s", again)
	}
}

func selStr(s string) *string { return &s }
func selBool(b bool) *bool    { return &b }
