package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"maillon/internal/registry"
)

// uiEntity is one registry collection as the admin pages see it, made by
// register from the API's resource so both share find, create, update and
// delete.
type uiEntity struct {
	path, name string
	adminOnly  bool
	input      reflect.Type
	list       func(ctx context.Context, search string, limit, offset int) ([]any, error)
	get        func(ctx context.Context, id int64) (any, error)
	find       func(ctx context.Context, ref string) (int64, error)
	create     func(ctx context.Context, a registry.Actor, in any) (int64, error)
	// update returns what the edit did beyond the registry, or nil.
	update func(ctx context.Context, a registry.Actor, id int64, in any) (*editReport, error)
	delete func(ctx context.Context, a registry.Actor, id int64) error
}

// addUIEntity is called by register for every API resource.
func addUIEntity[T, I any](s *Server, res resource[T, I]) {
	e := &uiEntity{path: res.path, name: res.name, adminOnly: res.adminOnly, input: reflect.TypeFor[I]()}
	e.list = func(ctx context.Context, search string, limit, offset int) ([]any, error) {
		var items []T
		err := s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
			var err error
			items, err = res.list(ctx, rd, url.Values{}, registry.ListOptions{Search: search, Limit: limit, Offset: offset})
			return err
		})
		out := make([]any, len(items))
		for i := range items {
			out[i] = res.show(&items[i])
		}
		return out, err
	}
	e.get = func(ctx context.Context, id int64) (any, error) {
		obj, err := res.find(ctx, strconv.FormatInt(id, 10))
		if err != nil {
			return nil, err
		}
		if res.id(&obj) != id {
			return nil, registry.NotFound(res.name, id)
		}
		return res.show(&obj), nil
	}
	e.find = func(ctx context.Context, ref string) (int64, error) {
		obj, err := res.find(ctx, ref)
		return res.id(&obj), err
	}
	e.create = func(ctx context.Context, a registry.Actor, in any) (int64, error) {
		obj, err := res.create(ctx, a, *in.(*I))
		return res.id(&obj), explainConflict(err, in)
	}
	e.update = func(ctx context.Context, a registry.Actor, id int64, in any) (*editReport, error) {
		_, rep, err := res.edit(ctx, a, id, *in.(*I))
		return rep, explainConflict(err, in)
	}
	e.delete = res.delete
	if s.entities == nil {
		s.entities = map[string]*uiEntity{}
	}
	s.entities[res.path] = e
}

// listColumns are the fields a listing shows, by collection.
var listColumns = map[string][]string{
	"members":       {"id", "name", "email", "state", "membership"},
	"subscriptions": {"id", "login", "kind", "state", "member_id"},
	"prefixes":      {"id", "cidr", "purpose", "block_bits", "used", "capacity", "description"},
	"nas":           {"id", "name", "address", "kind", "description"},
	"sites":         {"id", "name", "kind", "address"},
	"hosts":         {"id", "name", "role", "address", "site_id"},
	"ports":         {"id", "host_id", "name", "room", "vlan"},
	"cpes":          {"id", "model", "serial", "mac", "state", "member_id"},
	"admins":        {"id", "name", "email", "roles"},
	"zones":         {"id", "origin", "ttl", "description"},
	"records":       {"id", "zone_id", "name", "type", "data"},
	"components":    {"id", "name", "group", "position", "targets"},
}

// refTargets says which collection an id field points into.
var refTargets = map[string]string{
	"member_id": "members", "site_id": "sites", "cpe_id": "cpes", "port_id": "ports",
	"host_id": "hosts", "zone_id": "zones", "subscription_id": "subscriptions", "prefix_id": "prefixes",
}

