package registry

import (
	"fmt"
	"strings"
)

// SplitAttribute reads "Name = value".
func SplitAttribute(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, "=")
	name, value = strings.TrimSpace(name), strings.Trim(strings.TrimSpace(value), `"`)
	if !ok || name == "" || value == "" {
		return "", "", fmt.Errorf("%q is not \"Name = value\"", s)
	}
	return name, value, nil
}

// checkReplyAttributes validates extra reply attributes with the checker
// the application gave (the RADIUS dictionary), so a typo is refused when
// an admin types it rather than when a subscriber connects.
func (s *Service) checkReplyAttributes(attrs []string) error {
	for i, a := range attrs {
		name, value, err := SplitAttribute(a)
		if err == nil && s.opt.CheckAttribute != nil {
			err = s.opt.CheckAttribute(name, value)
		}
		if err != nil {
			return invalid("reply_attributes", "attribute %d: %v", i+1, err)
		}
		attrs[i] = name + " = " + value
	}
	return nil
}
