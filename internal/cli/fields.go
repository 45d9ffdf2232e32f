package cli

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"maillon/internal/client"
	"maillon/internal/registry"
)

// kind says how a flag's text becomes the JSON value of an Input field.
type kind int

const (
	asText    kind = iota // sent as typed; "" clears an optional field
	asNumber              // a whole number
	asBool                // --flag or --flag=false
	asChoice              // one of choices
	asList                // repeatable and comma-separated, each one of choices
	asRef                 // any ref of another entity, sent as its id; "none" clears it
	asPeriods             // repeatable START:END, replacing all periods
	asMoney               // 12, 12.50 or 12,50
	asSecret              // a password or shared secret; "-" reads it from stdin
	asLines               // repeatable, each value whole (it may hold commas)
)

// field maps one flag onto one field of an entity's Input.
type field struct {
	flag    string // kebab-case flag name
	key     string // the Input's JSON key
	usage   string
	kind    kind
	choices []string // asChoice, asList
	target  string   // asRef: the collection the ref is looked up in
	// generate adds --generate-<flag> to a secret: the CLI makes one up
	// and prints it once.
	generate bool
}

func names[T ~string](vs ...T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// define declares the field's flag on fs.
func (f field) define(fs *pflag.FlagSet) {
	usage := f.usage
	if len(f.choices) > 0 {
		usage += " (" + strings.Join(f.choices, ", ") + ")"
	}
	switch f.kind {
	case asBool:
		fs.Bool(f.flag, false, usage)
	case asPeriods, asLines:
		fs.StringArray(f.flag, nil, usage)
	case asList:
		fs.StringSlice(f.flag, nil, usage)
	default:
		fs.String(f.flag, "", usage)
	}
	if f.generate {
		fs.Bool("generate-"+f.flag, false, "generate a random "+f.flag+" and print it once")
	}
}

// inputBody collects the fields whose flags were set into the JSON body of
// an Input. It returns the secrets it generated, to be printed once.
func (s *session) inputBody(fs *pflag.FlagSet, fields []field, newInput func() any) (body json.RawMessage, generated map[string]string, err error) {
	values := map[string]any{}
	for _, f := range fields {
		gen := f.generate && fs.Changed("generate-"+f.flag)
		if gen {
			if fs.Changed(f.flag) {
				return nil, nil, fmt.Errorf("give --%s or --generate-%s, not both", f.flag, f.flag)
			}
			if on, _ := fs.GetBool("generate-" + f.flag); on {
				v := newSecret()
				values[f.key] = v
				if generated == nil {
					generated = map[string]string{}
				}
				generated[f.flag] = v
			}
			continue
		}
		if !fs.Changed(f.flag) {
			continue
		}
		v, err := s.fieldValue(fs, f)
		if err != nil {
			return nil, nil, fmt.Errorf("--%s: %w", f.flag, err)
		}
		values[f.key] = v
	}
	// Decoding into the registry's Input type, strictly, is what keeps the
	// flag table honest: a key the Input does not have is our bug, caught
	// here (and by the tests) rather than sent.
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, nil, err
	}
	in := newInput()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		return nil, nil, fmt.Errorf("internal error: flags do not fit %T: %w", in, err)
	}
	body, err = json.Marshal(in)
	return body, generated, err
}

func (s *session) fieldValue(fs *pflag.FlagSet, f field) (any, error) {
	switch f.kind {
	case asBool:
		return fs.GetBool(f.flag)
	case asPeriods:
		vs, _ := fs.GetStringArray(f.flag)
		return parsePeriods(vs)
	case asLines:
		vs, _ := fs.GetStringArray(f.flag)
		if vs == nil {
			vs = []string{}
		}
		return vs, nil
	case asList:
		vs, _ := fs.GetStringSlice(f.flag)
		for _, v := range vs {
			if err := oneOf(v, f.choices); err != nil {
				return nil, err
			}
		}
		if vs == nil {
			vs = []string{}
		}
		return vs, nil
	}
	v, _ := fs.GetString(f.flag)
	switch f.kind {
	case asNumber:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", v)
		}
		return n, nil
	case asChoice:
		return v, oneOf(v, f.choices)
	case asRef:
		return s.resolveRef(f.target, v)
	case asMoney:
		m, err := registry.ParseMoney(v)
		if err != nil {
			return nil, err
		}
		return m.String(), nil
	case asSecret:
		if v == "-" {
			return s.readSecret(f.flag)
		}
		return v, nil
	}
	return v, nil
}

func oneOf(v string, choices []string) error {
	if !slices.Contains(choices, v) {
		return fmt.Errorf("%q is not one of %s", v, strings.Join(choices, ", "))
	}
	return nil
}

// resolveRef turns what the user has at hand (an email, a login, an IP, a
// name...) into the id the Input wants, by asking the daemon: it knows how
// every collection is looked up, so the CLI does not guess.
func (s *session) resolveRef(collection, ref string) (int64, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || ref == "none" {
		return 0, nil // the registry reads 0 as "no reference"
	}
	c, err := s.Client()
	if err != nil {
		return 0, err
	}
	var obj struct {
		ID int64 `json:"id"`
	}
	o, err := client.Get(s.ctx, c, client.Raw(collection), ref)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(o, &obj); err != nil || obj.ID == 0 {
		return 0, fmt.Errorf("%s %q: the daemon's answer has no id", collection, ref)
	}
	return obj.ID, nil
}

// parsePeriods reads START:END membership periods; END may be empty for an
// open-ended membership.
func parsePeriods(vs []string) ([]registry.Period, error) {
	const want = "want START:END, e.g. 2026-01-01:2026-12-31"
	out := []registry.Period{}
	for _, v := range vs {
		start, end, _ := strings.Cut(strings.TrimSpace(v), ":")
		var p registry.Period
		var err error
		if p.Start, err = registry.ParseDate(start); err != nil {
			return nil, fmt.Errorf("%q: start %q is not a date (%s)", v, start, want)
		}
		if end != "" {
			e, err := registry.ParseDate(end)
			if err != nil {
				return nil, fmt.Errorf("%q: end %q is not a date (%s)", v, end, want)
			}
			if e.Before(p.Start) {
				return nil, fmt.Errorf("%q ends before it starts", v)
			}
			p.End = &e
		}
		out = append(out, p)
	}
	return out, nil
}

// readSecret reads a secret from stdin: without echo from a terminal, else
// the first line (so `pass show x | maillon ... --password -` works).
func (s *session) readSecret(flag string) (string, error) {
	if f, ok := s.stdin.(*os.File); ok && s.isTerminal(f) {
		fmt.Fprintf(s.stderr, "%s: ", flag)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(s.stderr)
		if err != nil {
			return "", fmt.Errorf("reading it from the terminal: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(s.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading it from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("stdin is empty")
	}
	return line, nil
}

// newSecret returns a random password: crypto/rand.Text's 26 base32
// characters (130 bits) have no 0 or 1 to misread when typed onto a router.
func newSecret() string { return rand.Text() }