// choices are the values a field may take, by "collection.field".
var choices = map[string][]string{
	"members.state":                  {string(registry.MemberActive), string(registry.MemberSuspended), string(registry.MemberArchived)},
	"subscriptions.kind":             {string(registry.KindPPP), string(registry.KindVPN), string(registry.KindRoomPort), string(registry.KindVM)},
	"subscriptions.state":            {string(registry.SubActive), string(registry.SubSuspended), string(registry.SubClosed)},
	"prefixes.purpose":               {string(registry.PurposeAggregate), string(registry.PurposeSubscriber), string(registry.PurposeDelegated), string(registry.PurposeInfrastructure)},
	"prefixes.kind":                  {string(registry.KindPPP), string(registry.KindVPN), string(registry.KindRoomPort), string(registry.KindVM)},
	"nas.kind":                       {string(registry.NASBras), string(registry.NASLac), string(registry.NASOpenVPN), string(registry.NASSwitch), string(registry.NASOther)},
	"nas.message_authenticator":      {string(registry.MessageAuthAuto), string(registry.MessageAuthYes), string(registry.MessageAuthNo)},
	"sites.kind":                     {string(registry.SiteResidence), string(registry.SiteDatacenter), string(registry.SitePOP), string(registry.SiteOther)},
	"cpes.state":                     {string(registry.CPEInStock), string(registry.CPELent), string(registry.CPESold), string(registry.CPEReturned), string(registry.CPEBroken)},
	"admins.roles":                   {string(registry.RoleAdmin), string(registry.RoleTechnicalOfficer), string(registry.RoleReadOnly)},
	"records.type":                   registry.RecordTypes,
	"subscriptions.reply_attributes": nil,
}

// secretFields are never shown; empty keeps the current one.
var secretFields = map[string]bool{"password": true, "secret": true, "device_password": true}

// longFields get a textarea.
var longFields = map[string]bool{"notes": true, "description": true}

type option struct {
	Value, Label string
	Selected     bool
}

// formField is one input of an entity form.
type formField struct {
	Name, Label, Type, Value, Hint, Error, Autocomplete string
	Required, Checked                                   bool
	Options                                             []option
	kind                                                string // how the value is read back (see readForm)
}

// fieldError is a message for the error summary.
type fieldError struct {
	Field, Label, Message string
}

type formData struct {
	Title  string
	Action string
	Cancel string
	Submit string
	Fields []formField
	Errors []fieldError
}

// label is a field's name in the page's language.
func label(lang, key string) string {
	if msg, ok := catalogs[lang]["field."+key]; ok {
		return msg
	}
	if msg, ok := catalogs["en"]["field."+key]; ok {
		return msg
	}
	return strings.ReplaceAll(key, "_", " ")
}

// inputFields describes the form of an entity from its Input type; values
// holds what to show (the object's JSON fields, or what was posted).
func (s *Server) inputFields(e *uiEntity, lang string, values map[string]string, multi map[string][]string, creating bool) []formField {
	var out []formField
	for i := 0; i < e.input.NumField(); i++ {
		f := e.input.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if key == "" || key == "-" {
			continue
		}
		ff := formField{Name: key, Label: label(lang, key), Value: values[key]}
		t := f.Type.Elem() // every Input field is a pointer
		switch {
		case secretFields[key]:
			ff.Type, ff.kind, ff.Value, ff.Autocomplete = "password", "secret", "", "new-password"
			if !creating {
				ff.Hint = translate(lang, "form.secret_kept")
			}
		case refTargets[key] != "":
			ff.Type, ff.kind, ff.Hint = "text", "ref", translate(lang, "form.ref")
		case t.Kind() == reflect.Bool:
			ff.Type, ff.kind, ff.Checked = "checkbox", "bool", values[key] == "true"
		case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
			ff.Type, ff.kind = "number", "number"
		case t.Kind() == reflect.Slice && t.Elem() == reflect.TypeFor[registry.Period]():
			ff.Type, ff.kind, ff.Hint = "textarea", "periods", translate(lang, "form.periods")
		case t.Kind() == reflect.Slice && len(choices[e.path+"."+key]) > 0:
			ff.Type, ff.kind = "checkboxes", "set"
			for _, c := range choices[e.path+"."+key] {
				ff.Options = append(ff.Options, option{Value: c, Label: c, Selected: slices.Contains(multi[key], c)})
			}
		case t.Kind() == reflect.Slice:
			ff.Type, ff.kind, ff.Hint = "textarea", "lines", translate(lang, "form.lines")
		case len(choices[e.path+"."+key]) > 0:
			ff.Type, ff.kind = "select", "text"
			ff.Options = append(ff.Options, option{Value: "", Label: "—"})
			for _, c := range choices[e.path+"."+key] {
				ff.Options = append(ff.Options, option{Value: c, Label: c, Selected: values[key] == c})
			}
		case longFields[key]:
			ff.Type, ff.kind = "textarea", "text"
		case key == "email":
			ff.Type, ff.kind, ff.Autocomplete = "email", "text", "off"
		default:
			ff.Type, ff.kind = "text", "text"
		}
		out = append(out, ff)
	}
	return out
}

