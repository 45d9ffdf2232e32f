package cli

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"maillon/internal/client"
)

// maillon admin password, then a login on the web interface with it.
func TestAdminPasswordThenWebLogin(t *testing.T) {
	dir := t.TempDir()
	conf, _ := initDB(t, dir, filepath.Join(dir, "maillon.db"))
	a, stop := serveFrom(t, conf)
	defer stop()
	env := map[string]string{client.EnvSocket: a.SocketPath()}

	runCLI(runOpt{stdin: "too short\n"}, env, "admin", "password", "root@example.org", "--stdin").
		failsWith(t, 1, "password: must be at least 12 characters")
	runCLI(runOpt{}, env, "admin", "password", "root@example.org").
		failsWith(t, 2, "standard input is not a terminal: give --stdin to read the password from it")
	r := runCLI(runOpt{stdin: "a long enough password\n"}, env, "admin", "password", "root@example.org", "--stdin")
	if r.code != 0 || r.stdout != "web password of root@example.org set\n" {
		t.Fatalf("admin password: %d %q %q", r.code, r.stdout, r.stderr)
	}

	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + a.HTTPAddr()
	resp, err := web.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("login page without a CSRF token:\n%s", body)
	}
	// In this order: a successful login renews the session, and with it
	// the CSRF token the wrong password would be posted with.
	for _, c := range []struct {
		password string
		want     int
	}{{"wrong password!!", http.StatusUnauthorized}, {"a long enough password", http.StatusSeeOther}} {
		password, want := c.password, c.want
		resp, err = web.PostForm(base+"/login", url.Values{"login": {"root@example.org"}, "password": {password}, "csrf": {string(m[1])}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("web login with %q: %d, want %d", password, resp.StatusCode, want)
		}
	}
	if loc := resp.Header.Get("Location"); loc != "/admin/" {
		t.Fatalf("login went to %q", loc)
	}
	// --remove leaves no password: the same login now fails.
	if r := runCLI(runOpt{}, env, "admin", "password", "root@example.org", "--remove"); r.code != 0 || !strings.Contains(r.stdout, "removed") {
		t.Fatalf("--remove: %d %q %q", r.code, r.stdout, r.stderr)
	}
}
