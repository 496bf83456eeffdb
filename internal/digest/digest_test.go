package digest

import (
	"bytes"
	"crypto/md5"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// goldenFile is a digest with a previous link and two log files, written
// with fixed values (no key needed).
func goldenFile() File {
	end := t0.Add(2 * time.Hour)
	return File{
		AWSAccountID:                "111122223333",
		DigestStartTime:             t0.Add(time.Hour),
		DigestEndTime:               end,
		DigestS3Bucket:              "cairn-trail-bucket",
		DigestS3Object:              DigestKey("audit", "", "111122223333", "eu-west-1", "audit-trail", "us-east-1", end),
		DigestPublicKeyFingerprint:  "31e8b5433410dfb61a9dc45cc65b22ff",
		DigestSignatureAlgorithm:    SignatureAlgorithm,
		NewestEventTime:             ptr(t0.Add(time.Hour + 52*time.Minute)),
		OldestEventTime:             ptr(t0.Add(time.Hour + 2*time.Minute)),
		PreviousDigestS3Bucket:      ptr("cairn-trail-bucket"),
		PreviousDigestS3Object:      ptr(DigestKey("audit", "", "111122223333", "eu-west-1", "audit-trail", "us-east-1", t0.Add(time.Hour))),
		PreviousDigestHashValue:     ptr("97fb6f5b0f3f8ef5a9e2a35b7a7b4ff2d85b3f4f5ce4a9a0e1b2c3d4e5f6df2d"),
		PreviousDigestHashAlgorithm: ptr(HashAlgorithm),
		PreviousDigestSignature:     ptr("5088a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c328a"),
		LogFiles: []LogFile{
			{S3Bucket: "cairn-trail-bucket", S3Object: LogKey("audit", "", "111122223333", "eu-west-1", t0.Add(time.Hour+5*time.Minute), "9nYN7gp2eWAJHIfT"),
				SHA256: sha256Sum([]byte("first")), OldestEventTime: t0.Add(time.Hour + 2*time.Minute), NewestEventTime: t0.Add(time.Hour + 4*time.Minute)},
			{S3Bucket: "cairn-trail-bucket", S3Object: LogKey("audit", "", "111122223333", "eu-west-1", t0.Add(time.Hour+55*time.Minute), "Mu0KsOhtH1ar15ZZ"),
				SHA256: sha256Sum([]byte("second")), OldestEventTime: t0.Add(time.Hour + 50*time.Minute), NewestEventTime: t0.Add(time.Hour + 52*time.Minute)},
		},
	}
}

func TestDigestJSONGolden(t *testing.T) {
	f := goldenFile()
	js, err := f.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "digest.golden", js)

	// The first digest of a chain, with no log files: every field is still
	// there (the CLI requires previousDigestSignature to be present), as null.
	first := File{AWSAccountID: "111122223333", DigestStartTime: t0, DigestEndTime: t0.Add(time.Hour),
		DigestS3Bucket: "cairn-trail-bucket", DigestS3Object: DigestKey("", "", "111122223333", "eu-west-1", "audit-trail", "us-east-1", t0.Add(time.Hour)),
		DigestPublicKeyFingerprint: "31e8b5433410dfb61a9dc45cc65b22ff", DigestSignatureAlgorithm: SignatureAlgorithm}
	js0, err := first.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "digest-first.golden", js0)
	for _, want := range []string{`"newestEventTime":null`, `"oldestEventTime":null`, `"previousDigestS3Bucket":null`, `"previousDigestS3Object":null`,
		`"previousDigestHashValue":null`, `"previousDigestHashAlgorithm":null`, `"previousDigestSignature":null`, `"logFiles":[]`} {
		if !strings.Contains(string(js0), want) {
			t.Errorf("first digest lacks %s: %s", want, js0)
		}
	}
}

