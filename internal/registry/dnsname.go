package registry

import (
	"fmt"
	"strings"
)

// nameKind is what a DNS name is for, which decides the labels it may hold.
type nameKind int

const (
	// hostName is a machine's name, a zone origin or a reverse name:
	// letters, digits and hyphens (RFC 952, RFC 1123 §2.1).
	hostName nameKind = iota
	// ownerName is the owner of a hand-made record, which may also hold
	// underscore labels (_dmarc, _sip._tcp: RFC 8552) and begin with the
	// wildcard "*" (RFC 4592).
	ownerName
)

// Limits of RFC 1035 §2.3.4: 255 octets on the wire are 253 characters of
// text without the final dot.
const (
	maxLabel = 63
	maxName  = 253
)

// dnsNameProblem says why name, without its final dot, is not a DNS name of
// the kind ("" when it is). It names the label and the character at fault,
// so that "bad name" is reported for its space, not for what follows from it.
func dnsNameProblem(name string, kind nameKind) string {
	if name == "" {
		return "is empty"
	}
	if len(name) > maxName {
		return fmt.Sprintf("is %d characters long, more than %d", len(name), maxName)
	}
	allowed := "letters, digits and hyphens"
	if kind == ownerName {
		allowed = "letters, digits, hyphens and underscores"
	}
	for i, l := range strings.Split(name, ".") {
		switch {
		case l == "":
			return "has an empty label (two dots in a row, or a dot at the start)"
		case len(l) > maxLabel:
			return fmt.Sprintf("label %q is %d characters long, more than %d", l, len(l), maxLabel)
		case l == "*" && kind == ownerName && i == 0:
			continue
		case strings.Contains(l, "*") && kind == ownerName:
			return fmt.Sprintf("label %q: \"*\" is only allowed as the whole first label (a wildcard)", l)
		}
		for _, r := range l {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' && kind == ownerName {
				continue
			}
			return fmt.Sprintf("label %q holds %s: a label holds %s", l, describeRune(r), allowed)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Sprintf("label %q starts or ends with a hyphen", l)
		}
	}
	return ""
}

func describeRune(r rune) string {
	switch r {
	case ' ':
		return "a space"
	case '\t':
		return "a tab"
	}
	return fmt.Sprintf("%q", r)
}

// reverseNameProblem checks a PTR target: a fully qualified host name of at
// least two labels, outside the reverse tree (a PTR pointing back into it
// names no host).
func reverseNameProblem(fqdn string) string {
	name := strings.TrimSuffix(fqdn, ".")
	if p := dnsNameProblem(name, hostName); p != "" {
		return p
	}
	if !strings.Contains(name, ".") {
		return "needs at least two labels (a host and its domain, e.g. mail.example.org)"
	}
	if strings.HasSuffix(fqdn, ".in-addr.arpa.") || strings.HasSuffix(fqdn, ".ip6.arpa.") {
		return "is inside the reverse tree: give the host name the address should resolve to"
	}
	return ""
}

// ptrPlaceholders are what a prefix's PTR template may contain.
var ptrPlaceholders = strings.NewReplacer("{login}", "user", "{ip}", "192-0-2-1")

// ptrTemplateProblem checks a PTR template, fully qualified: only known
// placeholders, and a valid reverse name once they are filled in.
func ptrTemplateProblem(tmpl string) string {
	filled := ptrPlaceholders.Replace(tmpl)
	if i := strings.IndexAny(filled, "{}"); i >= 0 {
		ph := filled[i:]
		if end := strings.IndexByte(ph, '}'); end >= 0 {
			ph = ph[:end+1]
		}
		return fmt.Sprintf("unknown placeholder %q: use {login} or {ip}", ph)
	}
	if p := reverseNameProblem(filled); p != "" {
		if filled != tmpl {
			return fmt.Sprintf("gives %q (with {login} = user, {ip} = 192-0-2-1): it %s", filled, p)
		}
		return p
	}
	return ""
}
