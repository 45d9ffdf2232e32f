package app

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"maillon/internal/config"
	"maillon/internal/dns"
	"maillon/internal/registry"
	"maillon/internal/web"
)

// deriveZoneKey derives a zone's DNSSEC key from the secret key: every
// instance sharing the database shares secret_key, so all sign with the
// same key and none needs a key stored anywhere. The private scalar is the
// first 32-byte block of HKDF-SHA256 output that lies in [1, N-1] (a block
// out of range, about one in 2^32, is skipped).
func deriveZoneKey(secretKey []byte, origin string, generation int) (*dns.ZoneKey, error) {
	origin = registry.Fqdn(origin)
	const blocks = 8
	stream, err := hkdf.Key(sha256.New, secretKey, nil, fmt.Sprintf("maillon dnssec %s %d", origin, generation), 32*blocks)
	if err != nil {
		return nil, fmt.Errorf("derive the DNSSEC key of %s: %w", origin, err)
	}
	for i := range blocks {
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), stream[32*i:32*(i+1)])
		if err != nil {
			continue // zero or not below the group order: take the next block
		}
		return dns.NewZoneKey(origin, priv)
	}
	return nil, fmt.Errorf("derive the DNSSEC key of %s: no scalar in range", origin)
}

// zoneKeys gives the DNS server the key of each zone dns.dnssec signs,
// derived once per origin.
type zoneKeys struct {
	secret []byte
	cfg    config.DNSSEC
	mu     sync.Mutex
	keys   map[string]*dns.ZoneKey
}

// key is the key of a zone, or nil when it is not signed.
func (k *zoneKeys) key(origin string) *dns.ZoneKey {
	if k == nil || !k.cfg.Enabled(origin) {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if zk := k.keys[origin]; zk != nil {
		return zk
	}
	zk, err := deriveZoneKey(k.secret, origin, k.cfg.KeyGeneration())
	if err != nil {
		return nil // cannot happen with a valid secret key: the zone goes unsigned
	}
	if k.keys == nil {
		k.keys = map[string]*dns.ZoneKey{}
	}
	k.keys[origin] = zk
	return zk
}

// DS tells what the parent of a signed zone must publish.
func (ds *dnsService) DS(origin string) (web.ZoneDS, error) {
	z := ds.srv.Snapshot().Zone(registry.Fqdn(origin))
	if z == nil {
		return web.ZoneDS{}, registry.NotFound("served zone", origin)
	}
	k := z.Key()
	if k == nil {
		return web.ZoneDS{}, &registry.ValidationError{Message: fmt.Sprintf("zone %s is not signed (dns.dnssec)", z.Origin())}
	}
	key := *k.DNSKEY
	key.Hdr.Name, key.Hdr.Ttl = z.Origin(), z.SOA().Hdr.Ttl
	ds256 := k.DS(z.Origin())
	ds256.Hdr.Ttl = key.Hdr.Ttl
	return web.ZoneDS{
		Zone:      z.Origin(),
		KeyTag:    k.KeyTag(),
		Algorithm: key.Algorithm,
		DS:        []string{ds256.String()},
		DNSKEY:    key.String(),
	}, nil
}

// resignTick asks the DNS loop to rebuild when signatures are due: a zone
// nobody changes for weeks must still be re-signed before they expire.
func (ds *dnsService) resignTick(_ context.Context, now time.Time) error {
	if ds.srv.Snapshot().SigningDue(now) {
		select {
		case ds.resign <- struct{}{}:
		default:
		}
	}
	return nil
}
