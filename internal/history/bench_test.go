package history

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
	"github.com/cairn-audit/cairn/internal/store"
	"github.com/cairn-audit/cairn/internal/testutil"
)

// pageStore answers every lookup with the same page: the store's part of a
// lookup left out, so that the benchmark measures the service's.
type pageStore struct{ page store.Page }

func (p pageStore) Lookup(context.Context, store.Query) (store.Page, error) { return p.page, nil }

// benchPage is a full page of stored records shaped like the ones
// producers send: about 1 KB each, a user, an access key and a resource.
func benchPage(b *testing.B) store.Page {
	var page store.Page
	for i := range 50 {
		raw := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEUSER%04d","arn":"arn:aws:iam::%s:user/deploy-bot","accountId":%q,"accessKeyId":"AKIAEXAMPLEKEY%06d","userName":"deploy-bot"},`+
			`"eventTime":%q,"eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":%q,"sourceIPAddress":"203.0.113.24",`+
			`"userAgent":"aws-sdk-go-v2/1.30.4 ua/2.1 os/linux lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64",`+
			`"requestParameters":{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:us-east-1:%s:function:orders"},"policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\"}]}"},`+
			`"responseElements":null,"requestID":"6f1c2a9e-8b7d-4e3f-a1b2-c3d4e5f6%04d","readOnly":true,`+
			`"resources":[{"accountId":%q,"type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-east-1:%s:key/1234abcd-12ab-34cd-56ef-%012d"}]}`,
			i, acct, acct, i, now.Add(-time.Duration(i)*time.Minute).Format(event.TimeFormat), region, acct, i, acct, acct, i)
		page.Events = append(page.Events, rec(b, raw))
	}
	return page
}

// BenchmarkLookupPage answers LookupEvents from a page of 50 records: as
// they are, filtered by an attribute (each record's keys checked), and
// encoded as the response. cpu-ns/op is the process's CPU time per page.
func BenchmarkLookupPage(b *testing.B) {
	s := New(pageStore{benchPage(b)}, 90)
	s.now = func() time.Time { return now }
	for _, bc := range []struct {
		name   string
		in     Input
		encode bool
	}{
		{"all", Input{}, false},
		{"byUsername", Input{LookupAttributes: []LookupAttribute{{ptr("Username"), ptr("deploy-bot")}}}, false},
		{"byResourceType", Input{LookupAttributes: []LookupAttribute{{ptr("ResourceType"), ptr("AWS::KMS::Key")}}}, false},
		{"encoded", Input{}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			start := testutil.CPUTime()
			for b.Loop() {
				out, err := s.Lookup(context.Background(), acct, region, bc.in)
				if err != nil {
					b.Fatal(err)
				}
				if bc.encode {
					buf = out.AppendJSON(buf[:0])
				}
			}
			testutil.ReportCPU(b, start)
		})
	}
}
