package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"maillon/internal/registry"
)

// uniqueFields are the words the store uses for a unique column in its
// conflict message ("email is already taken", see store/dialect.go's
// uniqueWhat) and the input field each one is: the store error names no
// column, so the message is what there is. The longer words come first.
var uniqueFields = []struct{ what, field string }{
	{"port name on this switch", "name"},
	{"serial number", "serial"},
	{"MAC address", "mac"},
	{"prefix", "cidr"},
	{"login", "login"},
	{"email", "email"},
	{"name", "name"},
}

// fieldConflict is a uniqueness conflict on one input field: the API
// answers it with the field, the forms show it next to the field.
type fieldConflict struct {
	field, value, msg string
	err               error
}

func (e *fieldConflict) Error() string { return e.msg }
func (e *fieldConflict) Unwrap() error { return e.err }

// explainConflict names the field and the value a conflict is about, from
// the input that caused it ("name is already taken" becomes `name "VPN" is
// already taken`, field "name"); other errors pass through.
func explainConflict(err error, in any) error {
	if !errors.Is(err, registry.ErrConflict) {
		return err
	}
	var fc *fieldConflict
	if errors.As(err, &fc) {
		return err
	}
	msg := plain(err)
	for _, u := range uniqueFields {
		phrase := u.what + " is already taken"
		i := strings.Index(msg, phrase)
		if i < 0 || (i > 0 && !strings.HasSuffix(msg[:i], ": ")) {
			continue
		}
		value, ok := inputValue(in, u.field)
		if !ok {
			return err // the input did not set it: the clash is elsewhere
		}
		return &fieldConflict{field: u.field, value: value, err: err,
			msg: msg[:i] + fmt.Sprintf("%s %q is already taken", u.what, value) + msg[i+len(phrase):]}
	}
	return err
}

// inputValue is the text of an input's field, by its JSON name.
func inputValue(in any, field string) (string, bool) {
	b, err := json.Marshal(in)
	if err != nil {
		return "", false
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return "", false
	}
	v, ok := m[field]
	if !ok || v == nil {
		return "", false
	}
	return fmt.Sprint(v), true
}