// objectValues flattens an object's JSON for a form: scalars as text,
// lists one per line, periods as START:END.
func objectValues(obj any) (map[string]string, map[string][]string) {
	values, multi := map[string]string{}, map[string][]string{}
	b, _ := json.Marshal(obj)
	var m map[string]any
	json.Unmarshal(b, &m)
	for k, v := range m {
		switch x := v.(type) {
		case []any:
			var lines []string
			for _, item := range x {
				if p, ok := item.(map[string]any); ok && k == "periods" {
					end, _ := p["end"].(string)
					lines = append(lines, fmt.Sprintf("%v:%s", p["start"], end))
					continue
				}
				if m, ok := item.(map[string]any); ok {
					if t := targetText(m); t != "" {
						lines = append(lines, t)
					}
					continue
				}
				lines = append(lines, fmt.Sprint(item))
			}
			values[k] = strings.Join(lines, "\n")
			multi[k] = lines
		default:
			values[k] = cellText(v)
		}
	}
	return values, multi
}

// cellText prints a JSON value for a table cell.
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, item := range x {
			if m, ok := item.(map[string]any); ok {
				if t := targetText(m); t != "" {
					parts = append(parts, t)
					continue
				}
				b, _ := json.Marshal(item)
				parts = append(parts, string(b))
				continue
			}
			parts = append(parts, cellText(item))
		}
		return strings.Join(parts, ", ")
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// targetText writes a status component's target as its form takes it
// ("site:3", "service:vpn"); "" for anything else.
func targetText(m map[string]any) string {
	kind, _ := m["kind"].(string)
	if kind == "" {
		return ""
	}
	if svc, ok := m["service"].(string); ok && svc != "" {
		return kind + ":" + svc
	}
	if id, ok := m["id"].(float64); ok {
		return kind + ":" + strconv.FormatFloat(id, 'f', -1, 64)
	}
	return ""
}

// readForm turns a posted form into the entity's Input, field by field, so
// that a value that does not parse is reported next to its field. On an
// edit every field is sent (empty clears it), except secrets left empty.
func (s *Server) readForm(ctx context.Context, e *uiEntity, fields []formField, form url.Values, creating bool) (any, []fieldError) {
	in := reflect.New(e.input)
	var errs []fieldError
	bad := func(f formField, msg string) {
		errs = append(errs, fieldError{Field: f.Name, Label: f.Label, Message: msg})
	}
	for _, f := range fields {
		raw := strings.TrimSpace(form.Get(f.Name))
		var value any
		switch f.kind {
		case "secret":
			if form.Get(f.Name) == "" {
				continue
			}
			value = form.Get(f.Name)
		case "text":
			if raw == "" && creating {
				continue
			}
			value = raw
		case "number":
			if raw == "" {
				continue
			}
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				bad(f, fmt.Sprintf("%q is not a number", raw))
				continue
			}
			value = n
		case "ref":
			if raw == "" {
				if creating {
					continue
				}
				value = 0
				break
			}
			target := s.entities[refTargets[f.Name]]
			id, err := strconv.ParseInt(raw, 10, 64)
			if err != nil && target != nil {
				id, err = target.find(ctx, raw)
			}
			if err != nil {
				bad(f, fmt.Sprintf("%q was not found", raw))
				continue
			}
			value = id
		case "bool":
			if !form.Has(f.Name) && creating {
				continue
			}
			value = form.Get(f.Name) == "true"
		case "lines", "set":
			var items []string
			if f.kind == "set" {
				items = form[f.Name]
			} else {
				for _, l := range strings.Split(form.Get(f.Name), "\n") {
					if l = strings.TrimSpace(l); l != "" {
						items = append(items, l)
					}
				}
			}
			if len(items) == 0 && creating {
				continue
			}
			if items == nil {
				items = []string{}
			}
			value = items
		case "periods":
			var ps []map[string]any
			ok := true
			for _, l := range strings.Split(form.Get(f.Name), "\n") {
				if l = strings.TrimSpace(l); l == "" {
					continue
				}
				start, end, found := strings.Cut(l, ":")
				if !found {
					bad(f, fmt.Sprintf("%q is not START:END", l))
					ok = false
					break
				}
				p := map[string]any{"start": strings.TrimSpace(start)}
				if end = strings.TrimSpace(end); end != "" {
					p["end"] = end
				}
				ps = append(ps, p)
			}
			if !ok || (len(ps) == 0 && creating) {
				continue
			}
			if ps == nil {
				ps = []map[string]any{}
			}
			value = ps
		}
		b, _ := json.Marshal(value)
		field := in.Elem().FieldByIndex(fieldIndex(e.input, f.Name))
		ptr := reflect.New(field.Type().Elem())
		if err := json.Unmarshal(b, ptr.Interface()); err != nil {
			var te *json.UnmarshalTypeError
			msg := err.Error()
			if errors.As(err, &te) {
				msg = fmt.Sprintf("%q is not a valid %s", raw, f.Label)
			}
			bad(f, msg)
			continue
		}
		field.Set(ptr)
	}
	return in.Interface(), errs
}

