// Package auth provides Cairn's principals: the accounts, users and access
// keys of the configuration, the lookup of a signing key to its user, and the
// evaluation of a user's policy against an action such as
// "cloudtrail:LookupEvents".
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/json"
	"path"
	"strings"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/event"
)

// Actions Cairn authorizes besides the CloudTrail API's own ("cloudtrail:<Op>").
const (
	// ActionIngest is sending events to the native ingest API, POST /v1/events.
	ActionIngest = "cairn:IngestEvents"
	// ActionPutAuditEvents is CloudTrail Data's PutAuditEvents.
	ActionPutAuditEvents = "cloudtrail-data:PutAuditEvents"
)

// Policy presets and what they allow.
var presets = map[string][]string{
	"admin":     {"*"},
	"read-only": {"cloudtrail:Get*", "cloudtrail:List*", "cloudtrail:Describe*", "cloudtrail:LookupEvents"},
	"ingest":    {ActionIngest, ActionPutAuditEvents},
}

// Principal is an authenticated caller.
type Principal struct {
	Account     string
	UserName    string
	ARN         string
	PrincipalID string
	AccessKeyID string
	// Admin is true for the admin preset.
	Admin bool
	// allow lists the action patterns the policy allows.
	allow []string
	// ingestFor lists the other accounts the user may write events for
	// ("*" for any configured account).
	ingestFor []string
	known     func(account string) bool
}

// Allows reports whether the principal's policy allows action.
func (p *Principal) Allows(action string) bool {
	for _, pat := range p.allow {
		if ok, _ := path.Match(pat, action); ok {
			return true
		}
	}
	return false
}

// MayWriteFor reports whether the principal may submit events owned by account.
func (p *Principal) MayWriteFor(account string) bool {
	if account == p.Account {
		return true
	}
	for _, a := range p.ingestFor {
		// "*" is a wildcard for the configured accounts, never an account
		// of its own: a record naming "*" as its recipient is refused.
		if a == "*" {
			if p.known(account) {
				return true
			}
			continue
		}
		if a == account {
			return true
		}
	}
	return false
}

// Directory resolves access keys to principals.
type Directory struct {
	keys      map[string]entry
	accounts  map[string]bool
	partition string
}

type entry struct {
	secret    string
	principal Principal
}

// Options are what the directory reads of the configuration.
type Options struct {
	// Partition is the ARN partition of the users' ARNs; "" means aws.
	Partition string
	// Accounts are the configured accounts with their users, access keys
	// and policies.
	Accounts []config.Account
}

// NewDirectory builds the directory of the configured accounts' users.
func NewDirectory(c Options) *Directory {
	d := &Directory{keys: map[string]entry{}, accounts: map[string]bool{}, partition: c.Partition}
	if d.partition == "" {
		d.partition = "aws"
	}
	for _, a := range c.Accounts {
		d.accounts[a.ID] = true
	}
	for _, a := range c.Accounts {
		for _, u := range a.Users {
			allow := u.Policy.Actions
			if u.Policy.Preset != "" {
				allow = presets[u.Policy.Preset]
			}
			p := Principal{
				Account:     a.ID,
				UserName:    u.Name,
				ARN:         "arn:" + d.partition + ":iam::" + a.ID + ":user/" + u.Name,
				PrincipalID: PrincipalID(a.ID, u.Name),
				Admin:       u.Policy.Preset == "admin",
				allow:       allow,
				ingestFor:   u.IngestAccounts,
				known:       func(acct string) bool { return d.accounts[acct] },
			}
			for _, k := range u.AccessKeys {
				pk := p
				pk.AccessKeyID = k.ID
				d.keys[k.ID] = entry{secret: k.Secret, principal: pk}
			}
		}
	}
	return d
}

// SecretFor implements sigv4.Credentials.
func (d *Directory) SecretFor(accessKeyID string) (string, bool) {
	e, ok := d.keys[accessKeyID]
	return e.secret, ok
}

// Principal returns the user an access key belongs to.
func (d *Directory) Principal(accessKeyID string) (*Principal, bool) {
	e, ok := d.keys[accessKeyID]
	if !ok {
		return nil, false
	}
	p := e.principal
	return &p, true
}

// Check verifies an access key pair directly (the console's login).
func (d *Directory) Check(accessKeyID, secret string) (*Principal, bool) {
	e, ok := d.keys[accessKeyID]
	if !ok || subtle.ConstantTimeCompare([]byte(e.secret), []byte(secret)) != 1 {
		return nil, false
	}
	p := e.principal
	return &p, true
}

// Identity is the CloudTrail userIdentity of the user an access key
// belongs to, and its account; ok is false for an unknown key.
func (d *Directory) Identity(accessKeyID string) (json.RawMessage, string, bool) {
	e, ok := d.keys[accessKeyID]
	if !ok {
		return nil, "", false
	}
	id := e.principal.UserIdentity()
	id.AccessKeyID = accessKeyID
	b, _ := json.Marshal(id)
	return b, id.AccountID, true
}

// UserIdentity is the CloudTrail userIdentity of a call the principal made
// with its access key.
func (p *Principal) UserIdentity() event.UserIdentity {
	return event.UserIdentity{Type: event.IdentityIAMUser, PrincipalID: p.PrincipalID, ARN: p.ARN,
		AccountID: p.Account, AccessKeyID: p.AccessKeyID, UserName: p.UserName}
}

// HasAccount reports whether account is configured.
func (d *Directory) HasAccount(account string) bool { return d.accounts[account] }

// PrincipalID derives a stable IAM-style unique id ("AIDA…") for a user.
func PrincipalID(account, user string) string {
	sum := sha256.Sum256([]byte(account + "/" + user))
	return "AIDA" + strings.ToUpper(base32.StdEncoding.EncodeToString(sum[:]))[:17]
}
