package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cairn-audit/cairn/internal/digest"
	"github.com/cairn-audit/cairn/internal/store"
)

// KeyValidity is how long a region's signing key signs digests before the
// next one takes over.
const KeyValidity = 30 * 24 * time.Hour

// KeyDocs is where the signing keys are kept: the store's state documents.
type KeyDocs interface {
	PutState(ctx context.Context, key string, doc []byte, expectVersion int64) (int64, error)
	ListState(ctx context.Context, prefix string) ([]store.StateDoc, error)
}

// Keys keeps each region's RSA signing keys in the store, creating and
// rotating them as needed.
type Keys struct {
	store KeyDocs
	mu    sync.Mutex
	cache map[string]digest.KeyPair // state key → parsed pair
}

// NewKeys makes the key keeper.
func NewKeys(st KeyDocs, partition string) *Keys {
	return &Keys{store: st, cache: map[string]digest.KeyPair{}}
}

type storedKey struct {
	PEM       []byte
	ValidFrom time.Time
	ValidTo   time.Time
}

func keyPrefix(region string) string { return "signing-key/" + region + "/" }

// At returns the key that signs region's digests at time t, creating one
// when none is valid then.
func (k *Keys) At(ctx context.Context, region string, t time.Time) (digest.KeyPair, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for attempt := 0; attempt < 3; attempt++ {
		pairs, err := k.load(ctx, region)
		if err != nil {
			return digest.KeyPair{}, err
		}
		var best *digest.KeyPair
		for i := range pairs {
			p := &pairs[i]
			if !t.Before(p.ValidFrom) && t.Before(p.ValidTo) && (best == nil || p.ValidFrom.After(best.ValidFrom)) {
				best = p
			}
		}
		if best != nil {
			return *best, nil
		}
		from := t.UTC().Truncate(time.Second)
		kp, err := digest.NewKeyPair(region, from, from.Add(KeyValidity))
		if err != nil {
			return digest.KeyPair{}, err
		}
		pem, err := kp.MarshalPrivate()
		if err != nil {
			return digest.KeyPair{}, err
		}
		doc, _ := json.Marshal(storedKey{PEM: pem, ValidFrom: kp.ValidFrom, ValidTo: kp.ValidTo})
		key := fmt.Sprintf("%s%020d", keyPrefix(region), from.Unix())
		if _, err := k.store.PutState(ctx, key, doc, 0); err != nil && !errors.Is(err, store.ErrExists) {
			return digest.KeyPair{}, err
		}
	}
	return digest.KeyPair{}, fmt.Errorf("delivery: no signing key for %s", region)
}

func (k *Keys) load(ctx context.Context, region string) ([]digest.KeyPair, error) {
	docs, err := k.store.ListState(ctx, keyPrefix(region))
	if err != nil {
		return nil, err
	}
	out := make([]digest.KeyPair, 0, len(docs))
	for _, d := range docs {
		if kp, ok := k.cache[d.Key]; ok {
			out = append(out, kp)
			continue
		}
		var sk storedKey
		if err := json.Unmarshal(d.Doc, &sk); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", d.Key, err)
		}
		kp, err := digest.ParseKeyPair(region, sk.PEM, sk.ValidFrom, sk.ValidTo)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", d.Key, err)
		}
		k.cache[d.Key] = kp
		out = append(out, kp)
	}
	return out, nil
}

// Public lists region's public keys valid at some time in [from, to].
func (k *Keys) Public(ctx context.Context, region string, from, to time.Time) ([]digest.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	pairs, err := k.load(ctx, region)
	if err != nil {
		return nil, err
	}
	var out []digest.PublicKey
	for _, p := range pairs {
		if p.ValidTo.After(from) && !p.ValidFrom.After(to) {
			out = append(out, digest.PublicKey{Fingerprint: p.Fingerprint, DER: p.PublicDER, ValidFrom: p.ValidFrom, ValidTo: p.ValidTo})
		}
	}
	return out, nil
}