// TestDigestJSONLayout checks what the golden file shows, independently of
// it: CloudTrail's field order, compact, times with seconds and Z, hashes
// in lower-case hex.
func TestDigestJSONLayout(t *testing.T) {
	js, err := goldenFile().JSON()
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"awsAccountId", "digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object",
		"digestPublicKeyFingerprint", "digestSignatureAlgorithm", "newestEventTime", "oldestEventTime",
		"previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue", "previousDigestHashAlgorithm",
		"previousDigestSignature", "logFiles"}
	got, err := topLevelNames(js)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, order) {
		t.Errorf("top-level fields\n got %q\nwant %q", got, order)
	}
	if bytes.ContainsAny(js, "\n\t ") {
		t.Errorf("not compact: %s", js)
	}
	for _, want := range []string{
		`"digestStartTime":"2026-11-26T09:17:28Z","digestEndTime":"2026-11-26T10:17:28Z"`,
		`"digestSignatureAlgorithm":"SHA256withRSA"`,
		`"hashValue":"` + hex.EncodeToString(sha256Sum([]byte("first"))) + `","hashAlgorithm":"SHA-256","newestEventTime":"2026-11-26T09:21:28Z","oldestEventTime":"2026-11-26T09:19:28Z"}`,
		`"logFiles":[{"s3Bucket":"cairn-trail-bucket","s3Object":"audit/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/26/111122223333_CloudTrail_eu-west-1_20261126T0922Z_9nYN7gp2eWAJHIfT.json.gz","hashValue":"`,
	} {
		if !strings.Contains(string(js), want) {
			t.Errorf("digest lacks %s:\n%s", want, js)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, f := range []File{goldenFile(), {DigestStartTime: t0, DigestEndTime: t0, LogFiles: []LogFile{}}} {
		js, err := f.JSON()
		if err != nil {
			t.Fatal(err)
		}
		g, err := Parse(js)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, f) {
			t.Errorf("round trip\n got %+v\nwant %+v", g, f)
		}
	}
}

func TestParseRejects(t *testing.T) {
	valid, _ := goldenFile().JSON()
	for name, in := range map[string]string{
		"not json":             `{`,
		"array":                `[]`,
		"null":                 `null`,
		"fractional seconds":   strings.Replace(string(valid), "10:17:28Z", "10:17:28.5Z", 1),
		"offset":               strings.Replace(string(valid), "10:17:28Z", "10:17:28+00:00", 1),
		"bad hash hex":         strings.Replace(string(valid), `"hashValue":"`, `"hashValue":"zz`, 1),
		"other hash algorithm": strings.Replace(string(valid), `"hashAlgorithm":"SHA-256"`, `"hashAlgorithm":"MD5"`, 1),
		"number for string":    strings.Replace(string(valid), `"awsAccountId":"111122223333"`, `"awsAccountId":111122223333`, 1),
		"invalid utf-8":        strings.Replace(string(valid), "audit-trail", "audit-\xfftrail", 1),
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: Parse accepted %.80s", name, in)
		}
	}
	// Names are matched exactly, as Python's json does.
	f, err := Parse([]byte(`{"AWSACCOUNTID":"1","awsAccountId":"2","digestStartTime":"2026-11-26T09:17:28Z","digestEndTime":"2026-11-26T09:17:28Z"}`))
	if err != nil || f.AWSAccountID != "2" {
		t.Errorf("exact names: %+v %v", f, err)
	}
}

