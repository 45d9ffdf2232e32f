package registry

import (
	"errors"
	"fmt"
)

// The kinds of failure callers branch on; wrap them with context.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrExhausted = errors.New("pool exhausted")
	ErrInvalid   = errors.New("invalid")
	ErrInUse     = errors.New("in use")
)

// ValidationError names the field that is wrong and why, so the CLI can print
// one clear line and the API can point at the field.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

// ConflictError is a value that another record holds where the database
// keeps values unique.
type ConflictError struct {
	// Field is the input's field (its JSON name) that holds the value, or
	// "" when no single field does (a pair of columns, a token's hash).
	Field string
	// What names it in words an admin reads: "email", "port name on this
	// switch".
	What string
}

func (e *ConflictError) Error() string { return e.What + " is already taken" }

func (e *ConflictError) Unwrap() error { return ErrConflict }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound builds an ErrNotFound naming what was looked for.
func NotFound(entity string, ref any) error {
	return fmt.Errorf("%s %v: %w", entity, ref, ErrNotFound)
}
