package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cairn-audit/cairn/internal/spool"
)

// Sender drains the spool to a Cairn server's ingest API in batches. It
// acknowledges records only once the server has answered for them, so a
// server outage or a restart loses nothing; resending is safe because
// eventIDs make ingest idempotent. Records the server refuses for good are
// kept in <spool dir>/rejected.jsonl with the reason.
type Sender struct {
	Spool    *spool.Spool
	Server   string // base URL
	Key      string
	Secret   string
	Dir      string // where rejected.jsonl goes
	Log      *slog.Logger
	Client   *http.Client
	MaxBatch int
}

// Run sends until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	if s.Client == nil {
		s.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if s.MaxBatch <= 0 {
		s.MaxBatch = 500
	}
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		wake := s.Spool.Wait()
		entries, err := s.Spool.Peek(s.MaxBatch, 4<<20)
		if err != nil {
			s.Log.Error("proxy: spool read failed", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if len(entries) == 0 {
			select {
			case <-ctx.Done():
			case <-wake:
			case <-time.After(time.Second):
			}
			continue
		}
		if err := s.send(ctx, entries); err != nil {
			if ctx.Err() == nil {
				s.Log.Warn("proxy: events not delivered yet; retrying", "events", len(entries), "in", backoff, "err", err)
			}
			sleep(ctx, backoff)
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = 250 * time.Millisecond
		if err := s.Spool.Ack(entries[len(entries)-1].Seq); err != nil {
			s.Log.Error("proxy: spool ack failed", "err", err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// send posts one batch; nil means the server answered for every record.
func (s *Sender) send(ctx context.Context, entries []spool.Entry) error {
	var body bytes.Buffer
	body.WriteString(`{"Records":[`)
	for i, e := range entries {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(e.Data)
	}
	body.WriteString(`]}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Server+"/v1/events", bytes.NewReader(body.Bytes()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body.Bytes())
	// Declare the payload hash (signed): the server then checks the
	// signature before it reads the body, so the batch is never counted
	// against the bounds of bodies read before authentication, which
	// strangers share.
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: s.Key, SecretAccessKey: s.Secret},
		req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", time.Now()); err != nil {
		return err
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server answered HTTP %d: %.300s", resp.StatusCode, b)
	}
	var res struct {
		Failed []struct {
			Index        int    `json:"index"`
			ErrorCode    string `json:"errorCode"`
			ErrorMessage string `json:"errorMessage"`
		} `json:"failed"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("server answer: %w", err)
	}
	for _, f := range res.Failed {
		if f.Index < 0 || f.Index >= len(entries) {
			continue
		}
		s.Log.Error("proxy: server refused an event; kept in rejected.jsonl", "code", f.ErrorCode, "message", f.ErrorMessage)
		s.reject(entries[f.Index].Data, f.ErrorCode, f.ErrorMessage)
	}
	return nil
}

func (s *Sender) reject(rec []byte, code, msg string) {
	line, _ := json.Marshal(map[string]any{"errorCode": code, "errorMessage": msg, "record": json.RawMessage(rec)})
	f, err := os.OpenFile(filepath.Join(s.Dir, "rejected.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		s.Log.Error("proxy: cannot keep a refused event", "err", err)
		return
	}
	defer f.Close()
	f.Write(append(line, '\n'))
	f.Sync()
}
