// Package ipam does the prefix arithmetic behind address allocation: a pool is
// a prefix cut into equal blocks (/32 or /128 addresses, /64 networks, /56
// delegated prefixes), and a block is named by its index in the pool so the
// store can keep a unique (pool, index) key and allocate by counting.
package ipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
)

// MaxBlocks bounds the blocks of one pool so an index fits in a signed 64-bit
// database column.
const MaxBlocks = uint64(1) << 62

// ParsePrefix parses a prefix and insists on its canonical form, because a
// prefix with host bits set is almost always a typo worth telling about.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a prefix (want e.g. 198.51.100.0/24 or 2001:db8::/32)", s)
	}
	if p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("prefix %q must not carry a zone", s)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("prefix %q is an IPv4-mapped IPv6 prefix; write it as IPv4", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("prefix %s has host bits set; did you mean %s?", s, m)
	}
	return p, nil
}

// ErrBlockSize reports a block length that does not fit in its pool.
var ErrBlockSize = errors.New("block length does not fit the pool")

// BlockCount is the number of blocks of length blockBits in pool, capped at
// MaxBlocks.
func BlockCount(pool netip.Prefix, blockBits int) (uint64, error) {
	if err := checkBlock(pool, blockBits); err != nil {
		return 0, err
	}
	shift := blockBits - pool.Bits()
	if shift >= 62 {
		return MaxBlocks, nil
	}
	return uint64(1) << shift, nil
}

func checkBlock(pool netip.Prefix, blockBits int) error {
	if !pool.IsValid() {
		return fmt.Errorf("invalid pool prefix")
	}
	if blockBits < pool.Bits() || blockBits > pool.Addr().BitLen() {
		return fmt.Errorf("/%d blocks in %s: %w", blockBits, pool, ErrBlockSize)
	}
	return nil
}

// Block returns the index-th block of length blockBits in pool.
func Block(pool netip.Prefix, blockBits int, index uint64) (netip.Prefix, error) {
	n, err := BlockCount(pool, blockBits)
	if err != nil {
		return netip.Prefix{}, err
	}
	if index >= n {
		return netip.Prefix{}, fmt.Errorf("block %d is outside %s (%d blocks of /%d)", index, pool, n, blockBits)
	}
	base := addrInt(pool.Addr())
	off := new(big.Int).Lsh(new(big.Int).SetUint64(index), uint(pool.Addr().BitLen()-blockBits))
	addr := intAddr(base.Add(base, off), pool.Addr().Is4())
	return netip.PrefixFrom(addr, blockBits), nil
}

// BlockIndex returns the index of block inside pool; block must be a
// canonical prefix of the pool's block length.
func BlockIndex(pool, block netip.Prefix, blockBits int) (uint64, error) {
	if err := checkBlock(pool, blockBits); err != nil {
		return 0, err
	}
	if block.Bits() != blockBits || block.Masked() != block {
		return 0, fmt.Errorf("%s is not a /%d block", block, blockBits)
	}
	if !Contains(pool, block) {
		return 0, fmt.Errorf("%s is not inside %s", block, pool)
	}
	d := addrInt(block.Addr())
	d.Sub(d, addrInt(pool.Addr()))
	d.Rsh(d, uint(pool.Addr().BitLen()-blockBits))
	if !d.IsUint64() || d.Uint64() >= MaxBlocks {
		return 0, fmt.Errorf("%s is too far inside %s to be indexed", block, pool)
	}
	return d.Uint64(), nil
}

// Contains reports whether inner lies entirely inside outer.
func Contains(outer, inner netip.Prefix) bool {
	return outer.Addr().BitLen() == inner.Addr().BitLen() &&
		inner.Bits() >= outer.Bits() && outer.Contains(inner.Addr())
}

// Overlaps reports whether a and b share any address.
func Overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

func addrInt(a netip.Addr) *big.Int {
	b := a.AsSlice()
	return new(big.Int).SetBytes(b)
}

func intAddr(v *big.Int, is4 bool) netip.Addr {
	if is4 {
		var b [4]byte
		v.FillBytes(b[:])
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	v.FillBytes(b[:])
	return netip.AddrFrom16(b)
}

// DefaultBlockBits is the allocation size a pool uses unless told otherwise.
func DefaultBlockBits(pool netip.Prefix, delegated bool) int {
	switch {
	case pool.Addr().Is4():
		return 32
	case delegated:
		return 56
	default:
		return 64
	}
}