func TestKeyLayout(t *testing.T) {
	delivered := time.Date(2015, 8, 1, 2, 10, 59, 0, time.FixedZone("x", 3600)) // 01:10:59Z
	end := time.Date(2015, 8, 17, 15, 1, 31, 999, time.UTC)
	for _, c := range []struct{ name, got, want string }{
		{"log", LogKey("", "", "111122223333", "us-east-2", delivered, "Mu0KsOhtH1ar15ZZ"),
			"AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0110Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{"log prefix", LogKey("my/prefix", "", "111122223333", "us-east-2", delivered, "Mu0KsOhtH1ar15ZZ"),
			"my/prefix/AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0110Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{"log org", LogKey("", "o-fxozgwu6rc", "123456789015", "ca-central-1", delivered, "KL5e9VCV2SS7IqzB"),
			"AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail/ca-central-1/2015/08/01/123456789015_CloudTrail_ca-central-1_20150801T0110Z_KL5e9VCV2SS7IqzB.json.gz"},
		{"log prefix org", LogKey("p", "o-fxozgwu6rc", "123456789015", "ca-central-1", delivered, "KL5e9VCV2SS7IqzB"),
			"p/AWSLogs/o-fxozgwu6rc/123456789015/CloudTrail/ca-central-1/2015/08/01/123456789015_CloudTrail_ca-central-1_20150801T0110Z_KL5e9VCV2SS7IqzB.json.gz"},
		{"digest", DigestKey("", "", "111122223333", "us-east-2", "your-trail-name", "us-east-2", end),
			"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz"},
		{"digest other home", DigestKey("", "", "111122223333", "eu-west-1", "t", "us-east-1", end),
			"AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2015/08/17/111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20150817T150131Z.json.gz"},
		{"digest prefix org", DigestKey("a/b", "o-abc123", "222233334444", "eu-west-1", "org-trail", "us-east-1", end),
			"a/b/AWSLogs/o-abc123/222233334444/CloudTrail-Digest/eu-west-1/2015/08/17/222233334444_CloudTrail-Digest_eu-west-1_org-trail_us-east-1_20150817T150131Z.json.gz"},
		{"digest local midnight", DigestKey("", "", "111122223333", "us-east-1", "t", "us-east-1", time.Date(2015, 8, 18, 0, 30, 0, 0, time.FixedZone("+1", 3600))),
			"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2015/08/17/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20150817T233000Z.json.gz"},
		{"digest prefix", DigestPrefix("p", "", "111122223333", "us-east-1"), "p/AWSLogs/111122223333/CloudTrail-Digest/us-east-1"},
	} {
		if c.got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, c.got, c.want)
		}
	}
	// The CLI reads the timestamp by position and matches this pattern.
	k := DigestKey("a/b", "o-abc123", "222233334444", "eu-west-1", "org-trail", "us-east-1", end)
	if got := k[len(k)-24 : len(k)-8]; got != "20150817T150131Z" || digestKeyTime(k) != got {
		t.Errorf("key[-24:-8] = %q, digestKeyTime %q", got, digestKeyTime(k))
	}
	if !digestKeyPattern("a/b", "o-abc123", "222233334444", "eu-west-1", "org-trail", "us-east-1").MatchString(k) {
		t.Errorf("pattern does not match %s", k)
	}
	if digestKeyPattern("a/b", "o-abc123", "222233334444", "eu-west-1", "other-trail", "us-east-1").MatchString(k) {
		t.Errorf("pattern of another trail matches %s", k)
	}
	bf := strings.TrimSuffix(k, ".json.gz") + "_backfill.json.gz"
	if got := bf[len(bf)-33 : len(bf)-17]; got != "20150817T150131Z" || digestKeyTime(bf) != got || !isBackfillKey(bf) {
		t.Errorf("backfill key[-33:-17] = %q, digestKeyTime %q", got, digestKeyTime(bf))
	}
}

func TestUniqueName(t *testing.T) {
	a, b := UniqueName([]byte("trail|111122223333|us-east-1|1|2")), UniqueName([]byte("trail|111122223333|us-east-1|1|3"))
	if a != UniqueName([]byte("trail|111122223333|us-east-1|1|2")) {
		t.Error("not deterministic")
	}
	if a == b {
		t.Error("different seeds gave the same name")
	}
	for _, n := range []string{a, b, UniqueName(nil)} {
		if len(n) != 16 || strings.Trim(n, uniqueAlphabet) != "" {
			t.Errorf("UniqueName = %q, want 16 letters and digits", n)
		}
	}
}