func fieldIndex(t reflect.Type, key string) []int {
	for i := 0; i < t.NumField(); i++ {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); k == key {
			return t.Field(i).Index
		}
	}
	panic("web: no input field " + key)
}

// formErrors places a registry error: a validation error next to its
// field, anything else in the summary.
func formErrors(lang string, fields []formField, err error) []fieldError {
	var fc *fieldConflict
	if errors.As(err, &fc) {
		for _, f := range fields {
			if f.Name == fc.field {
				return []fieldError{{Field: f.Name, Label: f.Label, Message: translate(lang, "form.taken", fc.value)}}
			}
		}
	}
	var ve *registry.ValidationError
	if errors.As(err, &ve) {
		for _, f := range fields {
			if f.Name == ve.Field {
				return []fieldError{{Field: f.Name, Label: f.Label, Message: ve.Message}}
			}
		}
		if ve.Field != "" {
			return []fieldError{{Label: label(lang, ve.Field), Message: ve.Message}}
		}
		return []fieldError{{Message: ve.Message}}
	}
	return []fieldError{{Message: plain(err)}}
}

func attachErrors(fields []formField, errs []fieldError) {
	for i := range fields {
		for _, e := range errs {
			if e.Field == fields[i].Name {
				fields[i].Error = e.Message
			}
		}
	}
}

// postedValues is what was typed, to show the form again after an error.
func postedValues(form url.Values) (map[string]string, map[string][]string) {
	values, multi := map[string]string{}, map[string][]string{}
	for k, v := range form {
		if len(v) > 0 {
			values[k] = v[0]
		}
		multi[k] = v
	}
	return values, multi
}

func init() { uiRoutes = append(uiRoutes, (*Server).entityRoutes) }

// entityRoutes gives every registry collection a list, a page, and (for
// admins who may write) create, edit and delete forms. Members and lines
// have richer pages of their own (admin_member.go).
func (s *Server) entityRoutes() {
	for path, e := range s.entities {
		base := "/admin/" + path
		s.mux.HandleFunc("GET "+base, s.requireAdmin(func(w http.ResponseWriter, r *http.Request) { s.entityList(w, r, e) }))
		s.mux.HandleFunc("GET "+base+"/new", s.requireAdmin(func(w http.ResponseWriter, r *http.Request) { s.entityNew(w, r, e) }))
		s.mux.HandleFunc("POST "+base, s.requireWriter(func(w http.ResponseWriter, r *http.Request) { s.entitySave(w, r, e, 0) }))
		if path != "members" && path != "subscriptions" {
			s.mux.HandleFunc("GET "+base+"/{id}", s.requireAdmin(func(w http.ResponseWriter, r *http.Request) { s.entityShow(w, r, e) }))
		}
		s.mux.HandleFunc("GET "+base+"/{id}/edit", s.requireAdmin(func(w http.ResponseWriter, r *http.Request) { s.entityEdit(w, r, e) }))
		s.mux.HandleFunc("POST "+base+"/{id}", s.requireWriter(func(w http.ResponseWriter, r *http.Request) {
			id, ok := s.pathID(w, r)
			if ok {
				s.entitySave(w, r, e, id)
			}
		}))
		s.mux.HandleFunc("POST "+base+"/{id}/delete", s.requireWriter(func(w http.ResponseWriter, r *http.Request) { s.entityDelete(w, r, e) }))
	}
}

