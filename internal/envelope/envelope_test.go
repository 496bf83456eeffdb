package envelope

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	keys := &ConfigKeys{Secrets: map[string]string{}, Dir: filepath.Join(t.TempDir(), "kms"), Create: true}
	arn := "arn:aws:kms:us-east-1:111111111111:key/6f1c2a3b-1111-2222-3333-444455556666"
	plain := []byte(`{"Records":[{"eventName":"X"}]}`)
	sealed, err := Seal(keys, arn, plain)
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed(sealed) || bytes.Contains(sealed, []byte("eventName")) {
		t.Fatal("not sealed")
	}
	got, err := Open(keys, sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v", got, err)
	}
	// The material was kept, private to its owner, and a reader without
	// create rights can use it.
	files, _ := filepath.Glob(filepath.Join(keys.Dir, "*.key"))
	if len(files) != 1 {
		t.Fatalf("key files: %v", files)
	}
	if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	reader := &ConfigKeys{Dir: keys.Dir}
	if got, err := Open(reader, sealed); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("reader open: %v", err)
	}
	// Tampering is detected.
	bad := append([]byte{}, sealed...)
	bad[len(bad)-1] ^= 1
	if _, err := Open(keys, bad); err == nil {
		t.Fatal("tampered file opened")
	}
	// Another key cannot open it.
	other := &ConfigKeys{Dir: filepath.Join(t.TempDir(), "kms"), Create: true}
	if _, err := Open(other, sealed); err == nil {
		t.Fatal("opened with other material")
	}
	// Configured material wins and round-trips.
	cfg := &ConfigKeys{Secrets: map[string]string{arn: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}
	s2, err := Seal(cfg, arn, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(cfg, s2); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("configured material: %v", err)
	}
	if _, err := Open(&ConfigKeys{}, s2); err == nil {
		t.Fatal("opened without material")
	}
}

// testKeys has fixed material for one key ARN.
func testKeys() (*ConfigKeys, string) {
	arn := "arn:aws:kms:us-east-1:111111111111:key/6f1c2a3b-1111-2222-3333-444455556666"
	return &ConfigKeys{Secrets: map[string]string{arn: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}, arn
}

// TestOpenChecksLengths: every length in a sealed file is checked, with an
// error naming the field, never a panic (a 1-byte IV panicked in GCM).
func TestOpenChecksLengths(t *testing.T) {
	keys, arn := testKeys()
	sealed, err := Seal(keys, arn, []byte(`{"Records":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	h, body, err := parse(sealed)
	if err != nil {
		t.Fatal(err)
	}
	remake := func(change func(*header), body []byte) []byte {
		hh := h
		change(&hh)
		js, _ := json.Marshal(hh)
		return append(append(append([]byte(Magic), js...), '\n'), body...)
	}
	for _, tc := range []struct {
		name, want string
		file       []byte
	}{
		{"1-byte IV", "iv is 1 bytes, want 12", remake(func(h *header) { h.IV = []byte{1} }, body)},
		{"no IV", "iv is 0 bytes, want 12", remake(func(h *header) { h.IV = nil }, body)},
		{"long IV", "iv is 13 bytes, want 12", remake(func(h *header) { h.IV = make([]byte, 13) }, body)},
		{"short data key", "encryptedDataKey is 3 bytes, want 60", remake(func(h *header) { h.EncryptedDataKey = []byte{1, 2, 3} }, body)},
		{"no key id", "no kmsKeyId", remake(func(h *header) { h.KMSKeyID = "" }, body)},
		{"long key id", "kmsKeyId is 5000 bytes", remake(func(h *header) { h.KMSKeyID = strings.Repeat("k", 5000) }, body)},
		{"short ciphertext", "ciphertext is 3 bytes", remake(func(h *header) {}, []byte{1, 2, 3})},
		{"other algorithm", "unknown algorithm", remake(func(h *header) { h.Algorithm = "ROT13" }, body)},
		{"no header end", "no header", []byte(Magic + `{"iv":""}`)},
		{"huge header", "header longer than", []byte(Magic + strings.Repeat(" ", MaxHeaderBytes+10) + "\n")},
		{"bad JSON", "envelope: header", []byte(Magic + "{\n")},
	} {
		if _, err := Open(keys, tc.file); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Open error %v, want one with %q", tc.name, err, tc.want)
		}
	}
	if got, err := Open(keys, sealed); err != nil || string(got) != `{"Records":[]}` {
		t.Errorf("the intact file: %q, %v", got, err)
	}
}

// FuzzOpen: Open never panics, and opens nothing it did not seal.
func FuzzOpen(f *testing.F) {
	keys, arn := testKeys()
	sealed, err := Seal(keys, arn, []byte(`{"Records":[]}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte(Magic + `{"kmsKeyId":"` + arn + `","algorithm":"AES-256-GCM","encryptedDataKey":"AA==","iv":"AA=="}` + "\nxxxxxxxxxxxxxxxxxxxx"))
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, err := Open(keys, b)
		if err == nil && !bytes.Equal(b, sealed) && !bytes.Equal(plain, []byte(`{"Records":[]}`)) {
			t.Fatalf("opened a file it did not seal: %q", plain)
		}
	})
}
