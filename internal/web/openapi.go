package web

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"time"

	"maillon/internal/registry"
)

// apiDoc builds the OpenAPI 3.1 document from the routes as they are
// registered and from the Go types they read and write, so the document
// cannot drift from the code.
type apiDoc struct {
	mu      sync.Mutex
	version string
	paths   map[string]map[string]any
	schemas map[string]any
}

func newAPIDoc(version string) *apiDoc {
	if version == "" {
		version = "dev"
	}
	return &apiDoc{version: version, paths: map[string]map[string]any{}, schemas: map[string]any{}}
}

func (d *apiDoc) add(pattern, summary string, body, resp reflect.Type, queries []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	method, path, _ := strings.Cut(pattern, " ")
	op := map[string]any{"summary": summary, "security": []any{map[string]any{"bearer": []any{}}}}
	var params []any
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") {
			params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
	}
	for _, q := range queries {
		params = append(params, map[string]any{"name": q, "in": "query", "schema": map[string]any{"type": "string"}})
	}
	if params != nil {
		op["parameters"] = params
	}
	if body != nil {
		ct := "application/json"
		if body.Kind() == reflect.String {
			ct = "text/csv"
		}
		op["requestBody"] = map[string]any{"required": true, "content": map[string]any{ct: map[string]any{"schema": d.schema(body)}}}
	}
	responses := map[string]any{
		"default": map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{"schema": d.schema(reflect.TypeOf(apiError{}))}}},
	}
	switch {
	case resp == nil:
		responses["204"] = map[string]any{"description": "done"}
	case method == "POST" && body != nil && body.Kind() != reflect.String:
		responses["201"] = map[string]any{"description": "created", "content": map[string]any{"application/json": map[string]any{"schema": d.schema(resp)}}}
	default:
		responses["200"] = map[string]any{"description": "ok", "content": map[string]any{"application/json": map[string]any{"schema": d.schema(resp)}}}
	}
	op["responses"] = responses
	if d.paths[path] == nil {
		d.paths[path] = map[string]any{}
	}
	d.paths[path][strings.ToLower(method)] = op
}

var (
	timeType   = reflect.TypeOf(time.Time{})
	prefixType = reflect.TypeOf(netip.Prefix{})
	addrType   = reflect.TypeOf(netip.Addr{})
	dateType   = reflect.TypeOf(registry.Date{})
	moneyType  = reflect.TypeOf(registry.Money(0))
	rawType    = reflect.TypeOf(json.RawMessage{})
)

func (d *apiDoc) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case prefixType:
		return map[string]any{"type": "string", "description": "CIDR prefix, e.g. 198.51.100.0/24"}
	case addrType:
		return map[string]any{"type": "string", "description": "IP address"}
	case dateType:
		return map[string]any{"type": "string", "format": "date"}
	case moneyType:
		return map[string]any{"type": "string", "description": "amount with two decimals, e.g. 42.50"}
	case rawType:
		return map[string]any{"description": "any JSON value"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": d.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": d.schema(t.Elem())}
	case reflect.Struct:
		name := schemaName(t)
		if _, ok := d.schemas[name]; !ok {
			d.schemas[name] = map[string]any{} // break recursion
			props := map[string]any{}
			d.properties(t, props)
			d.schemas[name] = map[string]any{"type": "object", "properties": props}
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// properties adds a struct's JSON fields to props, those of an embedded
// struct without a JSON name among them, as encoding/json inlines them.
func (d *apiDoc) properties(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		fname, _, _ := strings.Cut(tag, ",")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous && fname == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				d.properties(ft, props)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if fname == "" {
			fname = f.Name
		}
		props[fname] = d.schema(f.Type)
	}
}

// schemaName makes a component name from a Go type, generic ones included
// (listResponse[maillon/internal/registry.Member] → listResponse_Member).
func schemaName(t reflect.Type) string {
	n := t.Name()
	if i := strings.IndexByte(n, '['); i >= 0 {
		arg := n[i+1 : len(n)-1]
		if j := strings.LastIndexByte(arg, '.'); j >= 0 {
			arg = arg[j+1:]
		}
		n = n[:i] + "_" + arg
	}
	return n
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	d := s.api
	d.mu.Lock()
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "maillon API",
			"version":     d.version,
			"description": "Registry of a community ISP: members, subscriptions, IPAM, NAS, sites, hosts, CPE and admins.",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   d.paths,
		"components": map[string]any{
			"schemas":         d.schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	d.mu.Unlock()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
