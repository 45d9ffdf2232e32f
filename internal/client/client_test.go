package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"maillon/internal/registry"
)

func TestDefaultSocket(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		uid  int
		env  map[string]string
		want string
	}{
		{0, map[string]string{"XDG_RUNTIME_DIR": "/run/user/0"}, "/run/maillon/maillon.sock"},
		{1000, map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/user/1000/maillon/maillon.sock"},
		{1000, nil, "/tmp/maillon-1000/maillon.sock"},
	} {
		if got := defaultSocket(tc.uid, env(tc.env)); got != tc.want {
			t.Errorf("defaultSocket(%d, %v) = %q, want %q", tc.uid, tc.env, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	env := map[string]string{EnvURL: "https://isp.example/", EnvToken: "mln_env"}
	getenv := func(k string) string { return env[k] }

	got, err := Resolve(Options{}, getenv)
	if err != nil || got.URL != "https://isp.example/" || got.Token != "mln_env" || got.Socket != "" {
		t.Errorf("env only: %+v, %v", got, err)
	}
	// A socket flag beats MAILLON_URL: the flag is the more specific wish.
	got, err = Resolve(Options{Socket: "/s"}, getenv)
	if err != nil || got.Socket != "/s" || got.URL != "" {
		t.Errorf("socket flag: %+v, %v", got, err)
	}
	got, err = Resolve(Options{URL: "http://x", Token: "mln_flag"}, getenv)
	if err != nil || got.URL != "http://x" || got.Token != "mln_flag" {
		t.Errorf("url and token flags: %+v, %v", got, err)
	}
	if _, err := Resolve(Options{Socket: "/s", URL: "http://x"}, getenv); err == nil {
		t.Error("--socket with --url: no error")
	}
	env[EnvSocket] = "/env.sock"
	if _, err := Resolve(Options{}, getenv); err == nil || !strings.Contains(err.Error(), "MAILLON_SOCKET and MAILLON_URL") {
		t.Errorf("both variables: %v", err)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"isp.example", "ftp://isp.example", "http://"} {
		if _, err := New(Options{URL: u}); err == nil {
			t.Errorf("New(URL %q): no error", u)
		}
	}
}

// serveHTTP serves h over HTTP and returns a client for it, without token.
func serveHTTP(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serveUnix serves h on a unix socket in a temp dir and returns its path.
func serveUnix(t *testing.T, h http.Handler) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "maillon.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return path
}

func TestGetOverSocketEscapesRefAndSendsNoToken(t *testing.T) {
	var gotPath, gotAuth string
	sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotAuth = r.URL.EscapedPath(), r.Header.Get("Authorization")
		json.NewEncoder(w).Encode(registry.Subscription{ID: 7, Login: "a/b@ISP"})
	}))
	c, err := New(Options{Socket: sock, Token: "mln_unused"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Get(context.Background(), c, Subscriptions, "a/b@ISP")
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID != 7 || gotPath != "/api/v1/subscriptions/a%2Fb@ISP" || gotAuth != "" {
		t.Errorf("got %+v at %q with Authorization %q", sub, gotPath, gotAuth)
	}
}

func TestURLSendsTokenAndQuery(t *testing.T) {
	var gotQuery, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery, gotAuth = r.URL.RawQuery, r.Header.Get("Authorization")
		w.Write([]byte(`{"items": [{"id": 1, "login": "x@R"}, {"id": 2, "login": "y@R"}]}`))
	}))
	defer srv.Close()
	c, err := New(Options{URL: srv.URL + "/", Token: "mln_t", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	subs, err := List(context.Background(), c, Subscriptions, ListOptions{MemberID: 3, Kind: "ppp", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 || subs[1].Login != "y@R" {
		t.Errorf("items = %+v", subs)
	}
	if gotQuery != "kind=ppp&limit=10&member_id=3" || gotAuth != "Bearer mln_t" {
		t.Errorf("query %q, Authorization %q", gotQuery, gotAuth)
	}
}

func TestCreateAndUpdateSendOnlySetFields(t *testing.T) {
	var method, body string
	c := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		method, body = r.Method+" "+r.URL.Path, string(b)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id": 5, "name": "Alice", "email": "a@example.org", "state": "active", "periods": []}`))
	})
	ctx := context.Background()
	name := "Alice"
	m, err := Create(ctx, c, Members, registry.MemberInput{Name: &name})
	if err != nil || m.ID != 5 {
		t.Fatalf("create: %+v, %v", m, err)
	}
	if method != "POST /api/v1/members" || body != `{"name":"Alice"}` {
		t.Errorf("create sent %s %s", method, body)
	}
	state := registry.MemberSuspended
	if _, err := Update(ctx, c, Members, "a@example.org", registry.MemberInput{State: &state}); err != nil {
		t.Fatal(err)
	}
	if method != "PATCH /api/v1/members/a@example.org" || body != `{"state":"suspended"}` {
		t.Errorf("update sent %s %s", method, body)
	}
}

func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   APIError
	}{
		{"validation", 400, `{"error": "email: \"x\" is not an email address", "field": "email"}`,
			APIError{400, `email: "x" is not an email address`, "email"}},
		{"conflict", 409, `{"error": "member 3 (Alice) still has active subscription a@R: close it first: in use"}`,
			APIError{409, "member 3 (Alice) still has active subscription a@R: close it first: in use", ""}},
		{"proxy", 502, "<html>\nBad gateway</html>", APIError{502, "502 Bad Gateway: <html>", ""}},
		{"no token", 401, `{"error": "invalid or expired token"}`,
			APIError{401, "an API token is required: use --token or MAILLON_TOKEN", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			})
			err := Delete(context.Background(), c, Members, "3")
			var ae *APIError
			if !errors.As(err, &ae) || *ae != tc.want {
				t.Fatalf("err = %#v, want %#v", err, tc.want)
			}
			if err.Error() != tc.want.Message {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestUnreachableSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	c, _ := New(Options{Socket: sock})
	_, err := Get(context.Background(), c, Members, "1")
	want := "cannot reach maillon at " + sock + `: is "maillon serve" (or "maillon demo") running?`
	var ue *UnreachableError
	if !errors.As(err, &ue) || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestImport(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stream   string
		created  int
		err      string
		progress []int
	}{
		{"ok", `{"done": 1, "total": 3}` + "\n" + `{"done": 3, "total": 3}` + "\n" + `{"ok": true, "created": 3}` + "\n",
			3, "", []int{1, 3}},
		{"line error", `{"total": 40}` + "\n" + `{"error": "line 12: email: \"x\" is not an email address", "line": 12}` + "\n",
			0, `line 12: email: "x" is not an email address`, []int{0}},
		{"line error without prefix", `{"error": "duplicate login a@R", "line": 4}`,
			0, "line 4: duplicate login a@R", nil},
		{"cut", `{"done": 5, "total": 9}` + "\n" + `{"done": 7,`,
			0, "the daemon closed the connection before the result (after 5 of 9 lines)", []int{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotBody, gotType string
			c := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				gotBody, gotType = string(b), r.Header.Get("Content-Type")
				if r.URL.Path != "/api/v1/import/members" {
					w.WriteHeader(404)
					return
				}
				w.Write([]byte(tc.stream))
			})
			var progress []int
			n, err := c.Import(context.Background(), "members", strings.NewReader("name,email\n"), func(done, total int) {
				progress = append(progress, done)
			})
			if n != tc.created || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Import = %d, %v; want %d, %q", n, err, tc.created, tc.err)
			}
			if tc.err != "" && strings.HasPrefix(tc.err, "line") && err.Error() != tc.err {
				t.Errorf("error %q, want exactly %q", err, tc.err)
			}
			if len(progress) != len(tc.progress) {
				t.Errorf("progress %v, want %v", progress, tc.progress)
			}
			if gotBody != "name,email\n" || gotType != "text/csv" {
				t.Errorf("sent %q as %q", gotBody, gotType)
			}
		})
	}
}

