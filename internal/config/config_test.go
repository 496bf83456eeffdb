package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestLoadFull(t *testing.T) {
	got, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		Listen:           "0.0.0.0:4590",
		DataDir:          "/var/lib/cairn",
		Partition:        "aws",
		Regions:          []string{"us-east-1", "us-west-2", "eu-west-1"},
		GlobalRegion:     "us-east-1",
		EventHistoryDays: 30,
		Store:            Store{Driver: "postgres", DSN: "postgres://cairn:pw@db:5432/cairn?sslmode=disable"},
		Organization: &Organization{
			ID:                "o-a1b2c3d4e5",
			ManagementAccount: "111111111111",
			Members:           []string{"222222222222"},
		},
		Accounts: []Account{
			{
				ID:    "111111111111",
				Alias: "management",
				Users: []User{
					{
						Name:       "alice",
						AccessKeys: []AccessKey{{ID: "AKIAEXAMPLEALICE0001", Secret: "alice-secret"}},
						Policy:     Policy{Preset: "admin"},
					},
					{
						Name: "reader",
						AccessKeys: []AccessKey{
							{ID: "AKIAEXAMPLEREADER001", Secret: "reader-secret"},
							{ID: "AKIAEXAMPLEREADER002", Secret: "reader-secret-2"},
						},
						Policy: Policy{Actions: []string{"cloudtrail:Get*", "cloudtrail:LookupEvents"}},
					},
				},
			},
			{
				ID: "222222222222",
				Users: []User{{
					Name:           "shipper",
					AccessKeys:     []AccessKey{{ID: "AKIAEXAMPLESHIPPER01", Secret: "shipper-secret"}},
					Policy:         Policy{Preset: "ingest"},
					IngestAccounts: []string{"111111111111", "*"},
				}},
			},
		},
		Buckets: []Bucket{
			{Name: "audit-logs", URL: "file:///var/lib/cairn/buckets/audit-logs", Account: "111111111111", Writers: []string{"organization"}},
			{
				Name:            "prod-logs",
				URL:             "s3://prod-logs?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true",
				AccessKeyID:     "MINIOKEY",
				SecretAccessKey: "minio-secret",
				Account:         "222222222222",
			},
		},
		Delivery: Delivery{FlushInterval: Duration{10 * time.Second}, DigestInterval: Duration{30 * time.Minute}},
		Insights: Insights{BaselineWindow: Duration{72 * time.Hour}, Settle: Duration{30 * time.Second}, MaxAPIs: 5000},
		KMSKeys: []KMSKey{{
			ARN:     "arn:aws:kms:us-east-1:111111111111:key/6f1c2d3e-0000-4000-8000-123456789abc",
			Account: "111111111111",
			Users:   []string{"222222222222"},
		}},
		Topics: []Topic{{Name: "audit-topic", Account: "111111111111", URL: "http://127.0.0.1:9999/hook"}},
		LogGroups: []LogGroup{{
			ARN:     "arn:aws:logs:us-east-1:111111111111:log-group:audit:*",
			Account: "111111111111",
			URL:     "file:///var/lib/cairn/logs/audit.jsonl",
		}},
		Limits: Limits{MaxBodyBytes: 1 << 20, MaxBatchRecords: 500, MaxInflightIngest: 64,
			BodyReadTimeout: Duration{10 * time.Second}, UnauthenticatedBodyBytes: 64 << 20,
			UnauthenticatedBytesPerAddress: 16 << 20, UnauthenticatedRequestsPerAddress: 16,
			UnauthenticatedBytesPerKey: 8 << 20, MaxInflightPerKey: 16, MaxInflightPerAddress: 32},
		Console: Console{SignIn: SignIn{FailuresPerKey: 3, FailuresPerAddress: 100,
			FirstWait: Duration{time.Minute}, MaxWait: Duration{15 * time.Minute}}, SessionTTL: Duration{8 * time.Hour}},
		Tail: defaultTail(),
		Lake: defaultLake(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load mismatch\n got: %+v\nwant: %+v", got, want)
	}

	// Re-encoding and parsing again yields the same configuration.
	out, err := yaml.Marshal(got)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	again, err := Parse("roundtrip.yaml", out)
	if err != nil {
		t.Fatalf("Parse(Marshal(cfg)): %v\n%s", err, out)
	}
	out2, err := yaml.Marshal(again)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if string(out) != string(out2) {
		t.Errorf("round trip mismatch\n got: %s\nwant: %s", out2, out)
	}

	if a, ok := got.Account("222222222222"); !ok || a.Users[0].Name != "shipper" {
		t.Errorf("Account(222222222222) = %v, %v", a, ok)
	}
	if _, ok := got.Account("333333333333"); ok {
		t.Error("Account(333333333333) found")
	}
	if m := got.OrganizationMembers(); !reflect.DeepEqual(m, []string{"111111111111", "222222222222"}) {
		t.Errorf("OrganizationMembers = %v", m)
	}
}

