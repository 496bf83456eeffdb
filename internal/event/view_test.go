package event

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

// viewAccount and viewNow are the context records are decoded in here.
const viewAccount = "111122223333"

var viewNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// viewRecords are records as producers send them; each is stored as
// event.Decode completes it, and also checked as sent.
var viewRecords = []string{
	`{"eventTime":"2026-11-26T11:00:00Z","eventSource":"s3.amazonaws.com","eventName":"CreateBucket","awsRegion":"us-east-1","readOnly":false,
	  "userIdentity":{"type":"IAMUser","userName":"alice","accessKeyId":"AKIAALICE"},
	  "resources":[{"ARN":"arn:aws:s3:::audit-logs","type":"AWS::S3::Bucket"},{"type":"AWS::S3::Object"},{"arn":"arn:aws:s3:::x/y"}]}`,
	`{"eventTime":"2026-11-26T11:00:00Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","readOnly":true,
	  "userIdentity":{"type":"AssumedRole","accessKeyId":"ASIAROLE","sessionContext":{"sessionIssuer":{"userName":"Admin"}}}}`,
	`{"eventTime":"2026-11-26T11:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","readOnly":null,
	  "userIdentity":{"type":"Root","UserName":"","ACCESSKEYID":"AKIAROOT"},"resources":null}`,
	`{"eventTime":"2026-11-26T11:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventCategory":"Data","userIdentity":null}`,
	`{"eventCategory":"Insight","eventTime":"2026-11-26T11:15:00Z","awsRegion":"us-east-1","insightDetails":{"eventName":"RunInstances","eventSource":"ec2.amazonaws.com","state":"Start"}}`,
	`{"eventTime":"2026-11-26T11:00:00Z","eventSource":"s3.amazonaws.com","eventName":"Put\u00e9\"Obj\\ect","awsRegion":"us-east-1",
	  "userIdentity":{"type":"IAMUser","userName":"b\u00f6b","accessKeyId":"AKIA\u0042"},"resources":[{"ARN":"arn:aws:s3:::bucket/k\u00e9y","type":"AWS::S3::Object"}],
	  "requestParameters":{"a":[1,-2.5e3,0.1,true,false,null,{"b":{}},[]],"c":"\ud83d\ude00 ümlaut"}}`,
	`{"eventTime":"2026-11-26T11:00:00Z","eventSource":"s3.amazonaws.com","eventName":"Odd","awsRegion":"us-east-1","Resources":"not a list","EVENTNAME":"Other"}`,
	`{"eventTime":"2026-11-26T11:00:00Z","eventSource":"s3.amazonaws.com","eventName":"Odd","awsRegion":"us-east-1","x\u0001":1}`,
	`{"eventTime":"2026-11-26T11:00:00Z","eventSource":"s3.amazonaws.com","eventName":"Odd","awsRegion":"us-east-1","resources":[{"ARN":5}]}`,
	`{"eventTime":"2026-11-26T11:00:00Z","eventSource":"s3.amazonaws.com","eventName":"Odd","awsRegion":"us-east-1","userIdentity":{"userName":["x"],"accessKeyId":"K"}}`,
}

