package web

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestCatalogsComplete: every language defines the same keys, and every
// key a template names literally exists.
func TestCatalogsComplete(t *testing.T) {
	for _, l := range languages[1:] {
		for k := range catalogs[languages[0]] {
			if _, ok := catalogs[l][k]; !ok {
				t.Errorf("%s lacks %q", l, k)
			}
		}
		for k := range catalogs[l] {
			if _, ok := catalogs[languages[0]][k]; !ok {
				t.Errorf("%s has %q, which %s lacks", l, k, languages[0])
			}
		}
	}
	used := regexp.MustCompile(`\.T "([a-z_.]+)"`)
	files, _ := fs.Glob(uiFS, "templates/*.html")
	for _, f := range files {
		b, _ := fs.ReadFile(uiFS, f)
		for _, m := range used.FindAllSubmatch(b, -1) {
			if _, ok := catalogs["en"][string(m[1])]; !ok {
				t.Errorf("%s uses %q, which no catalog defines", f, m[1])
			}
		}
	}
	for _, n := range adminNav {
		if _, ok := catalogs["en"][n.Key]; !ok {
			t.Errorf("navigation key %q is not in the catalog", n.Key)
		}
	}
}

func TestNegotiate(t *testing.T) {
	for header, want := range map[string]string{
		"":                           "en",
		"fr":                         "fr",
		"fr-FR,fr;q=0.9,en;q=0.8":    "fr",
		"de-DE,de;q=0.9,en;q=0.5":    "en",
		"en;q=0.4,fr;q=0.6":          "fr",
		"fr;q=0,en":                  "en",
		"nl-BE, fr-BE;q=0.7, *;q=.1": "fr",
		"garbage;;q=x":               "en",
	} {
		if got := negotiate(header); got != want {
			t.Errorf("negotiate(%q) = %q, want %q", header, got, want)
		}
	}
	if !slices.Contains(languages, "fr") {
		t.Fatal("French is gone")
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/members?x=1": "/admin/members?x=1",
		"//evil.example":     "/",
		"/\\evil.example":    "/",
		"https://evil":       "/",
		"":                   "/",
		"/a\r\nSet-Cookie:":  "/",
		"/\t/evil.example":   "/", // browsers drop the tab: //evil.example
		"/\x00/evil.example": "/",
		"/a\\..\\b":          "/",
		"/member/?next=%2F":  "/member/?next=%2F",
	} {
		if got := localPath(in, "/"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// French puts a non-breaking space before a colon, so that a line never
// starts with one; an ordinary space there is a typo.
func TestFrenchColonsHoldTheirSpace(t *testing.T) {
	for k, v := range catalogs["fr"] {
		if strings.Contains(v, " :") {
			t.Errorf("%s: %q has an ordinary space before a colon", k, v)
		}
	}
}
