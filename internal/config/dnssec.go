package config

import (
	"fmt"
	"strings"
)

// DNSSEC says which zones maillon signs. Keys are not stored: each zone's
// key derives from secret_key, its origin and Generation, so every
// instance sharing the database signs with the same key. Changing
// secret_key or Generation changes every key: the DS at the parent must
// then be updated (`maillon dns ds ZONE`; parents that scan CDS/CDNSKEY
// pick the change up by themselves).
type DNSSEC struct {
	// Zones lists the origins signed, forward or reverse
	// ("example.org.", "100.64.in-addr.arpa.").
	Zones []string `yaml:"zones"`
	// All signs every zone served.
	All bool `yaml:"all"`
	// Generation numbers the keys, for a rollover; 0 means 1.
	Generation int `yaml:"generation"`
}

// Enabled reports whether the zone with this origin is signed.
func (d DNSSEC) Enabled(origin string) bool {
	if d.All {
		return true
	}
	o := normalizeZone(origin)
	for _, z := range d.Zones {
		if normalizeZone(z) == o {
			return true
		}
	}
	return false
}

// KeyGeneration is Generation with its default.
func (d DNSSEC) KeyGeneration() int { return max(d.Generation, 1) }

func normalizeZone(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".") + "."
}

func (d DNSSEC) validate() error {
	if d.Generation < 0 {
		return fmt.Errorf("dns.dnssec.generation: %d is negative", d.Generation)
	}
	for i, z := range d.Zones {
		if n := normalizeZone(z); n == "." || strings.Contains(n, "..") || strings.ContainsAny(n, " \t/") && !strings.HasSuffix(n, ".in-addr.arpa.") {
			return fmt.Errorf("dns.dnssec.zones[%d]: %q is not a zone name", i, z)
		}
	}
	return nil
}
