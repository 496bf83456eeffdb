package e2e

// Helpers of the CloudWatch Logs stream tests (streams_cwl_*_test.go):
// log_groups: entries, trails with a log group, and readers of what each
// kind of destination received — moto's CloudWatch Logs, an NDJSON file,
// an HTTP listener the test runs.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// cwlRole is the CloudWatchLogsRoleArn the test trails name.
const cwlRole = "arn:aws:iam::111111111111:role/CloudTrail_CloudWatchLogs_Role"

// cwlGroupARN is the ARN of log group name of Account1 in us-east-1.
func cwlGroupARN(name string) string {
	return "arn:aws:logs:us-east-1:111111111111:log-group:" + name
}

// cwlGroups is a log_groups: section; each entry is "name=url".
func cwlGroups(entries ...string) string {
	var b strings.Builder
	b.WriteString("\nlog_groups:\n")
	for _, e := range entries {
		name, url, _ := strings.Cut(e, "=")
		fmt.Fprintf(&b, "  - arn: %q\n    account: %q\n    url: %q\n", cwlGroupARN(name), Account1, url)
		if strings.HasPrefix(url, "cloudwatch-logs:") {
			fmt.Fprintf(&b, "    access_key_id: %s\n    secret_access_key: %s\n", buckettest.AccessKeyID, buckettest.SecretAccessKey)
		}
	}
	return b.String()
}

// cwlTrail creates a logging trail of Account1 in us-east-1 writing to
// directory bucket bucketName and to log group group.
func cwlTrail(t *testing.T, srv *Server, name, bucketName, group string, more ...func(*cloudtrail.CreateTrailInput)) string {
	t.Helper()
	dlMkBucket(t, srv, bucketName)
	return dlTrail(t, srv.CloudTrail(AdminKey, AdminSecret, "us-east-1"), name, bucketName, func(in *cloudtrail.CreateTrailInput) {
		in.CloudWatchLogsLogGroupArn = aws.String(cwlGroupARN(group) + ":*")
		in.CloudWatchLogsRoleArn = aws.String(cwlRole)
		for _, f := range more {
			f(in)
		}
	})
}

// cwlLogsClient is a CloudWatch Logs client of moto at endpoint.
func cwlLogsClient(endpoint string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: buckettest.Region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(buckettest.AccessKeyID, buckettest.SecretAccessKey, "")})
}

// cwlMsg is one received record: its eventID, raw bytes and (for
// CloudWatch Logs) timestamp.
type cwlMsg struct {
	ID        string
	Raw       string
	Timestamp int64
}

func cwlParse(raw string) cwlMsg {
	var r struct {
		EventID string `json:"eventID"`
	}
	json.Unmarshal([]byte(raw), &r)
	return cwlMsg{ID: r.EventID, Raw: raw}
}

// cwlGetLogEvents reads a whole log stream of moto with GetLogEvents
// (nil if the stream does not exist yet).
func cwlGetLogEvents(t *testing.T, cl *cloudwatchlogs.Client, group, stream string) []cwlMsg {
	t.Helper()
	var out []cwlMsg
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true)}
	for {
		page, err := cl.GetLogEvents(context.Background(), in)
		if err != nil {
			if strings.Contains(err.Error(), "ResourceNotFound") {
				return nil
			}
			t.Fatalf("GetLogEvents %s/%s: %v", group, stream, err)
		}
		for _, e := range page.Events {
			m := cwlParse(aws.ToString(e.Message))
			m.Timestamp = aws.ToInt64(e.Timestamp)
			out = append(out, m)
		}
		if len(page.Events) == 0 || aws.ToString(page.NextForwardToken) == aws.ToString(in.NextToken) {
			return out
		}
		in.NextToken = page.NextForwardToken
	}
}

// cwlFileLines reads an NDJSON file (nil if it does not exist yet),
// failing on a line that is not a whole JSON record.
func cwlFileLines(t *testing.T, path string) []cwlMsg {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []cwlMsg
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Fatalf("%s: a line is not a JSON record: %.200q", path, sc.Text())
		}
		out = append(out, cwlParse(sc.Text()))
	}
	return out
}

// cwlListener is an HTTP endpoint taking NDJSON POSTs, answering status
// (200 unless set).
type cwlListener struct {
	URL    string
	srv    *http.Server
	mu     sync.Mutex
	status int
	got    []cwlMsg
	posts  int
	bad    []string // what was wrong with requests
}

func cwlListen(t *testing.T) *cwlListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &cwlListener{URL: "http://" + ln.Addr().String() + "/cairn", status: http.StatusOK}
	l.srv = &http.Server{Handler: http.HandlerFunc(l.serve), ReadHeaderTimeout: 5 * time.Second}
	go l.srv.Serve(ln)
	t.Cleanup(func() { l.srv.Close() })
	return l
}

func (l *cwlListener) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// The sender went away mid-body (a test SIGKILLs the server): like
		// any HTTP server, take nothing from a request that did not arrive
		// whole. The sender got no answer, so it sends the records again.
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status != http.StatusOK {
		http.Error(w, "listener down for the test", l.status)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-ndjson" {
		l.bad = append(l.bad, fmt.Sprintf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type")))
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		l.bad = append(l.bad, "a body that does not end with a newline")
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		if !json.Valid([]byte(line)) {
			l.bad = append(l.bad, fmt.Sprintf("a line that is not JSON: %.100q", line))
			continue
		}
		l.got = append(l.got, cwlParse(line))
	}
	l.posts++
}

func (l *cwlListener) setStatus(code int) {
	l.mu.Lock()
	l.status = code
	l.mu.Unlock()
}

func (l *cwlListener) received() []cwlMsg {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]cwlMsg(nil), l.got...)
}

func (l *cwlListener) problems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bad...)
}

// cwlCount counts received messages by eventID.
func cwlCount(msgs []cwlMsg) map[string]int {
	out := map[string]int{}
	for _, m := range msgs {
		out[m.ID]++
	}
	return out
}

// cwlWaitAll waits until read returns every id at least once; it returns
// the last read.
func cwlWaitAll(t *testing.T, srv *Server, what string, ids []string, timeout time.Duration, read func() []cwlMsg) []cwlMsg {
	t.Helper()
	var got []cwlMsg
	var missing []string
	if !dlPoll(timeout, func() bool {
		got = read()
		missing = dlMissing(ids, cwlCount(got))
		return len(missing) == 0
	}) {
		t.Fatalf("after %s, %d of %d events did not reach %s (e.g. %v)\nserver log:\n%s", timeout, len(missing), len(ids), what,
			missing[:min(3, len(missing))], dlTail(srv.Log(), 40))
	}
	return got
}

// cwlRecords are the records of the trail's log files by eventID: what
// the trail's S3 delivery took.
func cwlRecords(files []dlLogFile) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		var body struct {
			Records []json.RawMessage
		}
		if err := json.Unmarshal(f.JSON, &body); err != nil {
			panic(err)
		}
		for _, r := range body.Records {
			m := cwlParse(string(r))
			out[m.ID] = string(r)
		}
	}
	return out
}
