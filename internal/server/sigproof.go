package server

import (
	"bytes"
	"encoding/json"

	"github.com/cairn-audit/cairn/internal/auth"
	"github.com/cairn-audit/cairn/internal/sigv4"
)

// signatureProofField is the member of a record in which cairn proxy sends
// the proof of the caller's signature (sigv4.Proof). It is read and removed
// here: it is never part of a stored record.
const signatureProofField = "cairnSignatureProof"

var signatureProofMarker = []byte(`"` + signatureProofField + `"`)

// verifySignatures settles the identity of every record that carries a
// signature proof, in place. The proxy cannot know the secret behind an
// access key, so it records the caller as {"type":"Unknown","accessKeyId":…}
// with the proof; here, where the secrets are known, the proof is checked:
//
//   - verified: userIdentity becomes the key's IAM user, recipientAccountId
//     its account, additionalEventData.SignatureVerified true;
//   - not verified (a wrong or expired signature, an unknown key, a body
//     the proxy did not see whole, a proof that does not match the
//     record's key): userIdentity is {"type":"Unknown","accessKeyId":…}
//     whatever the record said, additionalEventData.SignatureVerified
//     false. Nobody is named on the strength of an unchecked signature.
//
// A record without a proof is left as its producer wrote it; an "Unknown"
// identity is no longer completed from its access key alone.
func verifySignatures(dir *auth.Directory, records []json.RawMessage) {
	for i, raw := range records {
		if !bytes.Contains(raw, signatureProofMarker) {
			continue
		}
		if out, ok := settleIdentity(dir, raw); ok {
			records[i] = out
		}
	}
}

// settleIdentity checks one record's proof; ok is false when the record has
// none at its top level (or is no JSON object, which ingest then refuses
// with the reason).
func settleIdentity(dir *auth.Directory, raw json.RawMessage) (json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	rawProof, ok := m[signatureProofField]
	if !ok {
		return nil, false
	}
	delete(m, signatureProofField)
	var proof sigv4.Proof
	proofOK := json.Unmarshal(rawProof, &proof) == nil
	var claimed struct {
		AccessKeyID string `json:"accessKeyId"`
	}
	json.Unmarshal(m["userIdentity"], &claimed)
	key := proof.AccessKeyID
	if key == "" {
		key = claimed.AccessKeyID
	}
	verified := proofOK && claimed.AccessKeyID == proof.AccessKeyID && dir != nil && proof.Check(dir)
	var identity json.RawMessage
	var account string
	if verified {
		identity, account, verified = dir.Identity(key)
	}
	if verified {
		m["userIdentity"] = identity
		m["recipientAccountId"], _ = json.Marshal(account)
	} else {
		m["userIdentity"], _ = json.Marshal(map[string]string{"type": "Unknown", "accessKeyId": key})
	}
	extra := map[string]json.RawMessage{}
	if v, ok := m["additionalEventData"]; ok && json.Unmarshal(v, &extra) != nil {
		// Not an object: ingest refuses the record and says why.
		out, _ := json.Marshal(m)
		return out, true
	}
	if extra == nil {
		extra = map[string]json.RawMessage{}
	}
	extra["SignatureVerified"], _ = json.Marshal(verified)
	m["additionalEventData"], _ = json.Marshal(extra)
	out, err := json.Marshal(m)
	if err != nil {
		return nil, false
	}
	return out, true
}
