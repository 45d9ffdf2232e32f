package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// LemonLDAP::NG, Debian's OpenID Connect provider (liblemonldap-ng-portal-perl),
// run as its portal's PSGI application under plackup with the Demo
// authentication backend: users dwho, rtyler and msmith, whose password is
// their login and whose mails are LOGIN@badwolf.org.
const (
	llngPortalPSGI = "/usr/share/lemonldap-ng/portal/htdocs/index.psgi"
	llngBaseConf   = "/var/lib/lemonldap-ng/conf/lmConf-1.json"
)

// OIDCClient is a relying party registered at the provider.
type OIDCClient struct {
	ID, Secret  string
	RedirectURL string
}

// LemonLDAP is a running LemonLDAP::NG portal.
type LemonLDAP struct {
	// Issuer is the provider's URL, http://127.0.0.1:PORT/.
	Issuer string
	Log    Buffer
}

// StartLemonLDAP runs a LemonLDAP::NG portal issuing OpenID Connect
// tokens to client (authorization code flow, PKCE required, RS256, no
// consent screen), stopped when the test ends.
func StartLemonLDAP(t testing.TB, client OIDCClient) *LemonLDAP {
	t.Helper()
	plackup := LookPath(t, "plackup")
	for _, f := range []string{llngPortalPSGI, llngBaseConf} {
		if _, err := os.Stat(f); err != nil {
			Unavailable(t, "LemonLDAP::NG portal not installed (%s missing; Debian packages liblemonldap-ng-portal-perl and lemonldap-ng in scripts/test-packages.txt)", f)
		}
	}
	dir := t.TempDir()
	for _, d := range []string{"conf", "cache", "sessions/lock", "psessions/lock", "notifications"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	port := FreePort(t)
	l := &LemonLDAP{Issuer: fmt.Sprintf("http://127.0.0.1:%d/", port)}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	raw, err := os.ReadFile(llngBaseConf)
	if err != nil {
		t.Fatal(err)
	}
	var conf map[string]any
	if err := json.Unmarshal(raw, &conf); err != nil {
		t.Fatalf("LemonLDAP::NG base configuration: %v", err)
	}
	for k, v := range map[string]any{
		"portal": l.Issuer, "domain": "127.0.0.1", "notification": 0,
		"globalStorageOptions": map[string]any{"Directory": filepath.Join(dir, "sessions"), "LockDirectory": filepath.Join(dir, "sessions/lock"),
			"generateModule": "Lemonldap::NG::Common::Apache::Session::Generate::SHA256"},
		"persistentStorageOptions":   map[string]any{"Directory": filepath.Join(dir, "psessions"), "LockDirectory": filepath.Join(dir, "psessions/lock")},
		"localSessionStorageOptions": map[string]any{"cache_root": filepath.Join(dir, "cache"), "namespace": "lemonldap-ng-sessions", "default_expires_in": 600},
		"notificationStorageOptions": map[string]any{"dirName": filepath.Join(dir, "notifications")},
		"locationRules":              map[string]any{"127.0.0.1": map[string]any{"default": "accept"}},
		// The Demo configuration turns on self-registration (which
		// needs a mail library) and captchas; a provider needs neither.
		"registerDB": "Null", "captcha_mail_enabled": 0, "captcha_register_enabled": 0, "captcha_login_enabled": 0,
		"issuerDBOpenIDConnectActivation": 1,
		"oidcServicePrivateKeySig":        string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
		"oidcServicePublicKeySig":         string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"oidcServiceKeyIdSig":             "maillon-test",
		"oidcRPMetaDataOptions": map[string]any{"maillon": map[string]any{
			"oidcRPMetaDataOptionsClientID": client.ID, "oidcRPMetaDataOptionsClientSecret": client.Secret,
			"oidcRPMetaDataOptionsRedirectUris": client.RedirectURL, "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
			"oidcRPMetaDataOptionsRequirePKCE": 1, "oidcRPMetaDataOptionsBypassConsent": 1,
			"oidcRPMetaDataOptionsIDTokenExpiration": 3600, "oidcRPMetaDataOptionsAccessTokenExpiration": 3600,
		}},
		"oidcRPMetaDataExportedVars": map[string]any{"maillon": map[string]any{"email": "mail", "name": "cn", "preferred_username": "uid"}},
	} {
		conf[k] = v
	}
	b, _ := json.MarshalIndent(conf, "", " ")
	if err := os.WriteFile(filepath.Join(dir, "conf", "lmConf-1.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	ini := fmt.Sprintf(`[all]
logLevel = notice
checkTime = 1
[configuration]
type = File
dirName = %[1]s/conf
localStorage = Cache::FileCache
localStorageOptions = { 'namespace' => 'lemonldap-ng-config', 'default_expires_in' => 600, 'cache_root' => '%[1]s/cache', 'cache_depth' => 3 }
[portal]
staticPrefix = /static
templateDir = /usr/share/lemonldap-ng/portal/templates
languages = en
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "lemonldap-ng.ini"), []byte(ini), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(plackup, "-s", "HTTP::Server::PSGI", "--host", "127.0.0.1", "--port", strconv.Itoa(port), llngPortalPSGI)
	cmd.Env = append(os.Environ(), "LLNG_DEFAULTCONFFILE="+filepath.Join(dir, "lemonldap-ng.ini"))
	cmd.Stdout, cmd.Stderr = &l.Log, &l.Log
	if err := cmd.Start(); err != nil {
		t.Fatalf("plackup: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("LemonLDAP::NG log:\n%s", l.Log.String())
		}
	})
	// A deadline for readiness (Perl loads for a few seconds), not a
	// timing test.
	discovery := l.Issuer + ".well-known/openid-configuration"
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(discovery)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("LemonLDAP::NG did not serve %s within 60 s (last: %v)\n%s", discovery, err, l.Log.String())
		}
	}
	return l
}

var (
	llngHidden = regexp.MustCompile(`<input[^>]*type="hidden"[^>]*>`)
	llngName   = regexp.MustCompile(`name="([^"]+)"`)
	llngValue  = regexp.MustCompile(`value="([^"]*)"`)
)

// SignIn is a person at the portal: c (with a cookie jar, not following
// redirects) opens authorizeURL, fills the login form as user and
// returns where the provider sends the browser back (the relying party's
// callback with a code, or an error).
func (l *LemonLDAP) SignIn(t testing.TB, c *http.Client, authorizeURL, user, password string) *url.URL {
	t.Helper()
	resp, err := c.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("LemonLDAP::NG login page: %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{"user": {user}, "password": {password}}
	for _, in := range llngHidden.FindAllString(string(body), -1) {
		n, v := llngName.FindStringSubmatch(in), llngValue.FindStringSubmatch(in)
		if n != nil {
			val := ""
			if v != nil {
				val = v[1]
			}
			form.Set(n[1], val)
		}
	}
	// The form posts to the page it is on ("#").
	resp, err = c.Post(authorizeURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("LemonLDAP::NG after login: %d, no redirect\n%s", resp.StatusCode, body)
	}
	return loc
}
