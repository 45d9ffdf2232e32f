package status

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// unfold and unescape undo icsFold and icsText as a calendar reader does
// (RFC 5545 3.1 and 3.3.11).
func unfold(s string) string { return strings.ReplaceAll(s, "\r\n ", "") }

func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func FuzzICSLine(f *testing.F) {
	for _, s := range []string{"", "simple", "a;b,c\\d\ne", "Coupure électrique; bâtiment B, C et D — réseau coupé pour travaux sur le tableau général",
		strings.Repeat("é", 80), strings.Repeat("🛠", 40), "line\r\nbreak\rcr"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		var b strings.Builder
		icsFold(&b, "DESCRIPTION:"+icsText(text))
		out := b.String()
		if !strings.HasSuffix(out, "\r\n") {
			t.Fatalf("no CRLF at the end: %q", out)
		}
		for i, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
			if len(line) > 75 {
				t.Fatalf("line %d has %d octets", i, len(line))
			}
			if i > 0 && !strings.HasPrefix(line, " ") {
				t.Fatalf("continuation line %d does not start with a space: %q", i, line)
			}
			if strings.ContainsAny(line, "\r\n") {
				t.Fatalf("line %d holds a bare CR or LF: %q", i, line)
			}
			if !utf8.ValidString(line) {
				t.Fatalf("line %d cuts a character: %q", i, line)
			}
		}
		want := strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
		if got := unescape(strings.TrimPrefix(unfold(strings.TrimSuffix(out, "\r\n")), "DESCRIPTION:")); got != want {
			t.Fatalf("round trip: %q, want %q", got, want)
		}
	})
}

func FuzzAcceptLanguage(f *testing.F) {
	for _, s := range []string{"", "fr", "en-GB,en;q=0.9", "de-CH, en;q=0.8, fr;q=0.3", "fr;q=0, en;q=0", "*;q=0.5", ";;;,,,q=", "en;q=1.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		l := acceptLanguage(header, fr)
		if l != fr && l != en {
			t.Fatalf("%q gave %d", header, l)
		}
		// Naming one supported language alone picks it.
		if header == "en" && l != en {
			t.Fatal("en gave fr")
		}
	})
}
