package digest

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// KeyBits is the size of the signing keys NewKeyPair makes.
const KeyBits = 2048

// KeyPair is a Region's digest signing key.
type KeyPair struct {
	Region  string
	Private *rsa.PrivateKey // RSA 2048
	// PublicDER is the PKCS#1 RSAPublicKey DER: ListPublicKeys returns it
	// (base64 on the wire) as Value, and the CLI loads it with
	// rsa.PublicKey.load_pkcs1(der, 'DER') — an X.509 SubjectPublicKeyInfo
	// would be refused ("Unable to load PKCS #1 key").
	PublicDER []byte
	// Fingerprint is the hex MD5 of PublicDER, the digests'
	// digestPublicKeyFingerprint and ListPublicKeys' Fingerprint.
	Fingerprint        string
	ValidFrom, ValidTo time.Time
}

// Fingerprint returns the fingerprint of a PKCS#1 public key DER: its MD5
// in lower-case hex (what CloudTrail's published keys show).
func Fingerprint(publicDER []byte) string {
	sum := md5.Sum(publicDER)
	return hex.EncodeToString(sum[:])
}

// NewKeyPair makes a new RSA 2048 key for region, valid in [from, to).
func NewKeyPair(region string, from, to time.Time) (KeyPair, error) {
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return KeyPair{}, fmt.Errorf("digest: generate key: %w", err)
	}
	return newKeyPair(region, priv, from, to), nil
}

func newKeyPair(region string, priv *rsa.PrivateKey, from, to time.Time) KeyPair {
	der := x509.MarshalPKCS1PublicKey(&priv.PublicKey)
	return KeyPair{
		Region:      region,
		Private:     priv,
		PublicDER:   der,
		Fingerprint: Fingerprint(der),
		ValidFrom:   from.UTC(),
		ValidTo:     to.UTC(),
	}
}

// MarshalPrivate returns the private key as PKCS#1 PEM ("RSA PRIVATE
// KEY"), to keep in the store.
func (k KeyPair) MarshalPrivate() ([]byte, error) {
	if k.Private == nil {
		return nil, errors.New("digest: key pair has no private key")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.Private)}), nil
}

// Public returns the key as ListPublicKeys (and [Options.Keys]) lists it.
func (k KeyPair) Public() PublicKey {
	return PublicKey{Fingerprint: k.Fingerprint, DER: k.PublicDER, ValidFrom: k.ValidFrom, ValidTo: k.ValidTo}
}

// ParseKeyPair reads a key written by MarshalPrivate (PKCS#1 PEM; an RSA
// key in PKCS#8 "PRIVATE KEY" PEM is accepted too).
func ParseKeyPair(region string, pemBytes []byte, from, to time.Time) (KeyPair, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return KeyPair{}, errors.New("digest: private key: no PEM block")
	}
	var priv *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		p, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return KeyPair{}, fmt.Errorf("digest: private key: %w", err)
		}
		priv = p
	case "PRIVATE KEY":
		p, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return KeyPair{}, fmt.Errorf("digest: private key: %w", err)
		}
		rp, ok := p.(*rsa.PrivateKey)
		if !ok {
			return KeyPair{}, fmt.Errorf("digest: private key: %T, want RSA", p)
		}
		priv = rp
	default:
		return KeyPair{}, fmt.Errorf("digest: private key: PEM block %q, want \"RSA PRIVATE KEY\"", block.Type)
	}
	if err := priv.Validate(); err != nil {
		return KeyPair{}, fmt.Errorf("digest: private key: %w", err)
	}
	return newKeyPair(region, priv, from, to), nil
}

// SignedString returns exactly what a digest's signature covers (the CLI's
// Sha256RSADigestValidator._create_string_to_sign):
//
//	<digestEndTime as in the JSON>\n<bucket>/<key>\n<hex SHA-256 of the uncompressed digest>\n<previousDigestSignature or "null">
//
// digestJSON is the digest file's uncompressed bytes as stored; bucket and
// key are digestS3Bucket and digestS3Object (where the digest is stored);
// previousSignature "" (the first digest of a chain) is written as "null".
// There is no trailing newline.
func SignedString(digestEndTime time.Time, bucket, key string, digestJSON []byte, previousSignature string) string {
	if previousSignature == "" {
		previousSignature = "null"
	}
	return signedString(formatTime(digestEndTime), bucket, key, digestJSON, previousSignature)
}

