package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// historyPrefix starts the source of a --from-cloudtrail import in a
// checkpoint.
const historyPrefix = "cloudtrail:"

// historyKeyTag separates a history import's endpoint from the access key
// it reads with in its checkpoint source.
const historyKeyTag = " key-sha256:"

// HistoryID is what names a --from-cloudtrail import in a checkpoint: the
// endpoint, normalized (scheme and host in lower case, no trailing
// slash), and the AWS access key the history is read with (a SHA-256
// prefix of its ID, from the default credential chain). The key decides
// the account whose history is read, so the checkpoint of one account is
// not taken for another's. CloudTrail has no call that names the caller's
// account (GetCallerIdentity is STS's, which a Cairn endpoint does not
// serve), hence the key: another key of the same account needs another
// checkpoint.
func HistoryID(ctx context.Context, endpoint string) (string, error) {
	ep, err := normalizeEndpoint(endpoint)
	if err != nil {
		return "", err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return "", fmt.Errorf("AWS credentials: %w", err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("AWS credentials: %w", err)
	}
	return historyID(ep, creds.AccessKeyID), nil
}

// historyID joins a normalized endpoint and an access key ID.
func historyID(endpoint, keyID string) string {
	sum := sha256.Sum256([]byte(keyID))
	return historyPrefix + endpoint + historyKeyTag + hex.EncodeToString(sum[:8])
}

// normalizeEndpoint spells a CloudTrail endpoint URL one way.
func normalizeEndpoint(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("--from-cloudtrail %q: not an endpoint URL (https://host[:port])", raw)
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

// sameHistory reports whether a checkpoint's source, as an earlier version
// wrote it ("cloudtrail:" and the endpoint as given, without the key),
// names the endpoint of source (a HistoryID). An earlier checkpoint does
// not name its key: it resumes whatever key reads.
func sameHistory(old, source string) bool {
	if !strings.HasPrefix(old, historyPrefix) || strings.Contains(old, historyKeyTag) {
		return false
	}
	ep, err := normalizeEndpoint(strings.TrimPrefix(old, historyPrefix))
	if err != nil {
		return false
	}
	endpoint, _, ok := strings.Cut(strings.TrimPrefix(source, historyPrefix), historyKeyTag)
	return ok && strings.HasPrefix(source, historyPrefix) && endpoint == ep
}

// otherKey reports whether two history sources differ only in their key.
func otherKey(a, b string) bool {
	ea, _, okA := strings.Cut(a, historyKeyTag)
	eb, _, okB := strings.Cut(b, historyKeyTag)
	return okA && okB && ea == eb && strings.HasPrefix(a, historyPrefix)
}
