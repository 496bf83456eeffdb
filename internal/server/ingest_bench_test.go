//go:build unix

package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// benchBatch is how many records one BenchmarkIngest request carries, as
// `cairn-bench ingest --batch 500` sends them.
const benchBatch = 500

// benchRecord is a CloudTrail record of about 1 KB, shaped as cairn-bench
// generates them (an IAM user's call, a resource, TLS details, a padded
// request parameter); %s is its eventID and %s its eventTime.
const benchRecord = `{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEBENCH0001",` +
	`"arn":"arn:aws:iam::111111111111:user/alice","accountId":"111111111111","accessKeyId":"AKIAALICEADMIN000001",` +
	`"userName":"alice"},"eventTime":"%s","eventSource":"ec2.amazonaws.com","eventName":"StartInstances",` +
	`"awsRegion":"us-east-1","sourceIPAddress":"198.51.100.23","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 botocore/2.4.5",` +
	`"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-0abc1234def567890"}]},` +
	`"benchPadding":"k3 x9q lmw0 2ud rrpz 8s1"},` +
	`"responseElements":null,"requestID":"6f1c2b7e-8d4a-4b1e-9c3f-2a5d7e9b0c11","eventID":"%s",` +
	`"readOnly":false,"resources":[{"accountId":"111111111111","type":"AWS::EC2::Instance","ARN":"arn:aws:ec2:us-east-1:111111111111:instance/i-0abc1234def567890"}],` +
	`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111111111111","eventCategory":"Management",` +
	`"tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"}}`

// BenchmarkIngest is the server's ingest path, POST /v1/events, end to
// end over HTTP on 127.0.0.1 to a real Server on a real SQLite store, sent
// as cairn-bench ingest sends it: batches of 500 records of about 1 KB from
// 4 clients at once, each signed as botocore signs it (no
// X-Amz-Content-Sha256 header, so the server reads the body within the
// pre-authentication budget before it checks the signature). One op is one
// batch. Besides ns/op it reports events/s and cpu-µs/event, the process's
// CPU time (user and system, the clients' building and signing included)
// an event: on a machine shared with other work that is steadier than the
// wall clock.
func BenchmarkIngest(b *testing.B) {
	e := newLimitsEnv(b, Options{})
	url, hc, now := e.http.URL+"/v1/events", e.http.Client(), e.clock.Now()
	eventTime := now.UTC().Format(time.RFC3339)
	var seq atomic.Int64
	b.SetParallelism(max(1, 4/runtime.GOMAXPROCS(0))) // 4 clients
	b.ReportAllocs()
	cpu0, start := processCPU(), time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		signer := v4.NewSigner()
		creds := aws.Credentials{AccessKeyID: "AKIAALICEADMIN000001", SecretAccessKey: "alice-secret"}
		var body []byte
		for pb.Next() {
			body = benchBody(body[:0], seq.Add(1), eventTime)
			if err := postSigned(hc, signer, creds, url, body, now); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	events := float64(b.N * benchBatch)
	b.ReportMetric(events/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/events, "cpu-µs/event")
}

// benchBody appends a batch {"Records":[…]} of benchBatch records whose
// eventIDs are unique to batch n (cheaply: the clients' work is counted in
// cpu-µs/event too).
func benchBody(dst []byte, n int64, eventTime string) []byte {
	head, tail, _ := strings.Cut(fmt.Sprintf(benchRecord, eventTime, "\x00"), "\x00")
	dst = append(dst, `{"Records":[`...)
	for i := range benchBatch {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, head...)
		dst = strconv.AppendInt(append(dst, "bench-"...), n, 10)
		dst = strconv.AppendInt(append(dst, '-'), int64(i), 10)
		dst = append(dst, tail...)
	}
	return append(dst, "]}"...)
}

// postSigned posts body to url signed with creds at the time at, and
// checks that every record of it was accepted.
func postSigned(hc *http.Client, signer *v4.Signer, creds aws.Credentials, url string, body []byte, at time.Time) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", at); err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if want := fmt.Sprintf(`"accepted":%d,`, benchBatch); resp.StatusCode != http.StatusOK || !bytes.Contains(answer, []byte(want)) {
		return fmt.Errorf("HTTP %d %.300s, want 200 and %s", resp.StatusCode, answer, want)
	}
	return nil
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())
}
