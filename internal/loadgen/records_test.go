package loadgen

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairn-audit/cairn/internal/event"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUniverseSize(t *testing.T) {
	u := TheUniverse()
	if n := len(u.EventSources()); n < 8 || n > 12 {
		t.Errorf("%d services, want about 10", n)
	}
	if n := len(u.EventNames()); n < 35 || n > 45 {
		t.Errorf("%d event names, want about 40", n)
	}
	if n := len(u.UserNames()); n < 24 || n > 60 {
		t.Errorf("%d users, want a few dozen", n)
	}
	if n := len(u.AccessKeyIDs()); n < len(u.UserNames()) {
		t.Errorf("%d access keys for %d users", n, len(u.UserNames()))
	}
	if n := u.ResourceCount(); n < 2000 || n > 6000 {
		t.Errorf("%d resources, want a few thousand", n)
	}
	for _, list := range [][]string{u.EventNames(), u.UserNames(), u.AccessKeyIDs(), u.ResourceTypes()} {
		c := slices.Clone(list)
		slices.Sort(c)
		if len(slices.Compact(c)) != len(list) {
			t.Errorf("duplicates in %v", list)
		}
	}
	// The universe is the same on every run: lookups rely on it.
	if again := buildUniverse(); !slices.Equal(again.AccessKeyIDs(), u.AccessKeyIDs()) ||
		again.Services[0].Kinds[0].Names[7] != u.Services[0].Kinds[0].Names[7] {
		t.Error("the universe is not deterministic")
	}
}

// decodeBody splits a batch body into its records.
func decodeBody(t *testing.T, body []byte) []json.RawMessage {
	t.Helper()
	var b struct{ Records []json.RawMessage }
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("batch body is not valid JSON: %v\n%.500s", err, body)
	}
	return b.Records
}

type fields struct {
	EventTime    string
	EventSource  string
	EventName    string
	AWSRegion    string `json:"awsRegion"`
	EventID      string
	ReadOnly     *bool
	Recipient    string `json:"recipientAccountId"`
	UserIdentity struct {
		Type, UserName, AccessKeyID, AccountID string
	}
	Resources []struct {
		ARN, Type, AccountID string
	}
}

