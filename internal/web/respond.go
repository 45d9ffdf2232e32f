package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"maillon/internal/registry"
)

// apiError is the body of every error response.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// fail maps registry errors to HTTP statuses; unexpected errors are logged
// and answered without detail, since they may carry internals.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *registry.ValidationError
	var fc *fieldConflict
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusBadRequest, apiError{Error: ve.Error(), Field: ve.Field})
	case errors.As(err, &fc):
		writeJSON(w, http.StatusConflict, apiError{Error: fc.Error(), Field: fc.field})
	case errors.Is(err, errBadRequest), errors.Is(err, registry.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
	case errors.Is(err, registry.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: err.Error()})
	case errors.Is(err, registry.ErrConflict), errors.Is(err, registry.ErrInUse), errors.Is(err, registry.ErrExhausted):
		writeJSON(w, http.StatusConflict, apiError{Error: plain(err)})
	case errors.Is(err, registry.ErrUnauthenticated):
		writeJSON(w, http.StatusUnauthorized, apiError{Error: err.Error()})
	case errors.Is(err, errForbidden):
		writeJSON(w, http.StatusForbidden, apiError{Error: err.Error()})
	default:
		s.opt.Logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{Error: "internal error (see the daemon's log)"})
	}
}

// plain drops the sentinel's name that wrapping leaves at the end of a
// message ("...overlaps 198.51.100.0/25: conflict"): the status code says it.
func plain(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{registry.ErrConflict, registry.ErrInUse} {
		msg = strings.TrimSuffix(msg, ": "+sentinel.Error())
	}
	return msg
}

var (
	errBadRequest = errors.New("bad request")
	errForbidden  = errors.New("forbidden")
)

// decode reads a JSON body strictly: an unknown field is a typo to report,
// not something to ignore.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("empty request body: %w", errBadRequest)
		}
		return fmt.Errorf("request body: %v: %w", err, errBadRequest)
	}
	if dec.More() {
		return fmt.Errorf("request body: more than one JSON value: %w", errBadRequest)
	}
	return nil
}

// createFrom is the handler of a plain creation: decode an I, have create
// make a T for the caller, answer 201 with it and, when location is not
// nil, where to find it.
func createFrom[I, T any](s *Server, create func(context.Context, registry.Actor, I) (T, error), location func(*T) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in I
		if err := decode(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		obj, err := create(r.Context(), callerOf(r).actor, in)
		if err != nil {
			s.fail(w, r, explainConflict(err, in))
			return
		}
		if location != nil {
			w.Header().Set("Location", location(&obj))
		}
		writeJSON(w, http.StatusCreated, obj)
	}
}
