package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"

	"maillon/internal/registry"
)

// resource describes one registry collection so that its five routes and
// their OpenAPI entries are written once.
type resource[T, I any] struct {
	path      string // collection path segment, e.g. "members"
	name      string // singular, for messages and docs
	refHelp   string // what {ref} accepts
	list      func(ctx context.Context, r registry.Reader, q url.Values, opt registry.ListOptions) ([]T, error)
	find      func(ctx context.Context, ref string) (T, error)
	id        func(*T) int64
	create    func(context.Context, registry.Actor, I) (T, error)
	update    func(context.Context, registry.Actor, int64, I) (T, error)
	delete    func(context.Context, registry.Actor, int64) error
	adminOnly bool // writes need the admin role, not only technical-officer
	queries   []string
	// present completes an object before it is sent (computed fields).
	present func(*T)
	// updated acts on what an edit changed beyond the registry (a line
	// taken out of service is disconnected) and returns what to answer
	// instead of the object, or nil. It needs change.
	updated func(ctx context.Context, before, after *T) *editReport
	// edited is the type of what updated answers, for the API's
	// description; nil when the object itself is answered.
	edited reflect.Type
	// change is update returning the object as the update's transaction
	// read it, for updated: read apart, it may be stale by then.
	change func(context.Context, registry.Actor, int64, I) (before, after T, err error)
}

// edit updates the object id and returns it, with what updated did
// beyond the registry, judged on the object as the update's own
// transaction read it.
func (res *resource[T, I]) edit(ctx context.Context, a registry.Actor, id int64, in I) (T, *editReport, error) {
	if res.updated == nil {
		after, err := res.update(ctx, a, id, in)
		return after, nil, err
	}
	before, after, err := res.change(ctx, a, id, in)
	if err != nil {
		return after, nil, err
	}
	return after, res.updated(ctx, &before, res.show(&after)), nil
}

func (res *resource[T, I]) show(obj *T) *T {
	if res.present != nil {
		res.present(obj)
	}
	return obj
}

type listResponse[T any] struct {
	Items []T `json:"items"`
}

func register[T, I any](s *Server, res resource[T, I]) {
	if res.updated != nil && res.change == nil {
		panic("web: resource " + res.path + " has updated without change")
	}
	base := "/api/v1/" + res.path
	item := base + "/{ref}"
	var t T
	var in I
	typ, inTyp := reflect.TypeOf(t), reflect.TypeOf(in)
	addUIEntity(s, res)

	s.handle("GET "+base, "List "+res.path, nil, reflect.TypeOf(listResponse[T]{}), append([]string{"search", "state", "limit", "offset"}, res.queries...),
		func(w http.ResponseWriter, r *http.Request) {
			opt, err := listOptions(r.URL.Query())
			if err != nil {
				s.fail(w, r, err)
				return
			}
			var items []T
			err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				var err error
				items, err = res.list(r.Context(), rd, r.URL.Query(), opt)
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if items == nil {
				items = []T{}
			}
			for i := range items {
				res.show(&items[i])
			}
			writeJSON(w, http.StatusOK, listResponse[T]{Items: items})
		})
	s.handle("POST "+base, "Create a "+res.name, inTyp, typ, nil, func(w http.ResponseWriter, r *http.Request) {
		if res.adminOnly && !callerOf(r).isAdmin() {
			s.fail(w, r, fmt.Errorf("only admins may change %s: %w", res.path, errForbidden))
			return
		}
		var in I
		if err := decode(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		obj, err := res.create(r.Context(), callerOf(r).actor, in)
		if err != nil {
			s.fail(w, r, explainConflict(err, in))
			return
		}
		w.Header().Set("Location", base+"/"+strconv.FormatInt(res.id(&obj), 10))
		writeJSON(w, http.StatusCreated, res.show(&obj))
	})
	s.handle("GET "+item, "Show a "+res.name+" ("+res.refHelp+")", nil, typ, nil, func(w http.ResponseWriter, r *http.Request) {
		obj, err := res.find(r.Context(), r.PathValue("ref"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, res.show(&obj))
	})
	patched := typ
	if res.edited != nil {
		patched = res.edited
	}
	s.handle("PATCH "+item, "Edit a "+res.name+"; absent fields are left as they are", inTyp, patched, nil, func(w http.ResponseWriter, r *http.Request) {
		if res.adminOnly && !callerOf(r).isAdmin() {
			s.fail(w, r, fmt.Errorf("only admins may change %s: %w", res.path, errForbidden))
			return
		}
		obj, err := res.find(r.Context(), r.PathValue("ref"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var in I
		if err := decode(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
		obj, rep, err := res.edit(r.Context(), callerOf(r).actor, res.id(&obj), in)
		if err != nil {
			s.fail(w, r, explainConflict(err, in))
			return
		}
		if rep != nil {
			writeJSON(w, http.StatusOK, rep.body)
			return
		}
		writeJSON(w, http.StatusOK, res.show(&obj))
	})
	s.handle("DELETE "+item, "Delete a "+res.name, nil, nil, nil, func(w http.ResponseWriter, r *http.Request) {
		if res.adminOnly && !callerOf(r).isAdmin() {
			s.fail(w, r, fmt.Errorf("only admins may change %s: %w", res.path, errForbidden))
			return
		}
		obj, err := res.find(r.Context(), r.PathValue("ref"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := res.delete(r.Context(), callerOf(r).actor, res.id(&obj)); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handle registers an authenticated API route and documents it.
func (s *Server) handle(pattern, summary string, body, resp reflect.Type, queries []string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, s.authenticate(h))
	s.api.add(pattern, summary, body, resp, queries)
}

func listOptions(q url.Values) (registry.ListOptions, error) {
	opt := registry.ListOptions{Search: q.Get("search"), State: q.Get("state")}
	for name, dst := range map[string]*int{"limit": &opt.Limit, "offset": &opt.Offset} {
		n, err := nonNegative(q, name, 0)
		if err != nil {
			return opt, err
		}
		*dst = int(n)
	}
	return opt, nil
}

// nonNegative reads a count, offset or cursor of the query, absent when
// it is not given: every list of the API refuses a bad one alike.
func nonNegative(q url.Values, name string, absent int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return absent, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q is not a non-negative number: %w", name, v, errBadRequest)
	}
	return n, nil
}

func queryID(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q is not an id: %w", name, v, errBadRequest)
	}
	return n, nil
}
