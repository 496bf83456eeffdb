package event

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refContexts are the caller contexts Decode and refDecode are compared
// under: plain, with permissions and regions, allowed to write for every
// account, with an odd account, and empty.
func refContexts() []Context {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	base := Context{Account: "111122223333", Now: now}
	may := base
	may.MayWriteFor = func(a string) bool { return a == "444455556666" }
	may.ServesRegion = func(r string) bool { return r != "xx-nowhere-1" }
	all := may
	all.MayWriteFor = func(string) bool { return true }
	odd := base
	odd.Account = "acct<&>\"é\x01"
	empty := Context{}
	return []Context{base, may, all, odd, empty}
}

func compareWithRef(t *testing.T, raw []byte) {
	t.Helper()
	for i, c := range refContexts() {
		want, wantErr := refDecode(raw, c)
		got, gotErr := Decode(raw, c)
		if !reflect.DeepEqual(gotErr, wantErr) {
			t.Fatalf("context %d, %q:\nerror %#v\n want %#v", i, raw, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("context %d, %q:\nevent %+v\n want %+v\nrecord %s\n  want %s", i, raw, got, want, recordOf(got), recordOf(want))
		}
	}
}

func recordOf(e *Event) []byte {
	if e == nil {
		return nil
	}
	return e.Record
}

// refInputs are records meant to reach every branch of Decode.
func refInputs(t testing.TB) [][]byte {
	var out [][]byte
	for _, glob := range []string{filepath.Join("testdata", "decode", "*.json"), filepath.Join("testdata", "fuzz", "FuzzDecode", "*")} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(string(b), "go test fuzz v1") {
				// []byte("...") on the second line
				line := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[1])
				if s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")")); err == nil {
					out = append(out, []byte(s))
				}
				continue
			}
			out = append(out, b)
		}
	}
	min := `"eventTime":"2026-11-26T09:30:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","awsRegion":"us-east-1"`
	with := func(extra string) []byte { return []byte(`{` + min + extra + `}`) }
	for _, extra := range []string{
		``,
		`,"userIdentity":{"type":"IAMUser","userName":"alice","accessKeyId":"AKIA","arn":"x"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIAKNOWN"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIASPACED"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIANULL"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIAESC"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIAEMPTY"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIABAD"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIABADTYPE"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIAODD"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIAOTHER"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":5}`,
		`,"userIdentity":{"type":"Unknown","ACCESSKEYID":"AKIAKNOWN"}`,
		`,"userIdentity":{"type":"Unknown","accessKeyId":"AKIA\u004bNOWN"}`,
		`,"userIdentity":{"type":"Root"}`,
		`,"userIdentity":{"type":"R\u006fot"}`,
		`,"userIdentity":{"TYPE":"Root"}`,
		`,"userIdentity":{"type":"Root","type":null}`,
		`,"userIdentity":{"userName":"a","userName":"b"}`,
		`,"userIdentity":{"userName":"a","USERNAME":"b"}`,
		`,"userIdentity":{"userName":"a","user\u004eame":"b"}`,
		`,"userIdentity":{"userName":null}`,
		`,"userIdentity":{"userName":""}`,
		`,"userIdentity":{"userName":5}`,
		`,"userIdentity":{"arn":5}`,
		`,"userIdentity":{"ARN":5}`,
		`,"userIdentity":{"\u212arn":5}`,
		`,"userIdentity":{"ſessionContext":{"sessionIssuer":{"userName":"x"}}}`,
		`,"userIdentity":{"sessionContext":{"sessionIssuer":{"userName":"Admin"}}}`,
		`,"userIdentity":{"sessionContext":{"sessionIssuer":{"userName":"Admin"}},"sessionContext":{}}`,
		`,"userIdentity":{"sessionContext":{"sessionIssuer":{"userName":"Admin"}},"sessionContext":null}`,
		`,"userIdentity":{"sessionContext":{"sessionIssuer":null}}`,
		`,"userIdentity":{"sessionContext":{"sessionIssuer":5}}`,
		`,"userIdentity":{"sessionContext":"x"}`,
		`,"userIdentity":{"sessionContext":{"sessionIssuer":{"userName":""}},"type":"Root"}`,
		`,"userIdentity":{"sessionContext":{"sessionIssuer":{"userName":[]}}}`,
		`,"userIdentity":{"sessionContext":{"SessionIssuer":{"userName":"x"}}}`,
		`,"userIdentity":{"accessKeyId":"AK\"IA","userName":"\u00e9\ud800"}`,
		`,"userIdentity":{"x":[1,{"userName":5}],"y":{"type":1},"z":-1.5e3,"w":true}`,
		`,"userIdentity":null`,
		`,"userIdentity":"alice"`,
		`,"resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket","accountId":"1"},null,{"ARN":"arn:aws:s3:::b"},{}]`,
		`,"resources":[]`,
		`,"resources":null`,
		`,"resources":[1]`,
		`,"resources":["x"]`,
		`,"resources":[[]]`,
		`,"resources":[{"accountId":1}]`,
		`,"resources":[{"arn":"x"}]`,
		`,"resources":[{"Type":"x"}]`,
		`,"resources":[{"type":"x","type":"y"}]`,
		`,"resources":[{"ARN":"a/b:c"},{"ARN":"c"},{"ARN":"a:"}]`,
		`,"resources":{"ARN":"x"}`,
		// userIdentity and resources are read while they are checked.
		`,"userIdentity":{"userName":"a"},"userIdentity":null`,
		`,"userIdentity":null,"userIdentity":{"userName":"b"}`,
		`,"userIdentity":{"userName":"a"},"userIdentity":{"type":"Root"}`,
		`,"userIdentity":{"userName":5},"userIdentity":{"userName":"b"}`,
		`,"userIdentity" : { "userName" : "a" , "accessKeyId" : "AK" , "sessionContext" : { "sessionIssuer" : { "userName" : "r" } } }`,
		`,"userIdentity":{"user\u004eame":"a"}`,
		`,"userIdentity":{"userName":"a",}`,
		`,"userIdentity":{"userName":"a" "type":"b"}`,
		`,"userIdentity":{"userName" "a"}`,
		`,"userIdentity":{"userName":"a\q"}`,
		`,"userIdentity":{5:"a"}`,
		`,"userIdentity":{"x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
		`,"userIdentity":{"x":` + strings.Repeat("[", 250) + strings.Repeat("]", 250) + `}`,
		`,"resources":[{"ARN":"a"}],"resources":[{"ARN":"b"}]`,
		`,"resources":[{"ARN":"a"}],"resources":null`,
		`,"resources":[{"ARN":"a"}],"resources":[5]`,
		`,"resources":[ { "ARN" : "a/b" , "type" : "T" } , null , { } ]`,
		`,"resources":[{"\u0041RN":"a"}]`,
		`,"resources":[{"ARN":"a"},]`,
		`,"resources":[{"ARN":"a"} {"ARN":"b"}]`,
		`,"resources":[nul]`,
		`,"resources":[{"ARN":"a","ARN":"b"}]`,
		`,"resources":[{"ARN":null,"type":null}]`,
		`,"resources":[{"ARN":"a"},"x",{"ARN":"b"}]`,
		`,"resources":[{"ARN":"a"`,
		`,"readOnly":true`, `,"readOnly":false`, `,"readOnly":null`, `,"readOnly":"true"`,
		`,"managementEvent":null`, `,"managementEvent":false`,
		`,"eventID":null`, `,"eventID":""`, `,"eventID":"given"`, `,"eventID":"gi\u0076en"`,
		`,"eventVersion":null`, `,"eventVersion":""`, `,"eventVersion":"1.0"`,
		`,"eventType":"AwsCloudTrailInsight"`, `,"eventType":null`,
		`,"eventCategory":"Data"`, `,"eventCategory":"Insight"`, `,"eventCategory":"Bad<>"`, `,"eventCategory":"D\u0061ta"`,
		`,"eventCategory":"Insight","insightDetails":{"eventName":"x","eventSource":"y"}`,
		`,"eventCategory":"Insight","insightDetails":null`,
		`,"eventCategory":"Insight","insightDetails":{"eventName":5}`,
		`,"recipientAccountId":"444455556666"`, `,"recipientAccountId":"999999999999"`, `,"recipientAccountId":""`, `,"recipientAccountId":null`,
		`,"recipientAccountId":"4444\u00355556666"`,
		`,"awsRegion":"xx-nowhere-1"`, `,"awsRegion":null`,
		`,"eventTime":"2026-11-26T10:30:00.5+01:00"`, `,"eventTime":"bad"`, `,"eventTime":"0001-01-01T00:00:00Z"`,
		`,"eventTime":"2026-11-26T09:30:00\u005a"`, `,"eventTime":"2024-02-29T23:59:59Z"`, `,"eventTime":"2026-02-29T00:00:00Z"`,
		`,"eventTime":"2100-02-29T00:00:00Z"`, `,"eventTime":"2000-02-29T00:00:00Z"`, `,"eventTime":"2026-04-31T00:00:00Z"`,
		`,"eventTime":"1969-12-31T23:59:59Z"`, `,"eventTime":"1970-01-01T00:00:00Z"`, `,"eventTime":"9999-12-31T23:59:59Z"`,
		`,"eventTime":"2026-11-26T24:00:00Z"`, `,"eventTime":"2026-11-26T23:60:00Z"`, `,"eventTime":"2026-11-26T23:00:60Z"`,
		`,"eventTime":"2026-13-26T00:00:00Z"`, `,"eventTime":"2026-00-26T00:00:00Z"`, `,"eventTime":"2026-11-00T00:00:00Z"`,
		`,"eventTime":"2026-11-26t09:30:00z"`, `,"eventTime":"2026-11-26T09:30:0aZ"`, `,"eventTime":"+026-11-26T09:30:00Z"`,
		`,"eventTime":"2026-11-26 09:30:00Z"`, `,"eventTime":"2026-11-26T09:30:00+00:00"`,
		`,"eventName":5`, `,"eventName":""`, `,"requestParameters":[]`,
		`,"userAgent":"` + strings.Repeat("a", 1025) + `"`,
		`,"userAgent":"` + strings.Repeat(`\u0041`, 1024) + `"`,
		`,"recipientAccountId":"1111222233334"`,
		`,"eventName":5,"readOnly":"x","requestParameters":[]`,
		`,"zeta":1,"alpha":2,"zeta":3,"Alpha":4,"\u0061lpha":5,"a<b":6,"a\u0001b":7,"é":8,"\u007f":9`,
		`,"annotation":5`, `,"annotation":"x"`,
		`,"eventN\u0061me":"Escaped"`,
		`,"eventName":"a","eventName":"b"`,
		`,"requestParameters":{ "a" : [ 1 , 2 ] , "b" : { } }`,
		`,"x": [ 1, "a b" , {"c" :null} ]`,
		`,"requestParameters":{"big":"` + strings.Repeat("x", MaxRecordBytes-300) + `"}`,
	} {
		out = append(out, with(extra))
	}
	out = append(out, []byte(` { "eventTime" : "2026-11-26T09:30:00Z" , "eventSource":"s", "eventName" :"n","awsRegion":"r" } `),
		[]byte(`{}`), []byte(`[]`), []byte(``), []byte(`{"a":1} x`), []byte(`{"a":}`), []byte(`{"a":"\x"}`),
		[]byte("{\"eventName\":\"\xff\"}"), []byte(`{`+min+`,}`), []byte(`null`))
	return out
}

func TestDecodeMatchesReference(t *testing.T) {
	for _, raw := range refInputs(t) {
		compareWithRef(t, raw)
	}
}