func TestDefaults(t *testing.T) {
	d := Default()
	if d.Listen != "127.0.0.1:4590" || d.DataDir != "./cairn-data" || d.Partition != "aws" ||
		d.GlobalRegion != "us-east-1" || d.EventHistoryDays != 90 || d.Store != (Store{Driver: "sqlite"}) ||
		d.Delivery.FlushInterval.Duration != 5*time.Second || d.Delivery.DigestInterval.Duration != time.Hour ||
		d.Limits.MaxBodyBytes != 8<<20 || d.Limits.MaxBatchRecords != 1000 || d.Organization != nil ||
		d.Insights.BaselineWindow.Duration != 168*time.Hour || d.Insights.Settle.Duration != time.Minute || d.Insights.MaxAPIs != 10000 {
		t.Errorf("Default() = %+v", d)
	}
	if len(d.Regions) != 32 || d.Regions[0] != "us-east-1" || !contains(d.Regions, "ap-southeast-7") || !contains(d.Regions, "mx-central-1") {
		t.Errorf("Default().Regions = %v", d.Regions)
	}
	// Each call returns fresh slices.
	d.Regions[0] = "xx"
	if Default().Regions[0] != "us-east-1" {
		t.Error("Default shares its regions slice")
	}

	got, err := Load(filepath.Join("testdata", "minimal.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Default()
	want.Accounts = []Account{{ID: "111111111111", Users: []User{{
		Name:       "alice",
		AccessKeys: []AccessKey{{ID: "AKIAEXAMPLEALICE0001", Secret: "s3cret"}},
		Policy:     Policy{Preset: "read-only"},
	}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("minimal config\n got: %+v\nwant: %+v", got, want)
	}

	// Setting a nested field keeps the other defaults of its struct.
	got, err = Parse("partial.yaml", []byte("delivery: {flush_interval: 1m}\nlimits: {max_batch_records: 10}\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got.Delivery.FlushInterval.Duration != time.Minute || got.Delivery.DigestInterval.Duration != time.Hour ||
		got.Limits.MaxBatchRecords != 10 || got.Limits.MaxBodyBytes != 8<<20 {
		t.Errorf("partial config: %+v", got)
	}

	for _, empty := range []string{"", "# nothing\n", "---\n", "~\n"} {
		got, err := Parse("empty.yaml", []byte(empty))
		if err != nil {
			t.Errorf("Parse(%q): %v", empty, err)
			continue
		}
		if !reflect.DeepEqual(got, Default()) {
			t.Errorf("Parse(%q) = %+v, want defaults", empty, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("CAIRN_TEST_LISTEN", "0.0.0.0:8080")
	t.Setenv("CAIRN_TEST_DAYS", "7")
	t.Setenv("CAIRN_TEST_ACCOUNT", "123456789012")
	t.Setenv("CAIRN_TEST_SECRET", "s3cr#t: with ${braces}")
	t.Setenv("CAIRN_TEST_DIR", "/srv/cairn")
	got, err := Load(filepath.Join("testdata", "env.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.Listen != "0.0.0.0:8080" || got.EventHistoryDays != 7 || got.Accounts[0].ID != "123456789012" {
		t.Errorf("expanded config: %+v", got)
	}
	if s := got.Accounts[0].Users[0].AccessKeys[0].Secret; s != "s3cr#t: with ${braces}" {
		t.Errorf("secret = %q", s)
	}
	if u := got.Buckets[0].URL; u != "file:///srv/cairn/buckets/audit-logs?literal=${NOT_EXPANDED}" {
		t.Errorf("bucket url = %q", u)
	}
}

func TestEnvErrors(t *testing.T) {
	t.Setenv("CAIRN_TEST_LISTEN", "0.0.0.0:8080")
	t.Setenv("CAIRN_TEST_DAYS", "7")
	t.Setenv("CAIRN_TEST_ACCOUNT", "123456789012")
	t.Setenv("CAIRN_TEST_DIR", "/srv/cairn")
	os.Unsetenv("CAIRN_TEST_SECRET") // t.Setenv above restores the environment
	_, err := Load(filepath.Join("testdata", "env.yaml"))
	wantErr(t, err, filepath.Join("testdata", "env.yaml")+":9: ", "environment variable CAIRN_TEST_SECRET is not set")

	t.Setenv("CAIRN_TEST_DAYS", "many")
	_, err = Parse("days.yaml", []byte("listen: :1\nevent_history_days: ${CAIRN_TEST_DAYS}\n"))
	wantErr(t, err, "days.yaml:2: ", "event_history_days: expected an integer")

	_, err = Parse("brace.yaml", []byte("listen: :1\ndata_dir: \"${OOPS\"\n"))
	wantErr(t, err, "brace.yaml:2: ", `unterminated "${"`)

	_, err = Parse("name.yaml", []byte("data_dir: ${1BAD}\n"))
	wantErr(t, err, "name.yaml:1: ", `invalid environment variable name "1BAD"`)

	t.Setenv("CAIRN_TEST_EMPTY", "")
	_, err = Parse("empty.yaml", []byte(`accounts:
  - id: "111111111111"
    users:
      - name: alice
        access_keys: [{id: AKIAEXAMPLEALICE0001, secret: "${CAIRN_TEST_EMPTY}"}]
        policy: admin
`))
	wantErr(t, err, "empty.yaml:5: ", "secret must not be empty")
}

func TestPolicy(t *testing.T) {
	tests := []struct {
		yaml string
		want Policy
	}{
		{"admin", Policy{Preset: "admin"}},
		{"read-only", Policy{Preset: "read-only"}},
		{"ingest", Policy{Preset: "ingest"}},
		{`["cloudtrail:*"]`, Policy{Actions: []string{"cloudtrail:*"}}},
		{`["*"]`, Policy{Actions: []string{"*"}}},
		{"\n          - cloudtrail:Get*\n          - cloudtrail-data:PutAuditEvents", Policy{Actions: []string{"cloudtrail:Get*", "cloudtrail-data:PutAuditEvents"}}},
	}
	for _, tt := range tests {
		data := "accounts:\n  - id: \"111111111111\"\n    users:\n      - name: u\n        access_keys: [{id: AKIAEXAMPLEUSER00001, secret: x}]\n        policy: " + tt.yaml + "\n"
		cfg, err := Parse("policy.yaml", []byte(data))
		if err != nil {
			t.Errorf("policy %s: %v", tt.yaml, err)
			continue
		}
		if got := cfg.Accounts[0].Users[0].Policy; !reflect.DeepEqual(got, tt.want) {
			t.Errorf("policy %s = %+v, want %+v", tt.yaml, got, tt.want)
		}
	}
}

// header is prepended to many bad files: a valid account on lines 1-6.
const header = `accounts:
  - id: "111111111111"
    users:
      - name: alice
        access_keys: [{id: AKIAEXAMPLEALICE0001, secret: s3cret}]
        policy: admin
`

// twoAccounts is header with a second account (lines 1-11).
const twoAccounts = header + `  - id: "222222222222"
    users:
      - name: bob
        access_keys: [{id: AKIAEXAMPLEBOB000001, secret: s3cret}]
        policy: admin
`

func TestBadFiles(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		line   int
		reason string
	}{
		{"syntax error", "listen: 127.0.0.1:4590\naccounts:\n  - id: \"1\n", 3, "YAML syntax error"},
		{"syntax error mapping", "listen: a\n  data_dir: b: c\n", 2, "YAML syntax error"},
		{"tab indentation", "listen: a\n\tdata_dir: b\n", 2, "YAML syntax error"},
		{"multiple documents", "listen: :1\n---\nlisten: :2\n", 2, "multiple YAML documents"},
		{"top level not a mapping", "- a\n- b\n", 1, "expected a mapping, got a list"},
		{"unknown field top level", "listen: :1\nlisten_addr: :2\n", 2, `unknown field "listen_addr"`},
		{"unknown field nested", header + "buckets:\n  - name: logs\n    path: /tmp\n", 9, `unknown field "path" in buckets[0]`},
		{"unknown field in user", header[:len(header)-len("        policy: admin\n")] + "        polcy: admin\n", 6, `unknown field "polcy" in accounts[0].users[0]`},
		{"unknown field in store", "store: {driver: sqlite, path: x}\n", 1, `unknown field "path" in store`},
		{"duplicate field", "listen: :1\ndata_dir: a\nlisten: :2\n", 3, `field "listen" is defined twice (first at line 1)`},
		{"wrong type int", "event_history_days: ninety\n", 1, `event_history_days: expected an integer, got "ninety"`},
		{"wrong type list", "regions: us-east-1\n", 1, "regions: expected a list"},
		{"wrong type struct", header + "store: sqlite\n", 7, "store: expected a mapping"},
		{"wrong type string", "listen: [a, b]\n", 1, "listen: expected a string, got a list"},
		{"int overflow", "limits:\n  max_body_bytes: 99999999999999999999\n", 2, "max_body_bytes: expected an integer"},
		{"bad account id", header + "  - id: \"12345\"\n", 7, `accounts[1].id: invalid account id "12345"`},
		{"missing account id", header + "  - alias: other\n", 7, `invalid account id ""`},
		{"duplicate account id", header + "  - id: \"111111111111\"\n", 7, `duplicate account id "111111111111"`},
		{"bad user name", header + "      - name: bob smith\n        policy: admin\n", 7, `invalid user name "bob smith"`},
		{"duplicate user name", header + "      - name: alice\n        policy: admin\n", 7, `duplicate user name "alice"`},
		{"bad access key id", header + "      - name: bob\n        policy: admin\n        access_keys:\n          - {id: akia-lower, secret: x}\n", 10, `invalid access key id "akia-lower"`},
		{"duplicate key id", header + "  - id: \"222222222222\"\n    users:\n      - name: bob\n        policy: admin\n        access_keys:\n          - id: AKIAEXAMPLEALICE0001\n            secret: x\n", 12, `duplicate access key id "AKIAEXAMPLEALICE0001" (also held by user alice in account 111111111111)`},
		{"empty secret", header + "      - name: bob\n        policy: admin\n        access_keys: [{id: AKIAEXAMPLEBOB00001}]\n", 9, "secret must not be empty"},
		{"bad policy preset", header + "      - name: bob\n        policy: superuser\n", 8, `unknown policy preset "superuser"`},
		{"bad policy action", header + "      - name: bob\n        policy:\n          - cloudtrail:Get*\n          - lookup events\n", 10, `policy[1]: invalid action pattern "lookup events"`},
		{"policy mapping", header + "      - name: bob\n        policy: {allow: all}\n", 8, "policy must be a preset"},
		{"missing policy", header + "      - name: bob\n", 7, "a policy is required"},
		{"bad ingest account", header + "        ingest_accounts: [\"999999999999\"]\n", 7, `"999999999999" is not a configured account id`},
		{"bad region", "regions: [us-east-1,\n  US_WEST]\n", 2, `regions[1]: invalid region "US_WEST"`},
		{"duplicate region", "regions:\n  - us-east-1\n  - us-east-1\n", 3, `duplicate region "us-east-1"`},
		{"empty regions", "regions: []\n", 1, "regions: must list at least one region"},
		{"global region not served", "listen: :1\nregions: [eu-west-1]\nglobal_region: us-east-1\n", 3, `global region "us-east-1" is not one of the served regions`},
		{"default global region not served", "listen: :1\nregions: [eu-west-1]\n", 2, `global region "us-east-1" is not one of the served regions`},
		{"event history too long", "event_history_days: 4000\n", 1, "event_history_days: must be between 1 and 3650"},
		{"bad store driver", "\nstore: {driver: mysql}\n", 2, `unknown driver "mysql"`},
		{"postgres without dsn", "listen: :1\nstore:\n  driver: postgres\n", 2, "the postgres driver needs a dsn"},
		{"store cache too small", "store: {driver: sqlite, cache_mib: 8}\n", 1, "store.cache_mib: must be between 16 and 65536 (or 0 for the default), got 8"},
		{"store cache negative", "store:\n  cache_mib: -1\n", 2, "store.cache_mib: must be between 16 and 65536"},
		{"store cache too big", "store: {cache_mib: 65537}\n", 1, "store.cache_mib: must be between 16 and 65536"},
		{"store log cache too small", "store: {driver: sqlite, log_cache_mib: 100}\n", 1, "store.log_cache_mib: must be between 256 and 1048576, or 0 for the default, or -1 to leave the page cache to the OS; got 100"},
		{"store log cache below -1", "store: {driver: sqlite, log_cache_mib: -2}\n", 1, "store.log_cache_mib: must be between 256 and 1048576"},
		{"store log cache on postgres", "store: {driver: postgres, dsn: \"postgres://x\", log_cache_mib: 512}\n", 1, "store.log_cache_mib: applies to the sqlite driver only"},
		{"store cache on postgres", "store: {driver: postgres, dsn: \"postgres://x\", cache_mib: 512}\n", 1, "store.cache_mib: applies to the sqlite driver only"},
		{"bad org id", header + "organization: {id: org-1, management_account: \"111111111111\"}\n", 7, `invalid organization id "org-1"`},
		{"org management account not configured", header + "organization:\n  id: o-a1b2c3d4e5\n  management_account: \"999999999999\"\n", 9, `organization.management_account: "999999999999" is not a configured account`},
		{"org member not configured", header + "organization:\n  id: o-a1b2c3d4e5\n  management_account: \"111111111111\"\n  members:\n    - \"111111111111\"\n    - \"222222222222\"\n", 12, `organization.members[1]: "222222222222" is not a configured account`},
		{"bad bucket name", "buckets:\n  - {name: Audit_Logs, url: \"file:///tmp/x\"}\n", 2, `invalid bucket name "Audit_Logs"`},
		{"short bucket name", "buckets:\n  - name: ab\n    url: file:///tmp/x\n", 2, "must be 3-63 characters long"},
		{"ip bucket name", "buckets:\n  - name: 192.168.1.1\n    url: file:///tmp/x\n", 2, "IP address"},
		{"duplicate bucket", "buckets:\n  - {name: logs, url: \"file:///a\"}\n  - {name: logs, url: \"file:///b\"}\n", 3, `duplicate bucket name "logs"`},
		{"bad bucket url", "buckets:\n  - name: logs\n    url: http://example.com/logs\n", 3, "unsupported url scheme"},
		{"bucket half credentials", "buckets:\n  - name: logs\n    url: s3://logs\n    access_key_id: KEY\n", 2, "must be set together"},
		{"bad duration", "delivery:\n  flush_interval: 5 seconds\n", 2, `delivery.flush_interval: invalid duration "5 seconds"`},
		{"duration without unit", "delivery:\n  digest_interval: 60\n", 2, `invalid duration "60"`},
		{"flush too long", "delivery:\n  flush_interval: 1h\n", 2, "delivery.flush_interval: must be greater than 0 and at most 15m0s"},
		{"flush zero", "delivery:\n  flush_interval: 0s\n", 2, "delivery.flush_interval: must be greater than 0"},
		{"digest too short", "delivery:\n  digest_interval: 10ms\n", 2, "delivery.digest_interval: must be at least 1s"},
		{"insights window too short", "insights:\n  baseline_window: 30m\n", 2, "insights.baseline_window: must be a whole number of hours from 1h0m0s to 2160h0m0s, got 30m0s"},
		{"insights window too long", "insights: {baseline_window: 2200h}\n", 1, "insights.baseline_window: must be a whole number of hours"},
		{"insights window not whole hours", "insights: {baseline_window: 90m}\n", 1, "insights.baseline_window: must be a whole number of hours"},
		{"insights settle negative", "insights:\n  settle: -1s\n", 2, "insights.settle: must be from 0s to 1h0m0s, got -1s"},
		{"insights settle too long", "insights:\n  settle: 2h\n", 2, "insights.settle: must be from 0s to 1h0m0s"},
		{"insights max_apis zero", "insights: {max_apis: 0}\n", 1, "insights.max_apis: must be from 1 to 1000000, got 0"},
		{"insights max_apis too many", "insights: {max_apis: 1000001}\n", 1, "insights.max_apis: must be from 1 to 1000000, got 1000001"},
		{"insights unknown key", "insights:\n  window: 1h\n", 2, "window"},
		{"bad kms arn", header + "kms_keys:\n  - arn: arn:aws:s3:::bucket\n    account: \"111111111111\"\n", 8, "invalid kms ARN"},
		{"kms account not configured", header + "kms_keys:\n  - arn: arn:aws:kms:us-east-1:999999999999:key/abc\n    account: \"999999999999\"\n", 9, `kms_keys[0].account: "999999999999" is not a configured account`},
		{"kms wrong partition", header + "kms_keys:\n  - arn: arn:aws-cn:kms:us-east-1:111111111111:key/abc\n    account: \"111111111111\"\n", 8, `is not in partition "aws"`},
		{"topic bad url", header + "topics:\n  - name: t\n    account: \"111111111111\"\n    url: ftp://x\n", 10, "topics[0].url: invalid url"},
		{"log group bad arn", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:stream:x\n    account: \"111111111111\"\n    url: file:///tmp/x\n", 8, "invalid logs ARN"},
		{"log group bad scheme", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n    url: ftp://x\n", 10, "log_groups[0].url: invalid url"},
		{"log group cwl unknown parameter", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n    url: \"cloudwatch-logs://?endpoint=http://127.0.0.1:5000&bucket=x\"\n", 10, "unknown parameter \"bucket\""},
		{"log group cwl bad endpoint", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n    url: \"cloudwatch-logs://?endpoint=ftp://h\"\n", 10, "is not an http(s) URL"},
		{"log group cwl host", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n    url: \"cloudwatch-logs://logs.example.com\"\n", 10, "has a host or path"},
		{"log group cwl half credentials", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n    url: \"cloudwatch-logs://?endpoint=http://127.0.0.1:5000\"\n    access_key_id: KEY\n", 8, "must be set together"},
		{"log group file credentials", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n    url: file:///tmp/x.ndjson\n    access_key_id: KEY\n    secret_access_key: S\n", 8, "only apply to cloudwatch-logs://"},
		{"log group http rotation", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n    url: http://127.0.0.1:9/x\n    keep_files: 3\n", 8, "rotate_bytes and keep_files only apply to file://"},
		{"log group file is a directory", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n    url: file:///var/log/\n", 10, "names a directory"},
		{"log group tiny rotation", header + "log_groups:\n  - arn: arn:aws:logs:us-east-1:111111111111:log-group:g\n    account: \"111111111111\"\n    url: file:///tmp/x.ndjson\n    rotate_bytes: 10\n", 11, "log_groups[0].rotate_bytes: must be at least 1024"},
		{"bucket without owner among several accounts", twoAccounts + "buckets:\n  - {name: logs, url: \"file:///a\"}\n", 13, "buckets[0].account: several accounts are configured: add account:"},
		{"bucket owner not configured", header + "buckets:\n  - {name: logs, url: \"file:///a\", account: \"999999999999\"}\n", 8, `buckets[0].account: "999999999999" is not a configured account`},
		{"bucket writer not configured", header + "buckets:\n  - name: logs\n    url: file:///a\n    writers: [\"111111111111\", \"999999999999\"]\n", 10, `buckets[0].writers[1]: "999999999999" is not a configured account id`},
		{"bucket writers organization without organization", header + "buckets:\n  - name: logs\n    url: file:///a\n    writers: [organization]\n", 10, `buckets[0].writers[0]: "organization" needs an organization: section`},
		{"bucket duplicate writer", header + "buckets:\n  - name: logs\n    url: file:///a\n    writers:\n      - \"111111111111\"\n      - \"111111111111\"\n", 12, `buckets[0].writers[1]: duplicate entry`},
		{"kms without owner among several accounts", twoAccounts + "kms_keys:\n  - arn: arn:aws:kms:us-east-1:111111111111:key/abc\n", 13, "kms_keys[0].account: several accounts are configured: add account:"},
		{"kms user not configured", header + "kms_keys:\n  - arn: arn:aws:kms:us-east-1:111111111111:key/abc\n    users: [\"999999999999\"]\n", 9, `kms_keys[0].users[0]: "999999999999" is not a configured account id`},
		{"topic without owner among several accounts", twoAccounts + "topics:\n  - name: t\n    url: http://127.0.0.1:1/x\n", 13, "topics[0].account: several accounts are configured: add account:"},
		{"limits not positive", "limits:\n  max_body_bytes: 0\n  max_batch_records: -1\n", 2, "limits.max_body_bytes: must be positive"},
		{"limits batch not positive", "limits:\n  max_body_bytes: 10\n  max_batch_records: -1\n", 3, "limits.max_batch_records: must be positive"},
		{"empty listen", "listen: \"\"\n", 1, "listen: must not be empty"},
		{"bad listen", "listen: localhost\n", 1, `listen: invalid address "localhost"`},
		{"unresolved anchor", "listen: *nope\n", 1, "YAML syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("bad.yaml", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", cfg)
			}
			wantErr(t, err, "bad.yaml:"+strconv.Itoa(tt.line)+": ", tt.reason)
		})
	}
}

// TestOwners checks who owns a bucket, key or topic without account: (the
// only account, when there is one) and who else may use it.
func TestOwners(t *testing.T) {
	one, err := Parse("one.yaml", []byte(header+"buckets:\n  - {name: logs, url: \"file:///a\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := one.OwnerOf(one.Buckets[0].Account); got != "111111111111" {
		t.Errorf("OwnerOf with one account = %q", got)
	}
	if !one.Permits(one.Buckets[0].Account, nil, "111111111111") || one.Permits(one.Buckets[0].Account, nil, "222222222222") {
		t.Error("Permits with one account: want only the owner")
	}
	org, err := Parse("org.yaml", []byte(twoAccounts+`  - id: "333333333333"
    users: []
organization: {id: o-a1b2c3d4e5, management_account: "111111111111", members: ["222222222222"]}
buckets:
  - {name: logs, url: "file:///a", account: "111111111111", writers: [organization]}
  - {name: two, url: "file:///b", account: "222222222222", writers: ["333333333333"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		bucket  int
		account string
		want    bool
	}{
		{0, "111111111111", true}, {0, "222222222222", true}, {0, "333333333333", false}, {0, "", false},
		{1, "222222222222", true}, {1, "333333333333", true}, {1, "111111111111", false},
	} {
		b := org.Buckets[tt.bucket]
		if got := org.Permits(b.Account, b.Writers, tt.account); got != tt.want {
			t.Errorf("Permits(%s, %s) = %v, want %v", b.Name, tt.account, got, tt.want)
		}
	}
}

func TestBadFileFromDisk(t *testing.T) {
	path := filepath.Join("testdata", "bad-unknown-nested.yaml")
	_, err := Load(path)
	wantErr(t, err, path+":7: ", `unknown field "polcy" in accounts[0].users[0]`)

	_, err = Load(filepath.Join("testdata", "does-not-exist.yaml"))
	if err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("Load(missing) = %v", err)
	}
}

func TestMultipleProblems(t *testing.T) {
	data := header + "  - id: \"12\"\nregions: [us-east-1, bogus]\nevent_history_days: 0\n"
	_, err := Parse("multi.yaml", []byte(data))
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		`multi.yaml:7: accounts[1].id: invalid account id "12" (want 12 digits)`,
		`multi.yaml:8: regions[1]: invalid region "bogus" (want e.g. "us-east-1")`,
		`multi.yaml:9: event_history_days: must be between 1 and 3650, got 0`,
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("error lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestAliasesAndMerge(t *testing.T) {
	data := `defaults: &user
  policy: admin
accounts:
  - id: "111111111111"
    users:
      - <<: *user
        name: alice
        access_keys: [{id: AKIAEXAMPLEALICE0001, secret: x}]
`
	_, err := Parse("alias.yaml", []byte(data))
	wantErr(t, err, "alias.yaml:1: ", `unknown field "defaults"`)

	data = `accounts:
  - id: "111111111111"
    users:
      - &alice
        name: alice
        access_keys: [{id: AKIAEXAMPLEALICE0001, secret: x}]
        policy: admin
  - id: "222222222222"
    users:
      - <<: *alice
        name: bob
        access_keys: [{id: AKIAEXAMPLEBOB000001, secret: y}]
`
	cfg, err := Parse("merge.yaml", []byte(data))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if u := cfg.Accounts[1].Users[0]; u.Name != "bob" || u.Policy.Preset != "admin" {
		t.Errorf("merged user = %+v", u)
	}

	data = `accounts:
  - id: "111111111111"
    users:
      - <<: {name: alice, policy: admin, bogus: 1}
`
	_, err = Parse("merge.yaml", []byte(data))
	wantErr(t, err, "merge.yaml:4: ", `unknown field "bogus" in accounts[0].users[0]`)
}

func TestValidateAndFromEnv(t *testing.T) {
	cfg := FromEnv(nil, "123456789012", "AKIAQUICKSTART0001", "secret")
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := []Account{{ID: "123456789012", Users: []User{{
		Name:       "admin",
		AccessKeys: []AccessKey{{ID: "AKIAQUICKSTART0001", Secret: "secret"}},
		Policy:     Policy{Preset: PresetAdmin},
	}}}}
	if !reflect.DeepEqual(cfg.Accounts, want) {
		t.Errorf("FromEnv accounts = %+v", cfg.Accounts)
	}

	base, err := Load(filepath.Join("testdata", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	merged := FromEnv(base, "111111111111", "AKIAQUICKSTART0001", "secret")
	if err := merged.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if len(base.Accounts[0].Users) != 2 {
		t.Error("FromEnv modified base")
	}
	if a, _ := merged.Account("111111111111"); len(a.Users) != 3 || a.Users[2].Name != "admin" {
		t.Errorf("merged account = %+v", a)
	}
	if merged.Listen != base.Listen || merged.Store != base.Store {
		t.Error("FromEnv lost base settings")
	}

	bad := FromEnv(Default(), "42", "short", "")
	err = bad.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad account")
	}
	for _, s := range []string{
		`accounts[0].id: invalid account id "42"`,
		`accounts[0].users[0].access_keys[0].id: invalid access key id "short"`,
		`accounts[0].users[0].access_keys[0].secret: secret must not be empty`,
	} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Validate error %q lacks %q", err, s)
		}
	}
	if err := (&Config{}).Validate(); err == nil {
		t.Error("zero Config validated")
	}
}

func wantErr(t *testing.T, err error, prefix, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q...%q", prefix, reason)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, reason) {
			return
		}
	}
	t.Errorf("error:\n%v\nwant a line starting %q containing %q", err, prefix, reason)
}

var fuzzErrRE = regexp.MustCompile(`^fuzz\.yaml:[1-9][0-9]*: `)

func FuzzParse(f *testing.F) {
	for _, name := range []string{"full.yaml", "minimal.yaml", "env.yaml", "bad-unknown-nested.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(header))
	f.Add([]byte("a: &a [*a, *a]\nlisten: *a\n"))
	f.Add([]byte("accounts:\n  - &x {<<: *x}\n"))
	f.Add([]byte("policy: [\"cloudtrail:*\"]\nlimits: {max_body_bytes: 0x10}\n"))
	f.Add([]byte("listen: ${HOME}$${X}${\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !fuzzErrRE.MatchString(line) {
					t.Fatalf("error line %q lacks a file:line: prefix", line)
				}
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse returned a config that fails Validate: %v", err)
		}
	})
}

// A log group's credentials may come from the environment, as other
// secrets do.
func TestLogGroupSecretsFromEnv(t *testing.T) {
	t.Setenv("CAIRN_TEST_CWL_KEY", "AKIACWLFROMENV000001")
	t.Setenv("CAIRN_TEST_CWL_SECRET", "cwl/secret+from=env")
	cfg, err := Parse("cwl.yaml", []byte(`regions: [us-east-1]
accounts:
  - id: "111111111111"
    users: []
log_groups:
  - arn: arn:aws:logs:us-east-1:111111111111:log-group:trail
    account: "111111111111"
    url: "cloudwatch-logs://?endpoint=http://127.0.0.1:5000&region=us-west-2"
    access_key_id: ${CAIRN_TEST_CWL_KEY}
    secret_access_key: "${CAIRN_TEST_CWL_SECRET}"
`))
	if err != nil {
		t.Fatal(err)
	}
	g := cfg.LogGroups[0]
	if g.AccessKeyID != "AKIACWLFROMENV000001" || g.SecretAccessKey != "cwl/secret+from=env" {
		t.Errorf("credentials %q / %q", g.AccessKeyID, g.SecretAccessKey)
	}
	u, err := ParseCloudWatchLogsURL(g.URL)
	if err != nil || u.Endpoint != "http://127.0.0.1:5000" || u.Region != "us-west-2" {
		t.Errorf("ParseCloudWatchLogsURL = %+v, %v", u, err)
	}
}
