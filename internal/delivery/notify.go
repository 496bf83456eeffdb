package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/trail"
)

// notifier posts CloudTrail's SNS delivery message to a topic's configured
// webhook after each delivery, in the background, with retries; it never
// holds up delivery.
type notifier struct {
	opts   trail.OwnersOptions
	log    *slog.Logger
	client *http.Client
	wg     sync.WaitGroup
	mu     sync.Mutex
	last   map[string]*trail.DeliveryStatus // trail ARN → notification fields
	owners *trail.Owners
}

func newNotifier(o trail.OwnersOptions, log *slog.Logger, owners *trail.Owners) *notifier {
	return &notifier{opts: o, log: log, client: &http.Client{Timeout: 10 * time.Second}, last: map[string]*trail.DeliveryStatus{},
		owners: owners}
}

// message is the SNS message CloudTrail sends for delivered files.
type message struct {
	S3Bucket    string   `json:"s3Bucket"`
	S3ObjectKey []string `json:"s3ObjectKey"`
}

func (n *notifier) url(t *trail.Trail) string {
	if t.SnsTopicARN == "" {
		return ""
	}
	// arn:<partition>:sns:<region>:<account>:<name>
	parts := strings.Split(t.SnsTopicARN, ":")
	if len(parts) != 6 {
		return ""
	}
	for _, tp := range n.opts.Topics {
		if n.opts.Ownership.OwnerOf(tp.Account) == parts[4] && tp.Name == parts[5] {
			return tp.URL
		}
	}
	return ""
}

func (n *notifier) delivered(t *trail.Trail, files []plannedFile) {
	url := n.url(t)
	if url == "" || len(files) == 0 {
		return
	}
	// A trail stored before the ownership rules (or a config changed
	// since) posts only to its own account's topic.
	if err := n.owners.CheckTopic(t.SnsTopicARN, t.Account, t.IsOrganizationTrail); err != nil {
		n.record(t.ARN, err)
		return
	}
	msg := message{S3Bucket: t.S3BucketName}
	for _, f := range files {
		msg.S3ObjectKey = append(msg.S3ObjectKey, f.Key)
	}
	body, _ := json.Marshal(msg)
	arn := t.ARN
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if attempt > 0 {
				time.Sleep(time.Duration(attempt*attempt) * 200 * time.Millisecond)
			}
			if err = n.post(url, body); err == nil {
				break
			}
		}
		n.record(arn, err)
		if err != nil {
			n.log.Warn("delivery: notification failed", "trail", arn, "err", err)
		}
	}()
}

func (n *notifier) post(url string, body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered HTTP %d", resp.StatusCode)
	}
	return nil
}

func (n *notifier) record(arn string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.last[arn]
	if s == nil {
		s = &trail.DeliveryStatus{}
		n.last[arn] = s
	}
	now := time.Now().UTC()
	s.LatestNotificationAttemptTime = now
	if err != nil {
		s.LatestNotificationError = err.Error()
		return
	}
	s.LatestNotificationTime, s.LatestNotificationError = now, ""
}

func (n *notifier) status(arn string) *trail.DeliveryStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s := n.last[arn]; s != nil {
		c := *s
		return &c
	}
	return nil
}

func (n *notifier) wait() { n.wg.Wait() }
