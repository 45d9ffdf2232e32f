// Package macaddr reads MAC addresses in the notations people and devices
// use (aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF, aabb.ccdd.eeff, aabbccddeeff)
// and writes one canonical form, so a lookup works whatever was pasted.
package macaddr

import (
	"fmt"
	"strings"
)

// Normalize returns the canonical lower-case, colon-separated form of s.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	hex := make([]byte, 0, 12)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			hex = append(hex, c)
		case c >= 'A' && c <= 'F':
			hex = append(hex, c+'a'-'A')
		case c == ':' || c == '-' || c == '.' || c == ' ':
		default:
			return "", fmt.Errorf("%q is not a MAC address", s)
		}
	}
	if len(hex) != 12 || !separatorsFit(s) {
		return "", fmt.Errorf("%q is not a MAC address", s)
	}
	var b strings.Builder
	b.Grow(17)
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.Write(hex[i : i+2])
	}
	return b.String(), nil
}

// separatorsFit rejects strings whose separators fall between the wrong
// digits ("a:abbccddeeff"), which are more likely typos than MACs.
func separatorsFit(s string) bool {
	groups := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == '-' || r == '.' || r == ' ' })
	switch len(groups) {
	case 1: // aabbccddeeff
		return len(groups[0]) == 12
	case 3: // aabb.ccdd.eeff
		return len(groups[0]) == 4 && len(groups[1]) == 4 && len(groups[2]) == 4
	case 6:
		for _, g := range groups {
			if len(g) != 2 {
				return false
			}
		}
		return true
	}
	return false
}

// Looks reports whether s is plausibly meant as a MAC address.
func Looks(s string) bool {
	_, err := Normalize(s)
	return err == nil
}
