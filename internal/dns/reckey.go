package dns

import (
	"hash/maphash"

	mdns "github.com/miekg/dns"
)

// recKey identifies an input record: two 64-bit hashes, under independent
// random seeds, of its text (owner lowercased: owners are canonical by then).
// Two inputs that differ only in TTL are two entries; served() merges them.
// The text itself, kept as the key of every record, was a sixth of a reverse
// zone's memory; a collision between 128-bit hashes of different records is
// not a practical concern, and the seeds are unknown outside the process.
type recKey [2]uint64

var recSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func rrKey(rr mdns.RR) recKey {
	s := rr.String()
	return recKey{maphash.String(recSeeds[0], s), maphash.String(recSeeds[1], s)}
}
