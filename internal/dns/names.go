package dns

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
)

// A zone keeps a node for each owner name with records, and no node for the
// empty non-terminals between them: an IPv6 PTR 16 nibbles below its /64
// would otherwise bring 15 nodes of its own, most of a reverse zone's memory.
// An empty non-terminal exists (NODATA, not NXDOMAIN) when a name is below
// it; the sorted list of owner names (Zone.names) tells with one binary
// search, and gives the closest encloser of a missing name the same way.
//
// The order compares names byte by byte from their end, with '.' before
// every other byte: the names below x.example. ("….x.example.") then come
// right after x.example. itself, before x.example.'s siblings such as
// "-x.example.", so a name's descendants, if any, start at its successor.

// emptyNonTerminal is the node of a name that exists only as the ancestor of
// others. It is shared: never change it.
var emptyNonTerminal = &node{}

// compareNames orders two names for Zone.names, eight bytes at a time.
func compareNames(a, b string) int {
	i, j := len(a), len(b)
	for i >= 8 && j >= 8 {
		x, y := load64(a[i-8:i]), load64(b[j-8:j])
		if x != y {
			// The highest differing byte is the first one from the end.
			k := 7 - bits.LeadingZeros64(x^y)/8
			return cmp.Compare(nameByte(a[i-8+k]), nameByte(b[j-8+k]))
		}
		i, j = i-8, j-8
	}
	for i > 0 && j > 0 {
		if c := cmp.Compare(nameByte(a[i-1]), nameByte(b[j-1])); c != 0 {
			return c
		}
		i, j = i-1, j-1
	}
	return cmp.Compare(i, j)
}

// load64 reads 8 bytes, the last one as the most significant: comparing two
// such words compares the bytes from the end.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// nameByte ranks '.' first; presentation names hold no raw zero byte.
func nameByte(c byte) int {
	if c == '.' {
		return -1
	}
	return int(c)
}

// escaped reports whether the byte at i is escaped by a backslash.
func escaped(s string, i int) bool {
	n := 0
	for i > 0 && s[i-1] == '\\' {
		n++
		i--
	}
	return n%2 == 1
}

// search returns where name is, or would be, in z.names.
func (z *Zone) search(name string) int {
	// Not slices.BinarySearchFunc: through its function value, name would
	// escape, and the UDP path passes names held in stack buffers.
	lo, hi := 0, len(z.names)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if compareNames(z.names[mid], name) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// hasBelowAt reports whether some owner is below name, given i = search(name)
// for a name that is not an owner itself.
func (z *Zone) hasBelowAt(i int, name string) bool {
	for ; i < len(z.names); i++ {
		e := z.names[i]
		if len(e) <= len(name) || !strings.HasSuffix(e, name) || e[len(e)-len(name)-1] != '.' {
			return false
		}
		if !escaped(e, len(e)-len(name)-1) {
			return true
		}
		// "a\.x.example." is one label under example., not below x.example.:
		// look further.
	}
	return false
}

// lookup returns the node of a lowercased name: its records, the shared
// empty node of an empty non-terminal, or nil when the name does not exist.
func (z *Zone) lookup(name string) *node {
	if n := z.node(name); n != nil {
		return n
	}
	if z.hasBelowAt(z.search(name), name) {
		return emptyNonTerminal
	}
	return nil
}

// closestEncloser returns the deepest existing ancestor of a name that does
// not exist, given its label offsets. The owners below that ancestor are
// contiguous in z.names, around where the name would be: its neighbours
// there share the most labels with it.
func (z *Zone) closestEncloser(name string, offs []int) string {
	return z.encloserAt(z.search(name), name, offs)
}

func (z *Zone) encloserAt(i int, name string, offs []int) string {
	top := len(offs) - z.labels // offs[top] starts the origin
	enc := top
	for _, j := range [2]int{i - 1, i} {
		if j < 0 || j >= len(z.names) {
			continue
		}
		e := z.names[j]
		if strings.IndexByte(e, '\\') >= 0 {
			// "a\.x.example." sorts among the names below x.example.
			// without being one: walk down from the apex instead.
			return z.walkEncloser(name, offs)
		}
		common := commonSuffix(name, e)
		// The deepest proper ancestor of name within the common part that
		// ends at a label boundary of e too.
		for k := 1; k < enc; k++ {
			anc := len(name) - offs[k]
			if anc <= common && (anc == len(e) || e[len(e)-anc-1] == '.' && !escaped(e, len(e)-anc-1)) {
				enc = k
				break
			}
		}
	}
	return name[offs[enc]:]
}

// walkEncloser is closestEncloser one ancestor at a time.
func (z *Zone) walkEncloser(name string, offs []int) string {
	top := len(offs) - z.labels
	enc := top
	for k := top - 1; k >= 1 && z.lookup(name[offs[k]:]) != nil; k-- {
		enc = k
	}
	return name[offs[enc]:]
}

// commonSuffix is the length of the longest common suffix of a and b.
func commonSuffix(a, b string) int {
	i, j := len(a), len(b)
	for i >= 8 && j >= 8 {
		x, y := load64(a[i-8:i]), load64(b[j-8:j])
		if x != y {
			return len(a) - i + bits.LeadingZeros64(x^y)/8
		}
		i, j = i-8, j-8
	}
	for i > 0 && j > 0 && a[i-1] == b[j-1] {
		i, j = i-1, j-1
	}
	return len(a) - i
}

// mergeNames returns names with born added and gone removed, sorted; names
// itself is left alone (readers of the previous snapshot share it).
func mergeNames(names, born []string, gone map[string]bool) []string {
	if len(born) == 0 && len(gone) == 0 {
		return names
	}
	slices.SortFunc(born, compareNames)
	out := make([]string, 0, len(names)+len(born)-len(gone))
	i := 0
	for _, n := range names {
		if gone[n] {
			continue
		}
		for i < len(born) && compareNames(born[i], n) < 0 {
			out = append(out, born[i])
			i++
		}
		out = append(out, n)
	}
	return append(out, born[i:]...)
}
