package auth

import (
	"cmp"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairn-audit/cairn/internal/config"
)

const (
	acctA = "111111111111"
	acctB = "222222222222"
	acctC = "333333333333"
)

// testDirectory is a directory of three accounts: A with one user of each
// policy kind, B with an ingest user that may write for A, C with an ingest
// user that may write for any configured account.
func testDirectory(partition string) *Directory {
	user := func(name string, p config.Policy, ingestFor ...string) config.User {
		return config.User{Name: name, Policy: p, IngestAccounts: ingestFor,
			AccessKeys: []config.AccessKey{{ID: "AKIA" + strings.ToUpper(name), Secret: name + "-secret"}}}
	}
	return NewDirectory(Options{Partition: partition, Accounts: []config.Account{
		{ID: acctA, Users: []config.User{
			user("admin", config.Policy{Preset: "admin"}),
			user("reader", config.Policy{Preset: "read-only"}),
			user("ingester", config.Policy{Preset: "ingest"}),
			user("trailish", config.Policy{Actions: []string{"cloudtrail:*Trail*", "cloudtrail:Get?vent*"}}),
			user("star", config.Policy{Actions: []string{"*"}}),
			user("nothing", config.Policy{Actions: []string{}}),
		}},
		{ID: acctB, Users: []config.User{user("forwarder", config.Policy{Preset: "ingest"}, acctA)}},
		{ID: acctC, Users: []config.User{user("collector", config.Policy{Preset: "ingest"}, "*")}},
	}})
}

func principal(t *testing.T, d *Directory, name string) *Principal {
	t.Helper()
	p, ok := d.Principal("AKIA" + strings.ToUpper(name))
	if !ok {
		t.Fatalf("no principal for user %s", name)
	}
	return p
}

// Each policy kind allows exactly its actions: the presets, and action
// lists whose patterns use * and ? wildcards, matched case-sensitively
// against the whole action.
func TestAllows(t *testing.T) {
	d := testDirectory("")
	cases := []struct {
		user   string
		allow  []string
		refuse []string
	}{
		{user: "admin",
			allow: []string{"cloudtrail:CreateTrail", "cloudtrail:DeleteTrail", "cloudtrail:LookupEvents", ActionIngest, ActionPutAuditEvents, "anything:AtAll"}},
		{user: "reader",
			allow: []string{"cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "cloudtrail:ListTrails",
				"cloudtrail:ListTags", "cloudtrail:DescribeTrails", "cloudtrail:LookupEvents"},
			refuse: []string{"cloudtrail:CreateTrail", "cloudtrail:UpdateTrail", "cloudtrail:DeleteTrail", "cloudtrail:StartLogging",
				"cloudtrail:StopLogging", "cloudtrail:PutEventSelectors", "cloudtrail:AddTags", ActionIngest, ActionPutAuditEvents,
				"cloudtrail:gettrail", "cloudtrail:LookupEventsX", "cloudtrail-data:GetTrail"}},
		{user: "ingester",
			allow:  []string{ActionIngest, ActionPutAuditEvents},
			refuse: []string{"cloudtrail:LookupEvents", "cloudtrail:GetTrail", "cloudtrail:CreateTrail", "cairn:Ingest"}},
		{user: "trailish",
			allow: []string{"cloudtrail:CreateTrail", "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:ListTrails",
				"cloudtrail:GetEventSelectors"},
			refuse: []string{"cloudtrail:StartLogging", "cloudtrail:LookupEvents", "cloudtrail:GetInsightSelectors", ActionIngest, "cloudtrail:createtrail"}},
		{user: "star",
			allow: []string{"cloudtrail:CreateTrail", ActionIngest, ActionPutAuditEvents}},
		{user: "nothing",
			refuse: []string{"cloudtrail:GetTrail", "cloudtrail:LookupEvents", ActionIngest}},
	}
	for _, c := range cases {
		t.Run(c.user, func(t *testing.T) {
			p := principal(t, d, c.user)
			for _, a := range c.allow {
				if !p.Allows(a) {
					t.Errorf("%s may not %s, want allowed", c.user, a)
				}
			}
			for _, a := range c.refuse {
				if p.Allows(a) {
					t.Errorf("%s may %s, want refused", c.user, a)
				}
			}
		})
	}
}

// Admin is the admin preset only: an action list of "*" allows every
// action but is not the admin preset.
func TestAdminFlag(t *testing.T) {
	d := testDirectory("")
	for user, want := range map[string]bool{"admin": true, "star": false, "reader": false, "ingester": false} {
		if got := principal(t, d, user).Admin; got != want {
			t.Errorf("%s: Admin = %v, want %v", user, got, want)
		}
	}
}