// signedString builds the signed string from the digest's own values,
// previousSignature verbatim ("null" for a JSON null).
func signedString(endTime, bucket, key string, digestJSON []byte, previousSignature string) string {
	sum := sha256.Sum256(digestJSON)
	var b strings.Builder
	b.Grow(len(endTime) + len(bucket) + len(key) + 2*len(sum) + len(previousSignature) + 4)
	b.WriteString(endTime)
	b.WriteByte('\n')
	b.WriteString(bucket)
	b.WriteByte('/')
	b.WriteString(key)
	b.WriteByte('\n')
	b.WriteString(hex.EncodeToString(sum[:]))
	b.WriteByte('\n')
	b.WriteString(previousSignature)
	return b.String()
}

// Sign signs the UTF-8 bytes of signed with RSA PKCS#1 v1.5 over SHA-256
// ("SHA256withRSA") and returns the signature in lower-case hex (the
// "signature" metadata and the next digest's previousDigestSignature).
func Sign(k KeyPair, signed string) (hexSignature string, err error) {
	if k.Private == nil {
		return "", errors.New("digest: key pair has no private key")
	}
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.Private, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("digest: sign: %w", err)
	}
	return hex.EncodeToString(sig), nil
}

// ErrBadSignature reports a signature that does not verify.
var ErrBadSignature = errors.New("digest: signature verification failed")

// VerifySignature checks a hex signature of signed against a PKCS#1 DER
// public key. A key that does not parse is an error that does not wrap
// ErrBadSignature; a signature that is not hex or does not verify wraps it.
func VerifySignature(publicDER []byte, signed, hexSignature string) error {
	pub, err := x509.ParsePKCS1PublicKey(publicDER)
	if err != nil {
		return fmt.Errorf("digest: public key: %w", err)
	}
	sig, err := hex.DecodeString(hexSignature)
	if err != nil {
		return fmt.Errorf("%w: signature is not hex", ErrBadSignature)
	}
	sum := sha256.Sum256([]byte(signed))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

// Sealed is a digest file ready to store.
type Sealed struct {
	File File
	// JSON is the uncompressed digest; the next digest's
	// previousDigestHashValue is its SHA-256.
	JSON []byte
	// Body is JSON gzipped: the object to put at File.DigestS3Object.
	Body []byte
	// Signature is the hex signature.
	Signature string
	// Metadata is the object's user metadata: "signature" and
	// "signature-algorithm" (lower case; see MetaSignature).
	Metadata map[string]string
}

// Seal completes f with k's fingerprint and the signature algorithm, then
// serializes, signs and gzips it. prev, when not nil, is the previous digest
// of the chain, which f is linked to; with nil, f's previousDigest* fields
// are left as they are (nil for the first digest of a chain).
func Seal(k KeyPair, f File, prev *Sealed) (Sealed, error) {
	f.DigestPublicKeyFingerprint = k.Fingerprint
	f.DigestSignatureAlgorithm = SignatureAlgorithm
	if f.LogFiles == nil {
		f.LogFiles = []LogFile{}
	}
	if prev != nil {
		f.SetPrevious(prev.File.DigestS3Bucket, prev.File.DigestS3Object, prev.JSON, prev.Signature)
	}
	js, err := f.JSON()
	if err != nil {
		return Sealed{}, err
	}
	prevSig := ""
	if f.PreviousDigestSignature != nil {
		prevSig = *f.PreviousDigestSignature
	}
	sig, err := Sign(k, SignedString(f.DigestEndTime, f.DigestS3Bucket, f.DigestS3Object, js, prevSig))
	if err != nil {
		return Sealed{}, err
	}
	body, err := Gzip(js)
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{File: f, JSON: js, Body: body, Signature: sig,
		Metadata: map[string]string{MetaSignature: sig, MetaSignatureAlgorithm: SignatureAlgorithm}}, nil
}