// rawRecords are stored records as they might be read back, including ones
// Decode never makes: the view must agree with Summarize on every one.
var rawRecords = []string{
	``, `null`, `[]`, `{}`, `{"eventName":"a"}x`, `{"eventName":"a",}`, `{"eventName":"a" "b":1}`,
	`{"eventName":"a","eventName":"b"}`, `{"eventName":5,"eventSource":null,"readOnly":"yes"}`,
	`{"readOnly":1}`, `{"readOnly":true,"readOnly":null}`, `{"eventTime":"2026-11-26T11:00:00.5Z"}`,
	`{"eventName":"bad \xff utf8"}`, `{"x":"bad \xff utf8"}`, `{"event\u004eame":"escaped"}`,
	`{"eventName":"a","x":01}`, `{"eventName":"a","x":1.}`, `{"eventName":"a","x":-}`, `{"eventName":"a","x":tru}`,
	`{"eventName":"a","x":"\x01"}`, `{"eventName":"a","x":"\u12"}`, `{"eventName":"a","x":"\q"}`,
	` {"eventName" : "a" , "x" : [ 1 , { } ] } `, `{"insightDetails":null,"eventName":"n"}`,
	`{"insightDetails":{"EventName":"i"},"eventSource":"s"}`, `{"insightDetails":[1]}`,
	`{"userIdentity":{"type":"Root"},"resources":[{"ARN":"arn:aws:iam::1:root"},{"ARN":"noslash"}]}`,
	`{"userIdentity":"x","resources":{"a":1}}`,
	`{"userIdentity":{"userName":"a","userName":null},"resources":[null,{"type":null},{"ARN":"x","arn":"y"}]}`,
	`{"userIdentity":{"userName":"a","USERNAME":"b"},"resources":[{"ARN":"x","ARN":"y"}]}`,
	`{"userIdentity":{"type":"Root","sessionContext":null,"sessionContext":{"sessionIssuer":{"userName":"r"}}}}`,
	`{"userIdentity":{"sessionContext":{"sessionIssuer":{"userName":"r"}},"sessionContext":{}}}`,
	`{"userIdentity":{"sessionContext":{"sessionIssuer":null}},"resources":[1]}`,
	`{"userIdentity":{"sessionContext":{"sessionIssuer":{"userName":"r","UserName":"s"}}},"resources":[{"Type":"t"}]}`,
	`{"userIdentity":{"sessionContext":[],"accessKeyId":"k"},"resources":[{"accountId":5}]}`,
	`{"userIdentity":{"Key":1,"ſessionContext":{"sessionIssuer":{"userName":"r"}}},"resources":[{"type":"a"}, {"ARN":"b"}]}`,
	`{"userIdentity":{"userName":"esc","accessKeyId":"k"},"resources":[{"ARN":"esc"}]}`,
	`{"userIdentity" : { "userName" : "ws" , "x" : [ 1 ] } , "resources" : [ { "ARN" : "a/b" } , null ] }`,
	`{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],"eventName":"deep"}`,
}

// TestViewAgreesWithEvent checks ReadView against Summarize and Decode on
// records as sent, as stored, and as they might be read back.
func TestViewAgreesWithEvent(t *testing.T) {
	c := Context{Account: viewAccount, Now: viewNow}
	var records [][]byte
	for _, raw := range viewRecords {
		records = append(records, []byte(raw))
		if e, ferr := Decode([]byte(raw), c); ferr == nil {
			records = append(records, e.Record)
		}
	}
	for _, raw := range rawRecords {
		records = append(records, []byte(raw))
	}
	files, _ := filepath.Glob("testdata/decode/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, b)
		if e, ferr := Decode(b, c); ferr == nil {
			records = append(records, e.Record)
		}
	}
	for _, r := range records {
		checkView(t, r)
	}
	// The common stored record is read by the view, keys and all.
	e, _ := Decode([]byte(viewRecords[0]), c)
	if v := ReadView(e.Record); !v.keysOK || len(v.keys) != len(e.Keys) {
		t.Errorf("stored record not read by the view: %+v", v)
	}
}

// checkView compares ReadView with Summarize and, for a record Decode
// accepts and the view can tell the keys of, with the keys Decode derives.
func checkView(t *testing.T, record []byte) {
	t.Helper()
	v := ReadView(record)
	want, _ := Summarize(record) // a record it cannot read has an empty summary
	if !reflect.DeepEqual(v.Summary, want) {
		t.Errorf("summary of %s:\n got %+v\nwant %+v", record, v.Summary, want)
	}
	keys, ok := v.Keys()
	if !ok {
		return
	}
	e, ferr := Decode(record, Context{Account: viewAccount})
	if ferr != nil {
		return // not a stored record (Decode made none like it)
	}
	got := slices.Clone(keys)
	sortKeys(got)
	wantKeys := slices.Clone(e.Keys)
	sortKeys(wantKeys)
	if !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("keys of %s:\n got %v\nwant %v", record, got, wantKeys)
	}
}

func sortKeys(k []LookupKey) {
	slices.SortFunc(k, func(a, b LookupKey) int {
		if a.Attr != b.Attr {
			if a.Attr < b.Attr {
				return -1
			}
			return 1
		}
		if a.Value < b.Value {
			return -1
		}
		if a.Value > b.Value {
			return 1
		}
		return 0
	})
}
