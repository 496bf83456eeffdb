// Package envelope encrypts files for buckets that have no server-side
// encryption of their own (directory buckets): each file gets a fresh
// AES-256-GCM data key, which is itself sealed with the trail's configured
// KMS key — the same envelope scheme as SSE-KMS, with Cairn as the KMS.
package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairn-audit/cairn/internal/config"
)

// Magic starts every sealed file.
const Magic = "CAIRN-ENVELOPE-1\n"

// header is the sealed file's first line.
type header struct {
	KMSKeyID         string `json:"kmsKeyId"`
	Algorithm        string `json:"algorithm"`
	EncryptedDataKey []byte `json:"encryptedDataKey"` // data key sealed by the master key (nonce || ciphertext)
	IV               []byte `json:"iv"`
}

// IsSealed reports whether b is a sealed file.
func IsSealed(b []byte) bool { return bytes.HasPrefix(b, []byte(Magic)) }

// Keys finds a KMS key's master key material.
type Keys interface {
	Material(keyARN string) ([]byte, error)
}

// Seal encrypts plain under keyARN's master key.
func Seal(keys Keys, keyARN string, plain []byte) ([]byte, error) {
	master, err := keys.Material(keyARN)
	if err != nil {
		return nil, err
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		return nil, err
	}
	wrapped, err := seal(master, dataKey, []byte(keyARN))
	if err != nil {
		return nil, err
	}
	aead, err := gcm(dataKey)
	if err != nil {
		return nil, err
	}
	iv := make([]byte, aead.NonceSize())
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	h, _ := json.Marshal(header{KMSKeyID: keyARN, Algorithm: Algorithm, EncryptedDataKey: wrapped, IV: iv})
	out := append([]byte(Magic), h...)
	out = append(out, '\n')
	return aead.Seal(out, iv, plain, []byte(keyARN)), nil
}

// Sizes of a sealed file's parts. Open checks each before it uses it: the
// file comes from a bucket, so any of them may be wrong.
const (
	// KeySize is the length of a master key and of a data key (AES-256).
	KeySize = 32
	// NonceSize is GCM's standard nonce length: the IV and the nonce in
	// front of the wrapped data key.
	NonceSize = 12
	// TagSize is GCM's authentication tag, at the end of every ciphertext.
	TagSize = 16
	// WrappedKeySize is encryptedDataKey's length: nonce, key, tag.
	WrappedKeySize = NonceSize + KeySize + TagSize
	// MaxHeaderBytes bounds the header line (a key ARN and two short
	// base64 fields: a few hundred bytes).
	MaxHeaderBytes = 8 << 10
	// MaxKeyIDBytes bounds the kmsKeyId (a KMS key ARN is under 300 bytes).
	MaxKeyIDBytes = 2048
	// MaxSealedBytes bounds a sealed file that Open is given by a reader
	// that checks sizes first (cairn decrypt): sealed gzip'd log files are
	// tens of megabytes at most.
	MaxSealedBytes = 256 << 20
)

// Algorithm is the only content encryption a sealed file may name.
const Algorithm = "AES-256-GCM"

// Open decrypts a sealed file. Every length in it (header, key id, IV,
// wrapped data key, ciphertext) is checked first, with an error that names
// the field: a damaged or hostile file gets an error, never a panic.
func Open(keys Keys, sealed []byte) ([]byte, error) {
	h, body, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	master, err := keys.Material(h.KMSKeyID)
	if err != nil {
		return nil, err
	}
	if len(master) != KeySize {
		return nil, fmt.Errorf("envelope: the key material of %s is %d bytes, want %d", h.KMSKeyID, len(master), KeySize)
	}
	dataKey, err := open(master, h.EncryptedDataKey, []byte(h.KMSKeyID))
	if err != nil {
		return nil, fmt.Errorf("envelope: data key of %s: %w", h.KMSKeyID, err)
	}
	if len(dataKey) != KeySize {
		return nil, fmt.Errorf("envelope: the data key of %s is %d bytes, want %d", h.KMSKeyID, len(dataKey), KeySize)
	}
	aead, err := gcm(dataKey)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, h.IV, body, []byte(h.KMSKeyID))
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	return plain, nil
}