func TestSignedString(t *testing.T) {
	end := time.Date(2015, 8, 17, 15, 1, 31, 0, time.FixedZone("x", -7200)) // 17:01:31Z
	body := []byte(`{"awsAccountId":"111122223333"}`)
	h := sha256Hex(body)
	got := SignedString(end, "bucket", "AWSLogs/111122223333/CloudTrail-Digest/k.json.gz", body, "")
	want := "2015-08-17T17:01:31Z\nbucket/AWSLogs/111122223333/CloudTrail-Digest/k.json.gz\n" + h + "\nnull"
	if got != want {
		t.Errorf("first digest:\n got %q\nwant %q", got, want)
	}
	got = SignedString(end, "bucket", "k", body, "5088abcd")
	if want := "2015-08-17T17:01:31Z\nbucket/k\n" + h + "\n5088abcd"; got != want {
		t.Errorf("linked digest:\n got %q\nwant %q", got, want)
	}
}

func TestSignVerify(t *testing.T) {
	k := testKey(t)
	signed := SignedString(t0, "bucket", "key", []byte("{}"), "")
	sig, err := Sign(k, signed)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 2*KeyBits/8 || strings.ToLower(sig) != sig {
		t.Errorf("signature %q: want %d lower-case hex digits", sig, 2*KeyBits/8)
	}
	if err := VerifySignature(k.PublicDER, signed, sig); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	for name, c := range map[string]struct {
		der         []byte
		signed, sig string
	}{
		"changed string":    {k.PublicDER, strings.Replace(signed, "null", "nulL", 1), sig},
		"changed signature": {k.PublicDER, signed, flipHex(sig, 10)},
		"truncated":         {k.PublicDER, signed, sig[:len(sig)-2]},
		"not hex":           {k.PublicDER, signed, "zz" + sig[2:]},
		"another key":       {otherKey(t).PublicDER, signed, sig},
	} {
		err := VerifySignature(c.der, c.signed, c.sig)
		if !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
	if err := VerifySignature([]byte("not DER"), signed, sig); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("bad key: err = %v", err)
	}
}

// flipHex changes hex digit i of s.
func flipHex(s string, i int) string {
	b := []byte(s)
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}