// mayChange reports whether the session may change this collection.
func (e *uiEntity) mayChange(sess *Session) bool {
	return sess.CanWrite() && (!e.adminOnly || sess.FullAdmin())
}

func (s *Server) pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return 0, false
	}
	return id, true
}

type listData struct {
	Path, Name, Search string
	Columns            []string // labels
	Rows               []listRow
	CanCreate          bool
	Prev, Next         string
	Empty              bool
}

type listRow struct {
	Link  string
	Cells []string
}

const pageSize = 50

func (s *Server) entityList(w http.ResponseWriter, r *http.Request, e *uiEntity) {
	q := r.URL.Query()
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(offset, 0)
	search := strings.TrimSpace(q.Get("search"))
	items, err := e.list(r.Context(), search, pageSize+1, offset)
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	lang := s.lang(r)
	d := listData{Path: e.path, Name: e.path, Search: search, CanCreate: e.mayChange(sessionFrom(r)), Empty: len(items) == 0}
	cols := listColumns[e.path]
	for _, c := range cols {
		d.Columns = append(d.Columns, label(lang, c))
	}
	if len(items) > pageSize {
		items = items[:pageSize]
		d.Next = pageLink(e.path, search, offset+pageSize)
	}
	if offset > 0 {
		d.Prev = pageLink(e.path, search, max(offset-pageSize, 0))
	}
	for _, it := range items {
		values, _ := objectValues(it)
		row := listRow{Link: "/admin/" + e.path + "/" + values["id"]}
		for _, c := range cols {
			row.Cells = append(row.Cells, values[c])
		}
		d.Rows = append(d.Rows, row)
	}
	s.render(w, r, "admin_list.html", d)
}

func pageLink(path, search string, offset int) string {
	v := url.Values{}
	if search != "" {
		v.Set("search", search)
	}
	if offset > 0 {
		v.Set("offset", strconv.Itoa(offset))
	}
	if len(v) == 0 {
		return "/admin/" + path
	}
	return "/admin/" + path + "?" + v.Encode()
}

type showData struct {
	Path, Name, Title string
	ID                int64
	Props             []prop
	CanChange         bool
	Audit             []auditRow
}

type prop struct {
	Label, Value, Link string
}

// props lists an object's fields for a page, ids linked to their pages.
func props(lang string, obj any) []prop {
	values, _ := objectValues(obj)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []prop
	for _, k := range keys {
		p := prop{Label: label(lang, k), Value: values[k]}
		if t := refTargets[k]; t != "" && p.Value != "" && p.Value != "0" {
			p.Link = "/admin/" + t + "/" + p.Value
		}
		out = append(out, p)
	}
	return out
}

// auditEntity is the audit log's name for a collection.
var auditEntity = map[string]string{"members": "member", "subscriptions": "subscription", "prefixes": "prefix", "nas": "nas",
	"sites": "site", "hosts": "host", "ports": "port", "cpes": "cpe", "admins": "admin", "zones": "zone", "records": "record"}

func (s *Server) entityShow(w http.ResponseWriter, r *http.Request, e *uiEntity) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	obj, err := e.get(r.Context(), id)
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	entries, err := s.opt.Registry.Audit(r.Context(), registry.AuditFilter{Entity: auditEntity[e.path], EntityID: id, Limit: 50})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	lang := s.lang(r)
	values, _ := objectValues(obj)
	title := values["name"]
	for _, k := range []string{"login", "cidr", "origin", "serial"} {
		if title == "" {
			title = values[k]
		}
	}
	s.render(w, r, "admin_show.html", showData{Path: e.path, Name: e.path, Title: title, ID: id, Props: props(lang, obj),
		CanChange: e.mayChange(sessionFrom(r)), Audit: auditRows(entries)})
}

