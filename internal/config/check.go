package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// checkNode walks the parsed file against the Config type before it is
// decoded, so that an unknown key or a bad value is reported by its path
// and line ("ipam.quarantine (line 26): ...") rather than by yaml's
// message, which names Go types and, for values read by UnmarshalYAML,
// no place at all.
func checkNode(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // an empty key keeps the default, as yaml does
	}
	if t == reflect.TypeFor[Duration]() {
		return checkLeaf(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: keys are expected under it, not %s", where(path, n), shape(n))
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" { // merge key: its tables belong here
				merged := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode {
					merged = v.Content
				}
				for _, m := range merged {
					if err := checkNode(m, t, path); err != nil {
						return err
					}
				}
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("%s: no such key", where(join(path, k.Value), k))
				names := make([]string, 0, len(fields))
				for name := range fields {
					names = append(names, name)
				}
				if s := closest(k.Value, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", join(path, s))
				}
				return errors.New(msg)
			}
			if err := checkNode(v, ft, join(path, k.Value)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return fmt.Errorf("%s: a list is expected, not %s", where(path, n), shape(n))
		}
		for i, e := range n.Content {
			if err := checkNode(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: keys are expected under it, not %s", where(path, n), shape(n))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkNode(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
		return nil
	}
	return checkLeaf(n, t, path)
}

// checkLeaf decodes one value as the real decoding will.
func checkLeaf(n *yaml.Node, t reflect.Type, path string) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s: %s is expected, not %s", where(path, n), describe(t), shape(n))
	}
	err := n.Decode(reflect.New(t).Interface())
	var te *yaml.TypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return fmt.Errorf("%s: %q is not %s", where(path, n), n.Value, describe(t))
	default:
		return fmt.Errorf("%s: %w", where(path, n), err)
	}
}

// yamlFields maps the keys of struct type t to their types, inlined
// structs included.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if opts == "inline" {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func where(path string, n *yaml.Node) string {
	if path == "" {
		path = "the file"
	}
	return fmt.Sprintf("%s (line %d)", path, n.Line)
}

func shape(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "keys"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a positive whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct:
		if t == reflect.TypeFor[Duration]() {
			return "a duration (e.g. 30d, 12h, 90m)"
		}
		return "keys"
	}
	return "a value"
}

// syntaxError improves yaml's syntax errors. For some (an indentation
// mistake: "did not find expected key") yaml.v3 gives the line where the
// enclosing block starts, not the line at fault, so a mistake on line 61 of
// a block starting at line 6 reads "line 6". The faulty line is found as
// the shortest start of the file that fails with the same message.
func syntaxError(b []byte, err error) error {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "yaml: line ")
	if !ok {
		return err
	}
	reported, what, ok := strings.Cut(rest, ": ")
	if !ok {
		return err
	}
	if what != "did not find expected key" {
		// Others (an unclosed [ or {) would be found at the end of a cut
		// file too, so the search below would point at the wrong line.
		return fmt.Errorf("line %s: %s", reported, what)
	}
	lines := strings.SplitAfter(string(b), "\n")
	for k := 1; k <= len(lines); k++ {
		var n yaml.Node
		e := yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &n)
		if e == nil {
			continue
		}
		if _, w, _ := strings.Cut(strings.TrimPrefix(e.Error(), "yaml: line "), ": "); w != what {
			continue // fails otherwise: not this error
		}
		if line := fmt.Sprint(k); line != reported {
			return fmt.Errorf("line %s: %s (yaml says line %s, where the enclosing block starts)", line, what, reported)
		}
		break
	}
	return fmt.Errorf("line %s: %s", reported, what)
}
