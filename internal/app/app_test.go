package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

type daemon struct {
	t      *testing.T
	app    *app.App
	base   string
	http   *http.Client
	socket *http.Client
	token  string
}

// start runs a real daemon on a fresh database with :0 ports.
func start(t *testing.T, database string) *daemon {
	t.Helper()
	return startWith(t, database, func(*config.Config) {})
}

// startWith is start with a chance to adjust the configuration.
func startWith(t *testing.T, database string, adjust func(*config.Config), with ...app.Option) *daemon {
	t.Helper()
	cfg := app.LoopbackConfig(t.TempDir(), database)
	adjust(cfg)
	a := apptest.Run(t, cfg, with...)
	ctx := context.Background()
	d := &daemon{t: t, app: a, base: "http://" + a.HTTPAddr(), http: &http.Client{Timeout: 10 * time.Second}}
	d.socket = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", cfg.Listen.Socket)
		},
	}}
	reg := a.Registry()
	admin, err := reg.CreateAdmin(ctx, registry.System, registry.AdminInput{Name: ptr(fmt.Sprintf("root-%d", time.Now().UnixNano())), Email: ptr("root@example.org"), Roles: &[]registry.Role{registry.RoleAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	d.token, _, err = reg.CreateToken(ctx, registry.System, admin.ID, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ptr[T any](v T) *T { return &v }

// do sends a request over HTTP with token (or over the socket when token
// is "socket") and decodes the JSON answer into out.
func (d *daemon) do(method, path, token string, body any, out any) int {
	d.t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	c := d.http
	url := d.base + path
	if token == "socket" {
		c, url = d.socket, "http://maillon"+path
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" && token != "socket" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			d.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

var engines = map[string]func(t *testing.T) string{
	"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "m.db") },
	"postgres": func(t *testing.T) string { return testenv.FreshPostgresDB(t) },
}

func TestAPIEndToEnd(t *testing.T) {
	for name, db := range engines {
		t.Run(name, func(t *testing.T) {
			d := start(t, db(t))
			var health map[string]string
			if code := d.do("GET", "/healthz", "", nil, &health); code != 200 || health["status"] != "ok" {
				t.Fatalf("healthz = %d %v", code, health)
			}
			// No token, no API.
			var e struct{ Error, Field string }
			if code := d.do("GET", "/api/v1/members", "", nil, &e); code != 401 {
				t.Fatalf("members without token = %d", code)
			}
			if code := d.do("GET", "/api/v1/members", "mln_wrong", nil, &e); code != 401 {
				t.Fatalf("members with a wrong token = %d", code)
			}
			for _, p := range []map[string]any{
				{"cidr": "198.51.100.0/24", "purpose": "aggregate"},
				{"cidr": "198.51.100.0/25", "purpose": "subscriber"},
				{"cidr": "2001:db8:100::/40", "purpose": "subscriber"},
				{"cidr": "2001:db8:1000::/36", "purpose": "delegated", "block_bits": 60},
			} {
				if code := d.do("POST", "/api/v1/prefixes", d.token, p, nil); code != 201 {
					t.Fatalf("create prefix %v = %d", p, code)
				}
			}
			var m registry.Member
			if code := d.do("POST", "/api/v1/members", d.token, map[string]any{"name": "Ada", "email": "ada@example.org", "periods": []any{map[string]string{"start": "2026-01-01"}}}, &m); code != 201 {
				t.Fatalf("create member = %d", code)
			}
			// Over the socket, no token: attributed to the local user.
			var s registry.Subscription
			if code := d.do("POST", "/api/v1/subscriptions", "socket", map[string]any{"member_id": m.ID, "kind": "ppp", "login": "ada@DEMO", "password": "ada-password"}, &s); code != 201 {
				t.Fatalf("create subscription over the socket = %d", code)
			}
			if len(s.Addresses) != 3 {
				t.Fatalf("subscription addresses = %+v", s.Addresses)
			}
			var raw map[string]any
			d.do("GET", "/api/v1/subscriptions/ada@DEMO", d.token, nil, &raw)
			if _, leaked := raw["password"]; leaked || raw["password_set"] != true {
				t.Fatalf("subscription JSON = %v", raw)
			}
			var found registry.Member
			ip := s.Addresses[0].Block.Addr().String()
			if code := d.do("GET", "/api/v1/members/"+ip, d.token, nil, &found); code != 200 || found.ID != m.ID {
				t.Fatalf("member by IP %s = %d %+v", ip, code, found)
			}
			if found.Membership != registry.MembershipCurrent {
				t.Fatalf("member shown with membership %q", found.Membership)
			}
			// Bad input: a clear message naming the field, nothing written.
			if code := d.do("POST", "/api/v1/members", d.token, map[string]any{"name": "X", "email": "nope"}, &e); code != 400 || e.Field != "email" {
				t.Fatalf("bad email = %d %+v", code, e)
			}
			if code := d.do("POST", "/api/v1/members", d.token, map[string]any{"name": "X", "emial": "x@example.org"}, &e); code != 400 || !strings.Contains(e.Error, "emial") {
				t.Fatalf("unknown field = %d %+v", code, e)
			}
			if code := d.do("DELETE", "/api/v1/members/ada@example.org", d.token, nil, &e); code != 409 || !strings.Contains(e.Error, "ada@DEMO") {
				t.Fatalf("delete member with a line = %d %+v", code, e)
			}
			if code := d.do("POST", "/api/v1/prefixes", d.token, map[string]any{"cidr": "198.51.100.64/26", "purpose": "subscriber"}, &e); code != 409 || strings.HasSuffix(e.Error, "conflict") {
				t.Fatalf("overlapping prefix = %d %+v", code, e)
			}
			var list struct{ Items []registry.Member }
			d.do("GET", "/api/v1/members?search=ada", d.token, nil, &list)
			if len(list.Items) != 1 {
				t.Fatalf("member list = %+v", list)
			}
			// Audit: who did what, over which channel.
			var audit struct{ Items []registry.AuditEntry }
			d.do("GET", "/api/v1/audit?entity=subscription", d.token, nil, &audit)
			if len(audit.Items) != 1 || !strings.HasPrefix(audit.Items[0].Actor, "local:") {
				t.Fatalf("audit = %+v", audit.Items)
			}
			// A read-only admin reads but does not write.
			var ro registry.Admin
			d.do("POST", "/api/v1/admins", d.token, map[string]any{"name": "viewer", "email": "v@example.org", "roles": []string{"read-only"}}, &ro)
			var tok struct{ Token string }
			if code := d.do("POST", fmt.Sprintf("/api/v1/admins/%d/tokens", ro.ID), d.token, map[string]any{"name": "t", "ttl": "1d"}, &tok); code != 201 {
				t.Fatalf("token = %d", code)
			}
			if code := d.do("GET", "/api/v1/members", tok.Token, nil, nil); code != 200 {
				t.Fatalf("read-only list = %d", code)
			}
			if code := d.do("POST", "/api/v1/sites", tok.Token, map[string]any{"name": "x"}, &e); code != 403 {
				t.Fatalf("read-only write = %d", code)
			}
			var doc map[string]any
			if code := d.do("GET", "/api/v1/openapi.json", "", nil, &doc); code != 200 || doc["openapi"] != "3.1.0" {
				t.Fatalf("openapi = %d", code)
			}
			paths := doc["paths"].(map[string]any)
			if _, ok := paths["/api/v1/members/{ref}"].(map[string]any)["patch"]; !ok {
				t.Fatalf("openapi lacks PATCH members: %v", paths["/api/v1/members/{ref}"])
			}
			schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
			if _, ok := schemas["SubscriptionInput"].(map[string]any)["properties"].(map[string]any)["password"]; !ok {
				t.Fatal("openapi SubscriptionInput lacks password")
			}
			if _, ok := schemas["Subscription"].(map[string]any)["properties"].(map[string]any)["SealedPassword"]; ok {
				t.Fatal("openapi documents the sealed password")
			}
			// Embedded structs are inlined, as encoding/json does.
			props := func(schema string) map[string]any {
				s, _ := schemas[schema].(map[string]any)
				p, _ := s["properties"].(map[string]any)
				return p
			}
			if c := props("Check"); c["url"] == nil || c["name"] == nil || c["CheckProbe"] != nil {
				t.Fatalf("openapi Check: %v", c)
			}
			// Editing a line answers the line and what its NAS said.
			patch := paths["/api/v1/subscriptions/{ref}"].(map[string]any)["patch"].(map[string]any)
			if ref := fmt.Sprint(patch["responses"]); !strings.Contains(ref, "lineEdit") {
				t.Fatalf("openapi PATCH subscriptions answers %s", ref)
			}
			if e := props("lineEdit"); e["disconnects"] == nil || e["login"] == nil {
				t.Fatalf("openapi lineEdit: %v", e)
			}
			resp, err := http.Get(d.base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), "maillon_http_requests_total") {
				t.Fatal("metrics lack request counters")
			}
		})
	}
}

func TestImportIsAllOrNothing(t *testing.T) {
	d := start(t, filepath.Join(t.TempDir(), "m.db"))
	good := "name,email\nAda,ada@example.org\nGrace,grace@example.org\n"
	bad := "name,email\nLinus,linus@example.org\nBroken,not-an-email\n"
	var last map[string]any
	readStream := func(body string) map[string]any {
		req, _ := http.NewRequest("POST", d.base+"/api/v1/import/members", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+d.token)
		resp, err := d.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		for {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				break
			}
			last = m
		}
		return last
	}
	if r := readStream(good); r["ok"] != true || r["created"] != float64(2) {
		t.Fatalf("good import = %v", r)
	}
	if r := readStream(bad); r["line"] != float64(3) || !strings.Contains(fmt.Sprint(r["error"]), "line 3") {
		t.Fatalf("bad import = %v", r)
	}
	var list struct{ Items []registry.Member }
	d.do("GET", "/api/v1/members", d.token, nil, &list)
	if len(list.Items) != 2 {
		t.Fatalf("after a failed import there are %d members, want 2", len(list.Items))
	}
}

// Stopping a daemon at once, before its first RADIUS snapshot and DNS zones
// are built, is a clean stop, not a failure.
func TestStopWhileStarting(t *testing.T) {
	for name, db := range engines {
		t.Run(name, func(t *testing.T) {
			for range 3 {
				cfg := app.LoopbackConfig(t.TempDir(), db(t))
				ctx, cancel := context.WithCancel(context.Background())
				a, err := app.New(ctx, cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- a.Run(ctx) }()
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("daemon stopped with %v", err)
				}
				a.Close()
			}
		})
	}
}
