package envelope

import (
	"bytes"
	"os"
	"path/filepath"
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
