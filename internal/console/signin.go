package console

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/event"
)

// RecordFunc stores one management event of an account durably, through
// the path that records the server's own API calls
// (ingest.Service.Record).
type RecordFunc func(ctx context.Context, account string, record []byte) error

// signInRecord is the event CloudTrail writes for a sign-in to the AWS
// Management Console (eventSource signin.amazonaws.com, eventName
// ConsoleLogin, eventType AwsConsoleSignIn).
type signInRecord struct {
	EventVersion        string            `json:"eventVersion"`
	UserIdentity        signInIdentity    `json:"userIdentity"`
	EventTime           string            `json:"eventTime"`
	EventSource         string            `json:"eventSource"`
	EventName           string            `json:"eventName"`
	AWSRegion           string            `json:"awsRegion"`
	SourceIPAddress     string            `json:"sourceIPAddress"`
	UserAgent           string            `json:"userAgent,omitempty"`
	ErrorMessage        string            `json:"errorMessage,omitempty"`
	RequestParameters   json.RawMessage   `json:"requestParameters"`
	ResponseElements    signInResponse    `json:"responseElements"`
	AdditionalEventData signInData        `json:"additionalEventData"`
	EventID             string            `json:"eventID"`
	ReadOnly            bool              `json:"readOnly"`
	EventType           string            `json:"eventType"`
	ManagementEvent     bool              `json:"managementEvent"`
	RecipientAccountID  string            `json:"recipientAccountId"`
	EventCategory       string            `json:"eventCategory"`
	TLSDetails          *event.TLSDetails `json:"tlsDetails,omitempty"`
}

type signInIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	AccessKeyID string `json:"accessKeyId"`
	UserName    string `json:"userName"`
}

type signInResponse struct {
	ConsoleLogin string `json:"ConsoleLogin"` // Success or Failure
}

type signInData struct {
	LoginTo       string `json:"LoginTo"`
	MobileVersion string `json:"MobileVersion"`
	MFAUsed       string `json:"MFAUsed"`
}

// signIn is one checked sign-in attempt with a known access key.
type signIn struct {
	principal *auth.Principal // the key's user
	ok        bool
	ip        string
	userAgent string
	loginTo   string // the console page the user was going to
	tls       *event.TLSDetails
}

// signInEvent is the ConsoleLogin record of s, as CloudTrail writes it for
// an IAM user: in the global region, attributed to the key's user whether
// the secret was right or not. The access key id is recorded too: it is
// what a Cairn user signs in with, and not a secret.
func (c *Console) signInEvent(s signIn, now time.Time) ([]byte, error) {
	p := s.principal
	rec := signInRecord{
		EventVersion: event.Version,
		UserIdentity: signInIdentity{Type: "IAMUser", PrincipalID: p.PrincipalID, ARN: p.ARN, AccountID: p.Account,
			AccessKeyID: p.AccessKeyID, UserName: p.UserName},
		EventTime:           now.UTC().Format(event.TimeFormat),
		EventSource:         "signin.amazonaws.com",
		EventName:           "ConsoleLogin",
		AWSRegion:           c.opts.GlobalRegion,
		SourceIPAddress:     s.ip,
		UserAgent:           event.Clip(s.userAgent, 1024),
		RequestParameters:   json.RawMessage("null"),
		ResponseElements:    signInResponse{ConsoleLogin: "Success"},
		AdditionalEventData: signInData{LoginTo: event.Clip(s.loginTo, 1024), MobileVersion: "No", MFAUsed: "No"},
		EventID:             uuid.NewString(),
		ReadOnly:            false,
		EventType:           "AwsConsoleSignIn",
		ManagementEvent:     true,
		RecipientAccountID:  p.Account,
		EventCategory:       event.CategoryManagement,
		TLSDetails:          s.tls,
	}
	if !s.ok {
		rec.ResponseElements.ConsoleLogin = "Failure"
		rec.ErrorMessage = "Failed authentication"
	}
	return json.Marshal(rec)
}

// recordSignIn stores the ConsoleLogin event of s before the browser hears
// back, as a change made through the API is. A record that cannot be
// stored is logged; the answer does not change.
func (c *Console) recordSignIn(ctx context.Context, s signIn) {
	if c.opts.Record == nil {
		return
	}
	b, err := c.signInEvent(s, c.now())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		err = c.opts.Record(ctx, s.principal.Account, b)
	}
	if err != nil {
		c.opts.Log.Error("console: ConsoleLogin event not stored", "user", s.principal.ARN, "ip", s.ip, "err", err)
	}
}
