package insights

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"

	"github.com/cairn-audit/cairn/internal/store"
)

// Insights records are identified by IDs only the engine can make: the
// sharedEventID and eventID are HMAC-SHA256s, under a secret kept in the
// store's state documents, of what the record is (account, region, API,
// insight type, state, minute). The same Insight gets the same IDs every
// time it is made (a record made again after a crash is a duplicate the
// store drops), while a producer holding only an ingest key can neither
// predict them (to send a Start for an API's future minutes, or take the
// eventID of a record the engine will make) nor forge one the engine
// accepts: the engine restores its state only from records whose IDs
// verify.

// secretKey is the state document holding the engine's ID secret.
const secretKey = "insights/idkey"

// secretBytes is the length of the ID secret.
const secretBytes = 32

// secretDoc is the stored secret.
type secretDoc struct {
	Key []byte
}

// loadSecret reads the store's ID secret, making it the first time. The
// secret is created with a compare-and-set, so the nodes sharing a store
// (PostgreSQL) all end with the one that was stored first.
func loadSecret(ctx context.Context, st store.StateDocs) ([]byte, error) {
	for range 3 {
		doc, err := st.GetState(ctx, secretKey)
		if err == nil {
			var s secretDoc
			if err := json.Unmarshal(doc.Doc, &s); err != nil || len(s.Key) != secretBytes {
				return nil, fmt.Errorf("insights: ID secret %q is malformed", secretKey)
			}
			return s.Key, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("insights: read ID secret: %w", err)
		}
		s := secretDoc{Key: make([]byte, secretBytes)}
		if _, err := rand.Read(s.Key); err != nil {
			return nil, fmt.Errorf("insights: make ID secret: %w", err)
		}
		b, _ := json.Marshal(s)
		_, err = st.PutState(ctx, secretKey, b, 0)
		switch {
		case err == nil:
			return s.Key, nil
		case errors.Is(err, store.ErrExists) || errors.Is(err, store.ErrConflict):
			continue // another node made it first: read theirs
		default:
			return nil, fmt.Errorf("insights: store ID secret: %w", err)
		}
	}
	return nil, errors.New("insights: ID secret: could not read or create it")
}

// SharedEventID is the sharedEventID of k's Insight starting at minute
// start (Unix minutes), under secret.
func SharedEventID(secret []byte, k Key, start int64) string {
	return uuidOf(mac(secret, "shared", k.Account, k.Region, k.EventSource, k.EventName, k.InsightType,
		strconv.FormatInt(start, 10)))
}

// EventID is the eventID of tr's record under secret: it binds the
// record's account, region, API, type, state, sharedEventID and minute, so
// a valid eventID cannot be moved onto another record.
func EventID(secret []byte, tr Transition) string {
	k := tr.Key
	return uuidOf(mac(secret, "event", k.Account, k.Region, k.EventSource, k.EventName, k.InsightType,
		tr.State, tr.SharedEventID, strconv.FormatInt(Minute(tr.Time), 10)))
}

// verified reports whether tr (read from a record) carries the IDs the
// engine would have made for it: its eventID is tr.EventID.
func verified(secret []byte, tr Transition) bool {
	if len(secret) == 0 || tr.SharedEventID == "" || tr.EventID == "" {
		return false
	}
	if tr.State == "Start" && tr.SharedEventID != SharedEventID(secret, tr.Key, Minute(tr.Time)) {
		return false
	}
	return hmac.Equal([]byte(tr.EventID), []byte(EventID(secret, tr)))
}

// mac is the HMAC-SHA256 of the parts, each length-prefixed (so no two
// lists of parts share an encoding).
func mac(secret []byte, parts ...string) []byte {
	h := hmac.New(sha256.New, secret)
	for _, p := range parts {
		writePart(h, p)
	}
	return h.Sum(nil)
}

func writePart(h hash.Hash, p string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
	h.Write([]byte(p))
}

// uuidOf formats the first 16 bytes of a MAC as a UUID (version-5 and
// variant bits set, as CloudTrail's IDs look).
func uuidOf(h []byte) string {
	h = append([]byte(nil), h[:16]...)
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