func TestRecordsAreValidAndSized(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts GenOptions
	}{
		{"1KiB", GenOptions{RecordBytes: 1024}},
		{"4KiB accounts regions", GenOptions{RecordBytes: 4096, Accounts: []string{"111111111111", "222222222222"}, Regions: []string{"us-east-1", "eu-west-1"}}},
		{"100KiB", GenOptions{RecordBytes: 100 << 10}},
		{"natural size", GenOptions{RecordBytes: 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGenerator(tc.opts)
			n := 300
			if tc.opts.RecordBytes > 10000 {
				n = 20
			}
			tpl := g.Template(n)
			ids := NewIDs(0xabcdef123456, 7)
			now := time.Now()
			body := tpl.Fill(nil, n, ids, now, 0)
			if len(body) != tpl.Size(n) {
				t.Errorf("body is %d bytes, Size says %d", len(body), tpl.Size(n))
			}
			recs := decodeBody(t, body)
			if len(recs) != n {
				t.Fatalf("%d records, want %d", len(recs), n)
			}
			seen := map[string]bool{}
			readOnly := 0
			regions := tc.opts.Regions
			if len(regions) == 0 {
				regions = []string{"us-east-1"}
			}
			exact, total := 0, 0
			for i, raw := range recs {
				total += len(raw)
				// A record is padded to exactly the size asked for, unless
				// it is naturally about that size already.
				if want := tc.opts.RecordBytes; want > 0 && len(raw) != want {
					if strings.Contains(string(raw), "benchPadding") || len(raw) < want-len(`,"benchPadding":""`) || len(raw) > 2*want {
						t.Errorf("record %d is %d bytes, want %d: %s", i, len(raw), want, raw)
					}
				} else {
					exact++
				}
				var f fields
				if err := json.Unmarshal(raw, &f); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				at, err := time.Parse(time.RFC3339, f.EventTime)
				if err != nil {
					t.Errorf("record %d: eventTime %q: %v", i, f.EventTime, err)
				}
				if age := now.Truncate(time.Second).Sub(at); age < 0 || age >= smallAge*time.Second {
					t.Errorf("record %d: eventTime %s is %v before now", i, f.EventTime, age)
				}
				if f.EventSource == "" || f.EventName == "" || f.AWSRegion == "" || f.ReadOnly == nil {
					t.Errorf("record %d lacks a required field: %s", i, raw[:200])
				}
				if !slices.Contains(regions, f.AWSRegion) {
					t.Errorf("record %d: awsRegion %q", i, f.AWSRegion)
				}
				if *f.ReadOnly {
					readOnly++
				}
				if !uuidRE.MatchString(f.EventID) || seen[f.EventID] {
					t.Errorf("record %d: eventID %q is not a fresh UUID", i, f.EventID)
				}
				seen[f.EventID] = true
				if f.UserIdentity.Type != "IAMUser" || f.UserIdentity.UserName == "" || !strings.HasPrefix(f.UserIdentity.AccessKeyID, "AKIA") {
					t.Errorf("record %d: userIdentity %+v", i, f.UserIdentity)
				}
				if len(tc.opts.Accounts) > 0 && (!slices.Contains(tc.opts.Accounts, f.Recipient) || f.UserIdentity.AccountID != f.Recipient) {
					t.Errorf("record %d: recipient %q, identity account %q", i, f.Recipient, f.UserIdentity.AccountID)
				}
				if len(tc.opts.Accounts) == 0 && f.Recipient != "" {
					t.Errorf("record %d names recipient %q", i, f.Recipient)
				}
				for _, r := range f.Resources {
					if !strings.HasPrefix(r.ARN, "arn:aws:") || !strings.HasPrefix(r.Type, "AWS::") {
						t.Errorf("record %d: resource %+v", i, r)
					}
				}
				// The server's own decoder accepts it and finds its lookup keys.
				e, ferr := event.Decode(raw, event.Context{Account: "111111111111",
					MayWriteFor: func(string) bool { return true }, Now: now})
				if ferr != nil {
					t.Fatalf("record %d refused by event.Decode: %v\n%s", i, ferr, raw)
				}
				keys := map[event.Attribute]bool{}
				for _, k := range e.Keys {
					keys[k.Attr] = true
				}
				for _, a := range []event.Attribute{event.AttrEventName, event.AttrEventSource, event.AttrReadOnly, event.AttrUsername, event.AttrAccessKeyID} {
					if !keys[a] {
						t.Errorf("record %d has no %s lookup key", i, a)
					}
				}
				if e.ID != f.EventID || !e.InEventHistory() {
					t.Errorf("record %d: decoded ID %q, category %q", i, e.ID, e.Category)
				}
			}
			if tc.opts.RecordBytes > 0 && exact < n*3/4 {
				t.Errorf("only %d of %d records are exactly %d bytes", exact, n, tc.opts.RecordBytes)
			}
			if mean := total / n; tc.opts.RecordBytes > 0 && (mean < tc.opts.RecordBytes*97/100 || mean > tc.opts.RecordBytes*103/100) {
				t.Errorf("mean record size %d, want about %d", mean, tc.opts.RecordBytes)
			}
			if n >= 300 {
				if frac := float64(readOnly) / float64(n); frac < 0.55 || frac > 0.9 {
					t.Errorf("%.2f of the records are read-only; want a mix with most reads", frac)
				}
			}
			// A second fill of the same template has new IDs; a partial one is
			// valid too.
			body2 := tpl.Fill(nil, n/2, ids, now, 0)
			for i, raw := range decodeBody(t, body2) {
				var f fields
				json.Unmarshal(raw, &f)
				if seen[f.EventID] {
					t.Errorf("refill record %d repeats eventID %s", i, f.EventID)
				}
			}
		})
	}
}

func TestRecordsSpreadAndResources(t *testing.T) {
	spread := 48 * time.Hour
	g := NewGenerator(GenOptions{RecordBytes: 800, Spread: spread})
	now := time.Now()
	oldest, newest := time.Duration(0), spread
	types, arns := map[string]bool{}, map[string]bool{}
	for k := range 3 {
		tpl := g.Template(1000)
		for _, raw := range decodeBody(t, tpl.Fill(nil, 1000, NewIDs(1, k), now, int64(k)*977777)) {
			var f fields
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			at, _ := time.Parse(time.RFC3339, f.EventTime)
			age := now.Truncate(time.Second).Sub(at)
			if age < 0 || age >= spread {
				t.Fatalf("eventTime %s is %v before now, outside the %v spread", f.EventTime, age, spread)
			}
			oldest, newest = max(oldest, age), min(newest, age)
			for _, r := range f.Resources {
				types[r.Type] = true
				arns[r.ARN] = true
			}
		}
	}
	if oldest < 40*time.Hour || newest > 2*time.Hour {
		t.Errorf("ages span %v to %v; want most of the %v spread", newest, oldest, spread)
	}
	if len(types) < 10 || len(arns) < 1000 {
		t.Errorf("%d resource types and %d ARNs in 3000 records", len(types), len(arns))
	}
}

func TestIDs(t *testing.T) {
	a, b := NewIDs(0x123456789abc, 1), NewIDs(0x123456789abc, 2)
	seen := map[string]bool{}
	buf := make([]byte, 36)
	for range 1000 {
		for _, s := range []*IDs{a, b} {
			s.next(buf)
			id := string(buf)
			if !uuidRE.MatchString(id) || seen[id] {
				t.Fatalf("ID %q is malformed or repeated", id)
			}
			seen[id] = true
		}
	}
	a.next(buf)
	if got := string(buf); got != "12345678-9abc-4001-8000-0000000003e9" {
		t.Errorf("ID layout: %s", got)
	}
}