func (s *Server) entityNew(w http.ResponseWriter, r *http.Request, e *uiEntity) {
	if !e.mayChange(sessionFrom(r)) {
		s.renderError(w, r, http.StatusForbidden, "error.readonly")
		return
	}
	lang := s.lang(r)
	values, multi := postedValues(r.URL.Query()) // links may prefill: /admin/subscriptions/new?member_id=3
	s.render(w, r, "admin_form.html", formData{
		Title: translate(lang, "form.new", translate(lang, "entity."+e.path)), Action: "/admin/" + e.path, Cancel: "/admin/" + e.path,
		Submit: "form.create", Fields: s.inputFields(e, lang, values, multi, true),
	})
}

func (s *Server) entityEdit(w http.ResponseWriter, r *http.Request, e *uiEntity) {
	if !e.mayChange(sessionFrom(r)) {
		s.renderError(w, r, http.StatusForbidden, "error.readonly")
		return
	}
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	obj, err := e.get(r.Context(), id)
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	lang := s.lang(r)
	values, multi := objectValues(obj)
	back := "/admin/" + e.path + "/" + strconv.FormatInt(id, 10)
	s.render(w, r, "admin_form.html", formData{
		Title: translate(lang, "form.editing", translate(lang, "entity."+e.path)+" "+strconv.FormatInt(id, 10)), Action: back, Cancel: back,
		Submit: "form.save", Fields: s.inputFields(e, lang, values, multi, false),
	})
}

// entitySave creates (id 0) or updates from a posted form; on a
// validation error the form comes back with what was typed and the
// message next to its field.
func (s *Server) entitySave(w http.ResponseWriter, r *http.Request, e *uiEntity, id int64) {
	sess := sessionFrom(r)
	if !e.mayChange(sess) {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	lang := s.lang(r)
	creating := id == 0
	values, multi := postedValues(r.PostForm)
	fields := s.inputFields(e, lang, values, multi, creating)
	in, errs := s.readForm(r.Context(), e, fields, r.PostForm, creating)
	var err error
	var report *editReport
	if len(errs) == 0 {
		if creating {
			id, err = e.create(r.Context(), sess.Actor(), in)
		} else {
			report, err = e.update(r.Context(), sess.Actor(), id, in)
		}
		if err != nil {
			if !errors.Is(err, registry.ErrInvalid) && !isConflict(err) {
				s.renderFailure(w, r, err)
				return
			}
			errs = formErrors(lang, fields, err)
		}
	}
	if len(errs) > 0 {
		attachErrors(fields, errs)
		d := formData{Action: "/admin/" + e.path, Cancel: "/admin/" + e.path, Submit: "form.create", Fields: fields, Errors: errs,
			Title: translate(lang, "form.new", translate(lang, "entity."+e.path))}
		if !creating {
			d.Action = "/admin/" + e.path + "/" + strconv.FormatInt(id, 10)
			d.Cancel, d.Submit = d.Action, "form.save"
			d.Title = translate(lang, "form.editing", translate(lang, "entity."+e.path)+" "+strconv.FormatInt(id, 10))
		}
		status := http.StatusUnprocessableEntity
		if err != nil && isConflict(err) {
			status = http.StatusConflict
		}
		s.renderStatus(w, r, status, "admin_form.html", d)
		return
	}
	switch {
	case creating:
		s.setFlash(w, r, "form.created")
	case report != nil:
		s.setFlash(w, r, report.flash, report.counts...)
	default:
		s.setFlash(w, r, "form.saved")
	}
	http.Redirect(w, r, "/admin/"+e.path+"/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (s *Server) entityDelete(w http.ResponseWriter, r *http.Request, e *uiEntity) {
	if !e.mayChange(sessionFrom(r)) {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := e.delete(r.Context(), sessionFrom(r).Actor(), id); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.setFlash(w, r, "form.deleted")
	http.Redirect(w, r, "/admin/"+e.path, http.StatusSeeOther)
}
