// Package client talks to a running maillon daemon over its JSON API, either
// on the local unix socket (no token: the daemon checks the peer's uid) or
// over HTTP(S) with a bearer token. The CLI and the end-to-end tests use it.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Options says where the daemon is. Socket and URL are exclusive; with
// neither, DefaultSocket is used.
type Options struct {
	// Socket is the path of the daemon's unix socket.
	Socket string
	// URL is the daemon's base URL (http or https), without /api/v1.
	URL string
	// Token is the API token sent over HTTP; the socket needs none.
	Token string
	// HTTPClient replaces the default client for URL connections (tests
	// pass an httptest server's client); it is not used with Socket.
	HTTPClient *http.Client
}

// Client is a connection to one daemon. It is safe for concurrent use.
type Client struct {
	base   string // scheme://host[/prefix], no trailing slash
	token  string
	hc     *http.Client
	target string // what the user named: the socket path or the URL
}

// The environment variables that say where the daemon is.
const (
	EnvSocket = "MAILLON_SOCKET"
	EnvURL    = "MAILLON_URL"
	EnvToken  = "MAILLON_TOKEN"
)

// DefaultSocket is where the daemon listens and the CLI looks when nothing
// says otherwise: /run/maillon for root (a system service), else the user's
// runtime directory, so that "maillon demo" run by anyone needs no setup.
func DefaultSocket() string {
	return defaultSocket(os.Geteuid(), os.Getenv)
}

func defaultSocket(uid int, getenv func(string) string) string {
	if uid == 0 {
		return "/run/maillon/maillon.sock"
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "maillon", "maillon.sock")
	}
	return fmt.Sprintf("/tmp/maillon-%d/maillon.sock", uid)
}

// Resolve merges connection settings given on the command line (flags) with
// the environment: a flag beats its variable, and a socket or URL flag
// beats both variables so that "--socket" works whatever MAILLON_URL says.
func Resolve(flags Options, getenv func(string) string) (Options, error) {
	out := flags
	if out.Token == "" {
		out.Token = getenv(EnvToken)
	}
	if flags.Socket != "" && flags.URL != "" {
		return out, errors.New("give --socket or --url, not both")
	}
	if flags.Socket != "" || flags.URL != "" {
		return out, nil
	}
	out.Socket, out.URL = getenv(EnvSocket), getenv(EnvURL)
	if out.Socket != "" && out.URL != "" {
		return out, fmt.Errorf("both %s and %s are set: unset one, or choose with --socket or --url", EnvSocket, EnvURL)
	}
	return out, nil
}

// New returns a client for the daemon that opt points at. It does not
// connect: the first request does.
func New(opt Options) (*Client, error) {
	if opt.Socket != "" && opt.URL != "" {
		return nil, errors.New("client: Socket and URL are exclusive")
	}
	if opt.URL != "" {
		u, err := url.Parse(opt.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%q is not an http:// or https:// URL", opt.URL)
		}
		hc := opt.HTTPClient
		if hc == nil {
			hc = &http.Client{Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
				TLSHandshakeTimeout: 10 * time.Second,
			}}
		}
		return &Client{base: strings.TrimRight(u.String(), "/"), token: opt.Token, hc: hc, target: opt.URL}, nil
	}
	socket := opt.Socket
	if socket == "" {
		socket = DefaultSocket()
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		},
	}
	// The host is ignored by the transport; it only has to be a valid one.
	// The token is not sent: the socket authenticates by peer uid.
	return &Client{base: "http://maillon", hc: &http.Client{Transport: tr}, target: socket}, nil
}

// Target is the socket path or URL the client talks to, for messages.
func (c *Client) Target() string { return c.target }

// APIError is an error answer of the API: a non-2xx status with its
// {"error": ..., "field": ...} body.
type APIError struct {
	Status  int
	Message string
	// Field names the input field at fault, when the API says.
	Field string
}

// Error is the API's message alone: it already says what is wrong in one
// line (e.g. `email: "x" is not an email address`).
func (e *APIError) Error() string { return e.Message }

// UnreachableError means no daemon answered at the target.
type UnreachableError struct {
	Target string
	Err    error
}

func (e *UnreachableError) Error() string {
	if errors.Is(e.Err, syscall.ENOENT) || errors.Is(e.Err, syscall.ECONNREFUSED) {
		return fmt.Sprintf("cannot reach maillon at %s: is \"maillon serve\" (or \"maillon demo\") running?", e.Target)
	}
	if errors.Is(e.Err, syscall.EACCES) {
		return fmt.Sprintf("cannot reach maillon at %s: permission denied (the socket admits root and the daemon's user; use --url and --token otherwise)", e.Target)
	}
	return fmt.Sprintf("cannot reach maillon at %s: %v", e.Target, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Do sends one request to path (below the base URL, e.g. "/api/v1/members")
// with query and a JSON body (nil for none, an io.Reader for a raw body) and
// decodes a 2xx JSON answer into out (nil to discard; *json.RawMessage keeps
// it as is).
func (c *Client) Do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := c.send(ctx, method, path, query, body, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return nil
}

// send performs a request and returns the response when its status is 2xx;
// otherwise it returns the API's error and closes the body.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any, contentType string) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd = b
	default:
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encoding the request: %w", method, path, err)
		}
		rd = bytes.NewReader(buf)
		contentType = "application/json"
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "maillon-client")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &UnreachableError{Target: c.target, Err: op.Err}
		}
		return nil, fmt.Errorf("%s %s at %s: %w", method, path, c.target, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, readAPIError(resp, c.token != "")
}

// readAPIError turns an error response into an *APIError, also when a proxy
// in between answered with something that is not the API's JSON.
func readAPIError(resp *http.Response, sentToken bool) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &APIError{Status: resp.StatusCode}
	var body struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Error != "" {
		e.Message, e.Field = body.Error, body.Field
	} else {
		e.Message = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		if line, _, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n"); line != "" && len(line) < 200 {
			e.Message += ": " + line
		}
	}
	if resp.StatusCode == http.StatusUnauthorized && !sentToken {
		// Whatever the daemon says, the fix is on this side.
		e.Message = "an API token is required: use --token or " + EnvToken
	}
	return e
}

// Health asks /healthz, which answers once the daemon serves.
func (c *Client) Health(ctx context.Context) error {
	return c.Do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// Download copies the body of a GET (a CSV export, say) to w.
func (c *Client) Download(ctx context.Context, path string, query url.Values, w io.Writer) error {
	resp, err := c.send(ctx, http.MethodGet, path, query, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}
