package e2e

// What delivery reports: GetTrailStatus's delivery and digest fields, SNS
// notifications to a topic's webhook, and the public keys that sign digests.

import (
	"context"
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// dlHook records the notifications a topic's webhook receives.
type dlHook struct {
	mu     sync.Mutex
	bodies [][]byte
	status int
}

func (h *dlHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	status := h.status
	h.mu.Unlock()
	if r.Method != http.MethodPost {
		status = http.StatusMethodNotAllowed
	}
	w.WriteHeader(status)
}

func (h *dlHook) received() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bodies)
}

func dlTime(p *time.Time) string {
	if p == nil {
		return "<nil>"
	}
	return p.UTC().Format(time.RFC3339Nano)
}

// dlAround reports whether p is set and within [from-1s, to+1s].
func dlAround(p *time.Time, from, to time.Time) bool {
	return p != nil && !p.Before(from.Add(-time.Second)) && !p.After(to.Add(time.Second))
}

func TestDeliveryStatusNotificationsAndKeys(t *testing.T) {
	t.Parallel()
	ok := &dlHook{status: http.StatusOK}
	okSrv := httptest.NewServer(ok)
	t.Cleanup(okSrv.Close)
	failing := &dlHook{status: http.StatusInternalServerError}
	failSrv := httptest.NewServer(failing)
	t.Cleanup(failSrv.Close)
	srv := Start(t, Options{Config: dlConfig(`
topics:
  - {name: delivery-topic, account: "111111111111", url: "` + okSrv.URL + `/hook"}
  - {name: broken-topic, account: "111111111111", url: "` + failSrv.URL + `/hook"}
`)})
	const name = "status-logs"
	b := dlDir{name: name, dir: dlMkBucket(t, srv, name)}
	east := srv.CloudTrail(AdminKey, AdminSecret, "us-east-1")
	arn := dlTrail(t, east, "status", name, dlAll(dlMulti, dlValidation, func(in *cloudtrail.CreateTrailInput) {
		in.SnsTopicName = aws.String("delivery-topic")
	}))
	brokenARN := dlTrail(t, east, "broken-hook", "status-logs", func(in *cloudtrail.CreateTrailInput) {
		in.SnsTopicName = aws.String("broken-topic")
		in.S3KeyPrefix = aws.String("broken")
	})

	// Nothing was delivered for eu-west-1 yet.
	st := dlStatus(t, srv, "eu-west-1", arn)
	if !aws.ToBool(st.IsLogging) || st.LatestDeliveryTime != nil || aws.ToString(st.LatestDeliveryError) != "" {
		t.Errorf("GetTrailStatus in eu-west-1 before any delivery: IsLogging %v, LatestDeliveryTime %s, LatestDeliveryError %q",
			aws.ToBool(st.IsLogging), dlTime(st.LatestDeliveryTime), aws.ToString(st.LatestDeliveryError))
	}

	before := time.Now()
	ids := dlIngest(t, srv,
		dlEvent("RunInstances", "ec2.amazonaws.com", "eu-west-1", Account1, nil),
		dlEvent("RunInstances", "ec2.amazonaws.com", "us-west-2", Account1, nil))
	files := dlWaitDelivered(t, srv, b, "AWSLogs/", ids, 30*time.Second)
	delivered := time.Now()

	// GetTrailStatus of each region tells that region's latest delivery.
	for _, region := range []string{"eu-west-1", "us-west-2"} {
		st := dlStatus(t, srv, region, arn)
		if !dlAround(st.LatestDeliveryTime, before, delivered) {
			t.Errorf("GetTrailStatus in %s: LatestDeliveryTime %s, want between %s and %s", region,
				dlTime(st.LatestDeliveryTime), before.Format(time.RFC3339), delivered.Format(time.RFC3339))
		}
		if e := aws.ToString(st.LatestDeliveryError); e != "" {
			t.Errorf("GetTrailStatus in %s: LatestDeliveryError %q", region, e)
		}
		if st.LatestDeliveryAttemptTime == nil || *st.LatestDeliveryAttemptTime == "" ||
			aws.ToString(st.LatestDeliveryAttemptSucceeded) != aws.ToString(st.LatestDeliveryAttemptTime) {
			t.Errorf("GetTrailStatus in %s: LatestDeliveryAttemptTime %q, LatestDeliveryAttemptSucceeded %q, want the same time",
				region, aws.ToString(st.LatestDeliveryAttemptTime), aws.ToString(st.LatestDeliveryAttemptSucceeded))
		}
	}
	// Digests follow; LatestDigestDeliveryTime is set.
	// (The status is saved just after the digests are written: poll.)
	dlWaitDigests(t, srv, b, delivered, 1, "/CloudTrail-Digest/eu-west-1/")
	dlPoll(10*time.Second, func() bool {
		st = dlStatus(t, srv, "eu-west-1", arn)
		return st.LatestDigestDeliveryTime != nil
	})
	if !dlAround(st.LatestDigestDeliveryTime, before, time.Now()) || aws.ToString(st.LatestDigestDeliveryError) != "" {
		t.Errorf("GetTrailStatus in eu-west-1 after a digest: LatestDigestDeliveryTime %s, LatestDigestDeliveryError %q",
			dlTime(st.LatestDigestDeliveryTime), aws.ToString(st.LatestDigestDeliveryError))
	}
	// Without validation there is no digest time.
	if st := dlStatus(t, srv, "us-east-1", brokenARN); st.LatestDigestDeliveryTime != nil {
		t.Errorf("GetTrailStatus of a trail without validation: LatestDigestDeliveryTime %s", dlTime(st.LatestDigestDeliveryTime))
	}

	// SNS: every delivered log file is announced as
	// {"s3Bucket":…,"s3ObjectKey":[…]} (digests are not).
	var logKeys []string
	for _, f := range files {
		logKeys = append(logKeys, f.Key)
	}
	var notified map[string]int
	var bad []string
	if !dlPoll(20*time.Second, func() bool {
		notified, bad = map[string]int{}, nil
		for _, body := range ok.received() {
			var top map[string]json.RawMessage
			var msg struct {
				S3Bucket    string   `json:"s3Bucket"`
				S3ObjectKey []string `json:"s3ObjectKey"`
			}
			if json.Unmarshal(body, &top) != nil || json.Unmarshal(body, &msg) != nil || len(top) != 2 ||
				msg.S3Bucket != name || len(msg.S3ObjectKey) == 0 {
				bad = append(bad, string(body))
				continue
			}
			for _, k := range msg.S3ObjectKey {
				notified[k]++
			}
		}
		for _, k := range logKeys {
			if notified[k] == 0 {
				return false
			}
		}
		return true
	}) {
		t.Errorf("notifications %v do not announce every log file %v", notified, logKeys)
	}
	if len(bad) != 0 {
		t.Errorf("notifications that are not {\"s3Bucket\":%q,\"s3ObjectKey\":[…]}: %q", name, bad)
	}
	existing := b.Keys(t)
	for k, n := range notified {
		if !dlIsLogKey(k) || !strings.HasPrefix(k, "AWSLogs/") || !slices.Contains(existing, k) || n != 1 {
			t.Errorf("notification announced %s %d times; want each delivered log file of this trail once", k, n)
		}
	}
	st = dlStatus(t, srv, "us-east-1", arn)
	if st.LatestNotificationTime == nil || aws.ToString(st.LatestNotificationError) != "" {
		t.Errorf("GetTrailStatus after notifications: LatestNotificationTime %s, LatestNotificationError %q",
			dlTime(st.LatestNotificationTime), aws.ToString(st.LatestNotificationError))
	}
	// A webhook that fails: retried, then the error shows.
	if !dlPoll(30*time.Second, func() bool {
		return aws.ToString(dlStatus(t, srv, "us-east-1", brokenARN).LatestNotificationError) != ""
	}) {
		t.Errorf("GetTrailStatus of a trail whose webhook answers 500: no LatestNotificationError (webhook got %d requests)", len(failing.received()))
	}
	if n := len(failing.received()); n < 2 {
		t.Errorf("a failing webhook got %d requests, want retries", n)
	}

	// ListPublicKeys: the keys that sign digests, fingerprint = hex MD5 of
	// the PKCS#1 value, valid now.
	ctx := context.Background()
	for _, region := range dlRegions {
		digests := dlDigestKeys(t, b, "/CloudTrail-Digest/"+region+"/")
		if len(digests) == 0 {
			dlWaitDigests(t, srv, b, before, 1, "/CloudTrail-Digest/"+region+"/")
			digests = dlDigestKeys(t, b, "/CloudTrail-Digest/"+region+"/")
		}
		sort.Strings(digests)
		fp := dlReadDigest(t, b, digests[len(digests)-1]).DigestPublicKeyFingerprint
		c := srv.CloudTrail(AdminKey, AdminSecret, region)
		now := time.Now()
		out, err := c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{})
		if err != nil {
			t.Fatalf("ListPublicKeys in %s: %v", region, err)
		}
		if len(out.PublicKeyList) == 0 {
			t.Errorf("ListPublicKeys in %s: no key valid now", region)
		}
		found := false
		for _, k := range out.PublicKeyList {
			sum := md5.Sum(k.Value)
			if got := aws.ToString(k.Fingerprint); got != hex.EncodeToString(sum[:]) {
				t.Errorf("ListPublicKeys in %s: Fingerprint %s, want hex md5 of Value %s", region, got, hex.EncodeToString(sum[:]))
			}
			if _, err := x509.ParsePKCS1PublicKey(k.Value); err != nil {
				t.Errorf("ListPublicKeys in %s: Value is not a PKCS#1 RSA public key: %v", region, err)
			}
			from, to := aws.ToTime(k.ValidityStartTime), aws.ToTime(k.ValidityEndTime)
			if from.After(now) || !to.After(now) {
				t.Errorf("ListPublicKeys in %s: key %s valid %s to %s, which does not cover now (%s)", region,
					aws.ToString(k.Fingerprint), from, to, now)
			}
			found = found || aws.ToString(k.Fingerprint) == fp
		}
		if !found {
			t.Errorf("ListPublicKeys in %s: the digests' key %s is not listed", region, fp)
		}
		// A time range that covers the delivery lists it too.
		out, err = c.ListPublicKeys(ctx, &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(before.Add(-time.Hour)), EndTime: aws.Time(now)})
		if err != nil || !slices.ContainsFunc(out.PublicKeyList, func(k types.PublicKey) bool { return aws.ToString(k.Fingerprint) == fp }) {
			t.Errorf("ListPublicKeys in %s for the last hour: %v, want key %s", region, err, fp)
		}
	}
}
