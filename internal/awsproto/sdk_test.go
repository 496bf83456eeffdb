package awsproto_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/cairn-audit/cairn/internal/awsproto"
)

// sdkServer answers every request with answer and records the operations
// the SDK asked for, as Operation reads them from X-Amz-Target.
type sdkServer struct {
	mu  sync.Mutex
	ops []string
}

func (s *sdkServer) client(t *testing.T, answer func(w http.ResponseWriter, op string)) *cloudtrail.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		op, ok := awsproto.Operation(r.Header.Get("X-Amz-Target"))
		if !ok {
			awsproto.WriteError(w, "req-bad-target", awsproto.Errorf("UnknownOperationException", "target %q", r.Header.Get("X-Amz-Target")))
			return
		}
		s.mu.Lock()
		s.ops = append(s.ops, op)
		s.mu.Unlock()
		answer(w, op)
	}))
	t.Cleanup(srv.Close)
	return cloudtrail.New(cloudtrail.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// TestSDKDecodesErrors: aws-sdk-go-v2 turns WriteError's answer into its own
// typed errors, with the message, code and request ID.
func TestSDKDecodesErrors(t *testing.T) {
	ctx := context.Background()
	msg := `Unknown trail: arn:aws:cloudtrail:us-east-1:111122223333:trail/<a>&"b" for the user: 111122223333`
	var s sdkServer
	c := s.client(t, func(w http.ResponseWriter, op string) {
		awsproto.WriteError(w, "req-404", awsproto.Errorf("TrailNotFoundException", "%s", msg))
	})
	_, err := c.GetTrail(ctx, &cloudtrail.GetTrailInput{Name: aws.String("nope")})
	var nf *types.TrailNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("GetTrail error %v (%T), want *types.TrailNotFoundException", err, err)
	}
	if nf.ErrorMessage() != msg || nf.ErrorCode() != "TrailNotFoundException" || nf.ErrorFault() != smithy.FaultClient {
		t.Errorf("typed error: message %q code %q", nf.ErrorMessage(), nf.ErrorCode())
	}
	var re interface{ ServiceRequestID() string }
	if !errors.As(err, &re) || re.ServiceRequestID() != "req-404" {
		t.Errorf("request ID not seen by the SDK: %v", err)
	}
	s.mu.Lock()
	if len(s.ops) != 1 || s.ops[0] != "GetTrail" {
		t.Errorf("operations %v, want [GetTrail] (the SDK's X-Amz-Target)", s.ops)
	}
	s.mu.Unlock()

	// The typed errors of LookupEvents, as history answers them.
	for _, tc := range []struct {
		code   string
		target any
	}{
		{"InvalidLookupAttributesException", new(*types.InvalidLookupAttributesException)},
		{"InvalidMaxResultsException", new(*types.InvalidMaxResultsException)},
		{"InvalidTimeRangeException", new(*types.InvalidTimeRangeException)},
		{"InvalidNextTokenException", new(*types.InvalidNextTokenException)},
		{"InvalidEventCategoryException", new(*types.InvalidEventCategoryException)},
	} {
		t.Run(tc.code, func(t *testing.T) {
			c := s.client(t, func(w http.ResponseWriter, op string) {
				awsproto.WriteError(w, "r", awsproto.Errorf(awsproto.Code(tc.code), "because %s", tc.code))
			})
			_, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
			if !errors.As(err, tc.target) {
				t.Fatalf("LookupEvents error %v (%T), want %s", err, err, tc.code)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorMessage() != "because "+tc.code {
				t.Errorf("message %v", err)
			}
		})
	}

	// Errors the model does not list for the operation arrive as generic API
	// errors with their code and message.
	for _, tc := range []struct {
		err   *awsproto.Error
		fault smithy.ErrorFault
	}{
		{awsproto.Internal(), smithy.FaultUnknown},
		{awsproto.Unavailable("draining"), smithy.FaultUnknown},
		{awsproto.Errorf("SerializationException", "Field MaxResults has the wrong type"), smithy.FaultUnknown},
	} {
		t.Run(string(tc.err.Code), func(t *testing.T) {
			c := s.client(t, func(w http.ResponseWriter, op string) { awsproto.WriteError(w, "r", tc.err) })
			_, err := c.LookupEvents(ctx, &cloudtrail.LookupEventsInput{})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != string(tc.err.Code) || ae.ErrorMessage() != tc.err.Message {
				t.Fatalf("error %v (%T), want API error %s: %s", err, err, tc.err.Code, tc.err.Message)
			}
		})
	}
}

// TestSDKDecodesJSON: a WriteJSON answer with Time fields is what the SDK
// reads: epoch seconds with milliseconds.
func TestSDKDecodesJSON(t *testing.T) {
	type ev struct {
		EventId         string
		EventName       string
		EventTime       awsproto.Time
		CloudTrailEvent string
	}
	when := time.Date(2026, 11, 26, 9, 30, 0, 123_000_000, time.UTC)
	var s sdkServer
	c := s.client(t, func(w http.ResponseWriter, op string) {
		awsproto.WriteJSON(w, "req-ok", struct {
			Events    []ev
			NextToken *string
		}{Events: []ev{
			{"e1", "CreateTrail", awsproto.Time{Time: when}, `{"eventVersion":"1.11"}`},
			{"e2", "DeleteTrail", awsproto.Time{Time: when.Truncate(time.Second)}, `{}`},
		}, NextToken: aws.String("tok")})
	})
	out, err := c.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{MaxResults: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 2 || aws.ToString(out.NextToken) != "tok" {
		t.Fatalf("output %+v", out)
	}
	if got := out.Events[0]; aws.ToString(got.EventId) != "e1" || aws.ToString(got.EventName) != "CreateTrail" ||
		!aws.ToTime(got.EventTime).Equal(when) || aws.ToString(got.CloudTrailEvent) != `{"eventVersion":"1.11"}` {
		t.Errorf("event 0: %+v (time %v)", got, aws.ToTime(got.EventTime))
	}
	if got := aws.ToTime(out.Events[1].EventTime); !got.Equal(when.Truncate(time.Second)) {
		t.Errorf("event 1 time %v", got)
	}
}