// The account wall: a user writes events for its own account, for the
// accounts its ingest_accounts lists, and with "*" for any configured
// account — never for an account the configuration does not have.
func TestMayWriteFor(t *testing.T) {
	d := testDirectory("")
	cases := []struct {
		user    string
		account string
		want    bool
	}{
		{"ingester", acctA, true},
		{"ingester", acctB, false},
		{"admin", acctB, false}, // admin of A is not an admin of B's events
		{"forwarder", acctB, true},
		{"forwarder", acctA, true},
		{"forwarder", acctC, false},
		{"collector", acctA, true},
		{"collector", acctB, true},
		{"collector", "444444444444", false},
		{"collector", "*", false}, // the wildcard is no account of its own
		{"ingester", "", false},
	}
	for _, c := range cases {
		if got := principal(t, d, c.user).MayWriteFor(c.account); got != c.want {
			t.Errorf("%s.MayWriteFor(%q) = %v, want %v", c.user, c.account, got, c.want)
		}
	}
}

// Keys resolve to their user and account; unknown keys and wrong secrets
// to nothing; a returned principal is a copy.
func TestDirectoryKeys(t *testing.T) {
	d := testDirectory("")
	if s, ok := d.SecretFor("AKIAREADER"); !ok || s != "reader-secret" {
		t.Errorf("SecretFor(AKIAREADER) = %q, %v", s, ok)
	}
	if _, ok := d.SecretFor("AKIAUNKNOWN"); ok {
		t.Error("SecretFor of an unknown key succeeded")
	}
	if _, ok := d.Principal("AKIAUNKNOWN"); ok {
		t.Error("Principal of an unknown key succeeded")
	}
	p, ok := d.Check("AKIAFORWARDER", "forwarder-secret")
	if !ok || p.Account != acctB || p.UserName != "forwarder" || p.AccessKeyID != "AKIAFORWARDER" ||
		p.ARN != "arn:aws:iam::"+acctB+":user/forwarder" || p.PrincipalID != PrincipalID(acctB, "forwarder") {
		t.Errorf("Check(forwarder) = %+v, %v", p, ok)
	}
	for _, bad := range [][2]string{{"AKIAFORWARDER", "reader-secret"}, {"AKIAFORWARDER", ""}, {"AKIAUNKNOWN", "forwarder-secret"}} {
		if _, ok := d.Check(bad[0], bad[1]); ok {
			t.Errorf("Check(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	p.Account, p.Admin = acctA, true
	if again := principal(t, d, "forwarder"); again.Account != acctB || again.Admin {
		t.Errorf("changing a returned principal changed the directory: %+v", again)
	}
	if !d.HasAccount(acctC) || d.HasAccount("444444444444") {
		t.Error("HasAccount does not follow the configured accounts")
	}
}

// Identity is the IAMUser userIdentity of a key, in the configured
// partition (aws when unset).
func TestIdentity(t *testing.T) {
	for _, part := range []string{"", "aws-cn"} {
		d := testDirectory(part)
		raw, account, ok := d.Identity("AKIAREADER")
		if !ok || account != acctA {
			t.Fatalf("Identity(AKIAREADER) account %q, ok %v", account, ok)
		}
		var id map[string]string
		if err := json.Unmarshal(raw, &id); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"type": "IAMUser", "principalId": PrincipalID(acctA, "reader"), "accountId": acctA,
			"accessKeyId": "AKIAREADER", "userName": "reader", "arn": "arn:" + cmp.Or(part, "aws") + ":iam::" + acctA + ":user/reader"}
		for k, v := range want {
			if id[k] != v {
				t.Errorf("partition %q: identity %s = %q, want %q", part, k, id[k], v)
			}
		}
		if _, _, ok := d.Identity("AKIAUNKNOWN"); ok {
			t.Error("Identity of an unknown key succeeded")
		}
	}
}

// PrincipalID is stable, IAM-shaped, and differs between users and between
// the same name in two accounts.
func TestPrincipalID(t *testing.T) {
	a := PrincipalID(acctA, "alice")
	if a != PrincipalID(acctA, "alice") {
		t.Error("PrincipalID is not stable")
	}
	if len(a) != 21 || !strings.HasPrefix(a, "AIDA") || strings.ToUpper(a) != a {
		t.Errorf("PrincipalID = %q, want AIDA and 17 upper-case characters", a)
	}
	if a == PrincipalID(acctB, "alice") || a == PrincipalID(acctA, "bob") {
		t.Error("PrincipalID collides across accounts or users")
	}
}