func TestKeyPair(t *testing.T) {
	k, err := NewKeyPair("eu-west-1", t0, t0.Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if k.Region != "eu-west-1" || !k.ValidFrom.Equal(t0) || !k.ValidTo.Equal(t0.Add(90*24*time.Hour)) {
		t.Errorf("NewKeyPair: %+v", k)
	}
	sum := md5.Sum(k.PublicDER)
	if k.Fingerprint != hex.EncodeToString(sum[:]) || Fingerprint(k.PublicDER) != k.Fingerprint || len(k.Fingerprint) != 32 {
		t.Errorf("Fingerprint %q, md5(DER) %x", k.Fingerprint, sum)
	}
	// PKCS#1 RSAPublicKey (what the CLI's load_pkcs1 reads), not SPKI.
	pub, err := x509.ParsePKCS1PublicKey(k.PublicDER)
	if err != nil {
		t.Fatalf("PublicDER is not PKCS#1: %v", err)
	}
	if pub.N.BitLen() != KeyBits || !pub.Equal(&k.Private.PublicKey) {
		t.Errorf("public key: %d bits", pub.N.BitLen())
	}
	if _, err := x509.ParsePKIXPublicKey(k.PublicDER); err == nil {
		t.Error("PublicDER parses as SubjectPublicKeyInfo")
	}
	pemBytes, err := k.MarshalPrivate()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN RSA PRIVATE KEY-----\n")) {
		t.Errorf("PEM: %.40q", pemBytes)
	}
	back, err := ParseKeyPair("eu-west-1", pemBytes, k.ValidFrom, k.ValidTo)
	if err != nil {
		t.Fatal(err)
	}
	if back.Fingerprint != k.Fingerprint || !bytes.Equal(back.PublicDER, k.PublicDER) || back.Region != "eu-west-1" ||
		!back.ValidFrom.Equal(k.ValidFrom) || !back.ValidTo.Equal(k.ValidTo) || !back.Private.Equal(k.Private) {
		t.Errorf("ParseKeyPair(MarshalPrivate) = %+v", back)
	}
	// A signature made with the parsed key verifies with the original.
	sig, err := Sign(back, "x")
	if err != nil || VerifySignature(k.PublicDER, "x", sig) != nil {
		t.Errorf("parsed key signs: %v", err)
	}
	pk8, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ParseKeyPair("r", pemEncode("PRIVATE KEY", pk8), time.Time{}, time.Time{}); err != nil || p.Fingerprint != k.Fingerprint {
		t.Errorf("PKCS#8: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("junk"), pemEncode("RSA PRIVATE KEY", []byte("junk")), pemEncode("CERTIFICATE", pk8)} {
		if _, err := ParseKeyPair("r", bad, time.Time{}, time.Time{}); err == nil {
			t.Errorf("ParseKeyPair(%.30q) accepted", bad)
		}
	}
	if k.Public().Fingerprint != k.Fingerprint || !bytes.Equal(k.Public().DER, k.PublicDER) {
		t.Error("Public()")
	}
}

func TestSeal(t *testing.T) {
	k := testKey(t)
	o := trailOpts("", "", k)
	src := newMemSource()
	ds, _ := chain(t, src, k, o, "eu-west-1", t0, 2, standardLogs, nil)
	for i, d := range ds {
		if !bytes.Equal(mustGunzip(t, d.Body), d.JSON) {
			t.Errorf("digest %d: body is not the gzipped JSON", i)
		}
		g, err := Parse(d.JSON)
		if err != nil {
			t.Fatal(err)
		}
		if g.DigestPublicKeyFingerprint != k.Fingerprint || g.DigestSignatureAlgorithm != SignatureAlgorithm {
			t.Errorf("digest %d: fingerprint %q algorithm %q", i, g.DigestPublicKeyFingerprint, g.DigestSignatureAlgorithm)
		}
		prev := ""
		if i > 0 {
			prev = ds[i-1].Signature
			if *g.PreviousDigestSignature != prev || *g.PreviousDigestHashValue != sha256Hex(ds[i-1].JSON) ||
				*g.PreviousDigestS3Object != ds[i-1].File.DigestS3Object || *g.PreviousDigestHashAlgorithm != "SHA-256" {
				t.Errorf("digest %d: bad link %+v", i, g)
			}
		} else if g.PreviousDigestSignature != nil {
			t.Errorf("first digest has a previous signature")
		}
		if err := VerifySignature(k.PublicDER, SignedString(g.DigestEndTime, g.DigestS3Bucket, g.DigestS3Object, d.JSON, prev), d.Signature); err != nil {
			t.Errorf("digest %d: %v", i, err)
		}
		if d.Metadata[MetaSignature] != d.Signature || d.Metadata[MetaSignatureAlgorithm] != "SHA256withRSA" || len(d.Metadata) != 2 {
			t.Errorf("metadata %v", d.Metadata)
		}
	}
	// Gzip is deterministic and a single member.
	a, _ := Gzip(ds[0].JSON)
	b, _ := Gzip(ds[0].JSON)
	if !bytes.Equal(a, b) {
		t.Error("Gzip is not deterministic")
	}
	var sink bytes.Buffer
	if trailing, err := gunzipFirst(append(a, a...), &sink, MaxDigestBytes); err != nil || !trailing || !bytes.Equal(sink.Bytes(), ds[0].JSON) {
		t.Errorf("gunzipFirst of two members: trailing %v, err %v", trailing, err)
	}
}

func mustGunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	out, err := Gunzip(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// topLevelNames returns the member names of a JSON object in order.
func topLevelNames(js []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
