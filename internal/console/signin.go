package console

import (
	"context"
	"encoding/json"
	"time"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/event"
)

// RecordFunc stores one management event of an account durably, through
// the path that records the server's own API calls
// (ingest.Service.Record).
type RecordFunc func(ctx context.Context, account string, record []byte) error

// signInResponse is a ConsoleLogin record's responseElements.
type signInResponse struct {
	ConsoleLogin string `json:"ConsoleLogin"` // Success or Failure
}

// signInData is a ConsoleLogin record's additionalEventData.
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
// an IAM user (eventSource signin.amazonaws.com, eventType
// AwsConsoleSignIn): in the global region, attributed to the key's user
// whether the secret was right or not. The access key id is recorded too:
// it is what a Cairn user signs in with, and not a secret.
func (c *Console) signInEvent(s signIn, now time.Time) ([]byte, error) {
	rec := event.NewCall(now)
	rec.By(s.principal.UserIdentity())
	rec.From(s.ip, s.userAgent, s.tls)
	rec.EventSource = "signin.amazonaws.com"
	rec.EventName = "ConsoleLogin"
	rec.EventType = event.TypeConsoleSignIn
	rec.AWSRegion = c.opts.GlobalRegion
	result := signInResponse{ConsoleLogin: "Success"}
	if !s.ok {
		// CloudTrail writes no errorCode for a failed sign-in.
		result.ConsoleLogin = "Failure"
		rec.ErrorMessage = "Failed authentication"
	}
	rec.ResponseElements = result
	rec.AdditionalEventData = signInData{LoginTo: event.Clip(s.loginTo, event.TextLimit), MobileVersion: "No", MFAUsed: "No"}
	rec.Bound()
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
