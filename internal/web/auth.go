package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"maillon/internal/registry"
)

type ctxKey int

const (
	peerKey ctxKey = iota
	callerKey
	logLineKey
)

// peer is the local user at the other end of the admin socket.
type peer struct {
	uid  uint32
	name string
}

// LocalConnContext records the credentials of a unix-socket peer
// (SO_PEERCRED), so requests on the admin socket are attributed to the
// local user who made them without any token.
func LocalConnContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil {
		return ctx
	}
	name := strconv.Itoa(int(cred.Uid))
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return context.WithValue(ctx, peerKey, peer{uid: cred.Uid, name: name})
}

// caller is who a request acts as.
type caller struct {
	actor registry.Actor
	admin *registry.Admin // nil for a local socket user
}

func (c caller) canWrite() bool { return c.admin == nil || c.admin.CanWrite() }
func (c caller) isAdmin() bool  { return c.admin == nil || c.admin.Has(registry.RoleAdmin) }

// mayActFor reports whether the caller may act on adminID's own things
// (password, tokens, roster answer): that admin themself, or an admin.
func (c caller) mayActFor(adminID int64) bool {
	return c.isAdmin() || (c.admin != nil && c.admin.ID == adminID)
}

// logLine is what the request log says about a request that is only
// known inside the handlers: the handlers fill it in, on a request that
// ServeHTTP, which logs, never sees (each middleware derives its own).
type logLine struct{ actor string }

func withLogLine(r *http.Request) (*http.Request, *logLine) {
	l := &logLine{}
	return r.WithContext(context.WithValue(r.Context(), logLineKey, l)), l
}

// logActor names the request's caller in the request log.
func logActor(r *http.Request, name string) {
	if l, ok := r.Context().Value(logLineKey).(*logLine); ok {
		l.actor = name
	}
}

func callerOf(r *http.Request) caller { return r.Context().Value(callerKey).(caller) }

// authenticate admits local socket users (root or the daemon's own user)
// and HTTP clients with a valid bearer token.
// errNoToken answers a request that carries no token: "invalid or expired"
// would send its author looking for a fault in a token they never sent.
var errNoToken error = &noTokenError{}

type noTokenError struct{}

func (*noTokenError) Error() string {
	return `an API token is required: send "Authorization: Bearer TOKEN"`
}
func (*noTokenError) Unwrap() error { return registry.ErrUnauthenticated }

func (s *Server) authenticate(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var c caller
		if p, ok := r.Context().Value(peerKey).(peer); ok {
			if p.uid != 0 && int(p.uid) != os.Getuid() {
				s.fail(w, r, fmt.Errorf("local user %s may not use the admin socket: %w", p.name, errForbidden))
				return
			}
			c = caller{actor: registry.Actor{Name: "local:" + p.name}}
		} else {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || token == "" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="maillon"`)
				s.fail(w, r, errNoToken)
				return
			}
			admin, err := s.opt.Registry.Authenticate(r.Context(), strings.TrimSpace(token))
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="maillon"`)
				s.fail(w, r, err)
				return
			}
			c = caller{actor: registry.Actor{Name: "admin:" + admin.Name}, admin: &admin}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !c.canWrite() {
			s.fail(w, r, fmt.Errorf("%s is read-only: %w", c.actor.Name, errForbidden))
			return
		}
		logActor(r, c.actor.Name)
		next(w, r.WithContext(context.WithValue(r.Context(), callerKey, c)))
	}
}
