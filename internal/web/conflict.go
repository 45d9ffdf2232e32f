package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"maillon/internal/registry"
)

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
	var fc *fieldConflict
	if errors.As(err, &fc) {
		return err
	}
	var ce *registry.ConflictError
	if !errors.As(err, &ce) || ce.Field == "" {
		return err
	}
	value, ok := inputValue(in, ce.Field)
	if !ok {
		return err // the input did not set it: the clash is elsewhere
	}
	msg := plain(err)
	phrase := ce.Error()
	i := strings.LastIndex(msg, phrase)
	if i < 0 {
		return err
	}
	return &fieldConflict{field: ce.Field, value: value, err: err,
		msg: msg[:i] + fmt.Sprintf("%s %q is already taken", ce.What, value) + msg[i+len(phrase):]}
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