func TestImportRefusedBeforeStreaming(t *testing.T) {
	c := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		w.Write([]byte(`{"error": "cannot import \"cpes\" (members or subscriptions): bad request"}`))
	})
	_, err := c.Import(context.Background(), "cpes", strings.NewReader(""), nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Errorf("err = %v", err)
	}
}

func TestTokensAndAudit(t *testing.T) {
	var seen []string
	c := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery+" "+string(b))
		switch {
		case r.Method == "POST":
			w.WriteHeader(201)
			w.Write([]byte(`{"token": "mln_abc", "info": {"id": 4, "admin_id": 1, "name": "laptop"}}`))
		case r.Method == "DELETE":
			w.WriteHeader(204)
		default:
			w.Write([]byte(`{"items": [{"id": 9, "actor": "root", "action": "create", "entity": "member", "entity_id": 3}]}`))
		}
	})
	ctx := context.Background()
	tok, err := c.CreateToken(ctx, "alice@example.org", "laptop", "720h")
	if err != nil || tok.Token != "mln_abc" || tok.Info.ID != 4 {
		t.Fatalf("CreateToken = %+v, %v", tok, err)
	}
	if err := c.RevokeToken(ctx, 4); err != nil {
		t.Fatal(err)
	}
	entries, err := c.Audit(ctx, registry.AuditFilter{Entity: "member", EntityID: 3, Limit: 5})
	if err != nil || len(entries) != 1 || entries[0].Actor != "root" {
		t.Fatalf("Audit = %+v, %v", entries, err)
	}
	want := []string{
		`POST /api/v1/admins/alice@example.org/tokens? {"name":"laptop","ttl":"720h"}`,
		`DELETE /api/v1/tokens/4? `,
		`GET /api/v1/audit?entity=member&entity_id=3&limit=5 `,
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