// parse splits a sealed file into its checked header and its ciphertext.
func parse(sealed []byte) (header, []byte, error) {
	var h header
	if !IsSealed(sealed) {
		return h, nil, errors.New("envelope: not a sealed file")
	}
	rest := sealed[len(Magic):]
	nl := bytes.IndexByte(rest[:min(len(rest), MaxHeaderBytes+1)], '\n')
	if nl < 0 {
		if len(rest) > MaxHeaderBytes {
			return h, nil, fmt.Errorf("envelope: header longer than %d bytes", MaxHeaderBytes)
		}
		return h, nil, errors.New("envelope: no header")
	}
	if err := json.Unmarshal(rest[:nl], &h); err != nil {
		return h, nil, fmt.Errorf("envelope: header: %w", err)
	}
	body := rest[nl+1:]
	switch {
	case h.Algorithm != Algorithm:
		return h, nil, fmt.Errorf("envelope: unknown algorithm %q", h.Algorithm)
	case h.KMSKeyID == "":
		return h, nil, errors.New("envelope: header: no kmsKeyId")
	case len(h.KMSKeyID) > MaxKeyIDBytes:
		return h, nil, fmt.Errorf("envelope: header: kmsKeyId is %d bytes, at most %d", len(h.KMSKeyID), MaxKeyIDBytes)
	case len(h.IV) != NonceSize:
		return h, nil, fmt.Errorf("envelope: header: iv is %d bytes, want %d", len(h.IV), NonceSize)
	case len(h.EncryptedDataKey) != WrappedKeySize:
		return h, nil, fmt.Errorf("envelope: header: encryptedDataKey is %d bytes, want %d", len(h.EncryptedDataKey), WrappedKeySize)
	case len(body) < TagSize:
		return h, nil, fmt.Errorf("envelope: ciphertext is %d bytes, shorter than its %d-byte tag", len(body), TagSize)
	}
	return h, body, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(key, plain, ad []byte) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, ad), nil
}

func open(key, sealed, ad []byte) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("sealed key is %d bytes, shorter than a nonce and a tag", len(sealed))
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], ad)
}

// ConfigKeys finds master keys in the config (kms_keys[].material) or in
// files under <data_dir>/kms/, generating a file on first use when allowed.
type ConfigKeys struct {
	Secrets map[string]string // key ARN → base64 material
	Dir     string            // <data_dir>/kms
	Create  bool
}

// KeysOptions are what ConfigKeys reads of the configuration.
type KeysOptions struct {
	// DataDir keeps generated key material, under <DataDir>/kms.
	DataDir string
	// KMSKeys are the configured keys (kms_keys:); those with material
	// use it.
	KMSKeys []config.KMSKey
	// Create generates material for a key that has none yet.
	Create bool
}

// NewConfigKeys makes the keys of a configuration.
func NewConfigKeys(c KeysOptions) *ConfigKeys {
	k := &ConfigKeys{Secrets: map[string]string{}, Dir: filepath.Join(c.DataDir, "kms"), Create: c.Create}
	for _, kk := range c.KMSKeys {
		if kk.Material != "" {
			k.Secrets[kk.ARN] = kk.Material
		}
	}
	return k
}

// Material implements Keys.
func (k *ConfigKeys) Material(keyARN string) ([]byte, error) {
	if m, ok := k.Secrets[keyARN]; ok {
		return base64.StdEncoding.DecodeString(m)
	}
	sum := sha256.Sum256([]byte(keyARN))
	path := filepath.Join(k.Dir, hex.EncodeToString(sum[:8])+".key")
	b, err := os.ReadFile(path)
	if err == nil {
		return base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	}
	if !errors.Is(err, os.ErrNotExist) || !k.Create {
		return nil, fmt.Errorf("envelope: no key material for %s (%s): %w", keyARN, path, err)
	}
	m := make([]byte, 32)
	if _, err := rand.Read(m); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(k.Dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return k.Material(keyARN) // another writer won
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(m) + "\n"); err != nil {
		return nil, err
	}
	return m, f.Sync()
}
