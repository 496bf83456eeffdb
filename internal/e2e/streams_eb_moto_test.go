package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/cairn-audit/cairn/internal/bucket/buckettest"
)

// ebMotoRoute makes, on moto's default bus, a rule with pattern that
// routes to a new SQS queue, and returns the queue's URL.
func ebMotoRoute(t *testing.T, endpoint, pattern string) (string, *sqs.Client) {
	t.Helper()
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider(buckettest.AccessKeyID, buckettest.SecretAccessKey, "")
	eb := eventbridge.New(eventbridge.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds})
	q := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), Credentials: creds})
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("cairn-events")})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: created.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("cairn-deletes"), EventPattern: aws.String(pattern)}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("cairn-deletes"),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	return *created.QueueUrl, q
}

// ebReceive reads the queue until every id in want has arrived (or the
// deadline) and returns every envelope received.
func ebReceive(t *testing.T, q *sqs.Client, url string, want ...string) []ebEnvelope {
	t.Helper()
	var got []ebEnvelope
	have := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := 0
		for _, id := range want {
			if !have[id] {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events did not reach the queue; got %v", missing, ebNames(got))
		}
		out, err := q.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			var env ebEnvelope
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				t.Fatalf("message %q: %v", aws.ToString(m.Body), err)
			}
			got = append(got, env)
			have[env.eventID()] = true
			if _, err := q.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
}

// TestStreamsEventBridgeMotoSQS: events ingested through the real binary go
// to an EventBridge bus with PutEvents (moto's default bus); a rule with an
// event pattern there routes to SQS, and the queue receives exactly the
// matching events, in CloudTrail's envelope.
func TestStreamsEventBridgeMotoSQS(t *testing.T) {
	t.Parallel()
	endpoint := buckettest.StartMoto(t)
	pattern := `{"source":["aws.iam"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":[{"prefix":"Delete"}]}}`
	queue, q := ebMotoRoute(t, endpoint, pattern)
	target := fmt.Sprintf("      - url: %q\n        access_key_id: %s\n        secret_access_key: %s\n",
		"eventbridge://?endpoint="+endpoint, buckettest.AccessKeyID, buckettest.SecretAccessKey)
	srv := Start(t, Options{Config: ebConfig(ebBus(Account1, "", target))})

	res := map[string]any{"resources": []map[string]any{{"type": "AWS::IAM::User", "ARN": "arn:aws:iam::111111111111:user/bob"}}}
	ids := dlIngest(t, srv,
		ebRecord("DeleteUser", "iam.amazonaws.com", Account1, false, res),
		ebRecord("CreateUser", "iam.amazonaws.com", Account1, false, nil),
		ebRecord("DeleteBucket", "s3.amazonaws.com", Account1, false, nil),
		ebRecord("DeleteUserRead", "iam.amazonaws.com", Account1, true, nil), // a read: not sent
		ebRecord("DeleteUser", "iam.amazonaws.com", Account2, false, nil),    // no bus for account 2
	)
	sentinel := dlIngest(t, srv, ebRecord("DeleteSentinel", "iam.amazonaws.com", Account1, false, nil))
	got := ebReceive(t, q, queue, ids[0], sentinel[0])
	if names := ebNames(got); !slices.Equal(names, []string{"DeleteSentinel", "DeleteUser"}) {
		t.Fatalf("queue received %v, want exactly DeleteSentinel and DeleteUser", names)
	}
	for _, env := range got {
		if env.Version != "0" || env.Source != "aws.iam" || env.DetailType != "AWS API Call via CloudTrail" || env.Region != "us-east-1" {
			t.Errorf("envelope %+v", env)
		}
		if env.eventID() == ids[0] && !slices.Equal(env.Resources, []string{"arn:aws:iam::111111111111:user/bob"}) {
			t.Errorf("resources %v", env.Resources)
		}
		if env.Detail["recipientAccountId"] != Account1 || env.Detail["eventSource"] != "iam.amazonaws.com" {
			t.Errorf("detail is not the record: %v", env.Detail)
		}
	}
}
