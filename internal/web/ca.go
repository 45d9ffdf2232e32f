package web

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"maillon/internal/config"
	"maillon/internal/registry"
)

// CertRequest is what to certify and how.
type CertRequest struct {
	// PublicKey is the key to certify, as in a .pub file.
	PublicKey string
	// Principals narrows a user certificate to some of what the admin's
	// roles grant, or adds names to a host certificate.
	Principals []string
	// Validity shortens the configured validity; 0 keeps it.
	Validity time.Duration
}

// KeyRevocation is a key revoked outright and the certificates it took.
type KeyRevocation struct {
	Key          registry.RevokedKey    `json:"key"`
	Certificates []registry.Certificate `json:"certificates"`
}

// CADeployment is what servers and admins' machines need.
type CADeployment struct {
	UserCA     string `json:"user_ca,omitempty"`
	HostCA     string `json:"host_ca,omitempty"`
	SSHDConfig string `json:"sshd_config"`
	KnownHosts string `json:"known_hosts,omitempty"`
	// Text is all of it as commented files to copy.
	Text string `json:"text"`
}

// CA is what the web layer asks of the SSH certificate authority.
type CA interface {
	SignUser(ctx context.Context, a registry.Actor, admin registry.Admin, req CertRequest) (registry.Certificate, error)
	SignHost(ctx context.Context, a registry.Actor, host registry.Host, req CertRequest) (registry.Certificate, error)
	// Revoke and RevokeKey return once the KRL file is rewritten.
	Revoke(ctx context.Context, a registry.Actor, serial int64, reason string) (registry.Certificate, error)
	RevokeKey(ctx context.Context, a registry.Actor, publicKey, reason string) (KeyRevocation, error)
	KRL(ctx context.Context) ([]byte, error)
	Deployment(ctx context.Context) (CADeployment, error)
}

type signUserRequest struct {
	// Admin is an id, name or email.
	Admin      string   `json:"admin"`
	PublicKey  string   `json:"public_key"`
	Principals []string `json:"principals,omitempty"`
	// Validity is a duration like "30d"; empty means ca.user.validity.
	Validity string `json:"validity,omitempty"`
}

type signHostRequest struct {
	// Host is an id, name or address.
	Host       string   `json:"host"`
	PublicKey  string   `json:"public_key"`
	Principals []string `json:"principals,omitempty"`
	Validity   string   `json:"validity,omitempty"`
}

type revokeRequest struct {
	Reason string `json:"reason,omitempty"`
}

type revokeKeyRequest struct {
	PublicKey string `json:"public_key"`
	Reason    string `json:"reason,omitempty"`
}

func parseValidity(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, &registry.ValidationError{Field: "validity", Message: fmt.Sprintf("%q is not a positive duration (e.g. 30d)", s)}
	}
	return d, nil
}

func (s *Server) caRoutes() {
	ca := s.opt.CA
	if ca == nil {
		return
	}
	now := s.opt.Registry.Now
	// signed checks the requested validity, signs, and answers with the
	// new certificate and where to find it again.
	signed := func(w http.ResponseWriter, r *http.Request, validity string, sign func(time.Duration) (registry.Certificate, error)) {
		d, err := parseValidity(validity)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		cert, err := sign(d)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		cert.Annotate(now())
		w.Header().Set("Location", "/api/v1/ca/certificates/"+strconv.FormatInt(cert.Serial, 10))
		writeJSON(w, http.StatusCreated, cert)
	}
	certType := reflect.TypeOf(registry.Certificate{})

	s.handle("POST /api/v1/ca/user-certificates", "Sign an admin's public key with the user CA (principals from their roles)",
		reflect.TypeOf(signUserRequest{}), certType, nil, func(w http.ResponseWriter, r *http.Request) {
			if !callerOf(r).isAdmin() {
				s.fail(w, r, fmt.Errorf("only admins may sign user certificates: %w", errForbidden))
				return
			}
			var req signUserRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			admin, err := s.findAdmin(r.Context(), req.Admin)
			if err != nil {
				s.fail(w, r, &registry.ValidationError{Field: "admin", Message: err.Error()})
				return
			}
			signed(w, r, req.Validity, func(validity time.Duration) (registry.Certificate, error) {
				return ca.SignUser(r.Context(), callerOf(r).actor, admin, CertRequest{PublicKey: req.PublicKey, Principals: req.Principals, Validity: validity})
			})
		})
	s.handle("POST /api/v1/ca/host-certificates", "Sign a host's public key with the host CA (principals from its name and address)",
		reflect.TypeOf(signHostRequest{}), certType, nil, func(w http.ResponseWriter, r *http.Request) {
			var req signHostRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			// Names beyond the registry's let a key pass for another
			// machine to every admin's ssh: an admin's decision.
			if len(req.Principals) > 0 && !callerOf(r).isAdmin() {
				s.fail(w, r, fmt.Errorf("only admins may add principals beyond the host's names in the registry: %w", errForbidden))
				return
			}
			host, err := s.findHost(r.Context(), req.Host)
			if err != nil {
				s.fail(w, r, &registry.ValidationError{Field: "host", Message: err.Error()})
				return
			}
			signed(w, r, req.Validity, func(validity time.Duration) (registry.Certificate, error) {
				return ca.SignHost(r.Context(), callerOf(r).actor, host, CertRequest{PublicKey: req.PublicKey, Principals: req.Principals, Validity: validity})
			})
		})
	s.handle("GET /api/v1/ca/certificates", "List issued certificates, newest first (state: valid, expired, revoked, pending)",
		nil, reflect.TypeOf(listResponse[registry.Certificate]{}), []string{"kind", "admin", "host", "state", "limit"},
		func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			f := registry.CertificateFilter{Kind: registry.CertKind(q.Get("kind"))}
			switch f.Kind {
			case "", registry.CertUser, registry.CertHost:
			default:
				s.fail(w, r, fmt.Errorf("kind=%q is not user or host: %w", f.Kind, errBadRequest))
				return
			}
			if ref := q.Get("admin"); ref != "" {
				a, err := s.findAdmin(r.Context(), ref)
				if err != nil {
					s.fail(w, r, err)
					return
				}
				f.AdminID = a.ID
			}
			if ref := q.Get("host"); ref != "" {
				h, err := s.findHost(r.Context(), ref)
				if err != nil {
					s.fail(w, r, err)
					return
				}
				f.HostID = h.ID
			}
			state := q.Get("state")
			switch state {
			case "", registry.CertExpired, registry.CertPending:
			case registry.CertValid:
				f.ActiveAt = now()
			case registry.CertRevoked:
				yes := true
				f.Revoked = &yes
			default:
				s.fail(w, r, fmt.Errorf("state=%q is not one of valid, expired, revoked, pending: %w", state, errBadRequest))
				return
			}
			n, err := nonNegative(q, "limit", 0)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			limit := int(n)
			if state != registry.CertExpired && state != registry.CertPending {
				f.Limit = limit
			}
			var certs []registry.Certificate
			err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				var err error
				certs, err = rd.ListCertificates(r.Context(), f)
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			items := []registry.Certificate{}
			t := now()
			for _, c := range certs {
				c.Annotate(t)
				if state != "" && c.State != state {
					continue
				}
				if limit > 0 && len(items) == limit {
					break
				}
				items = append(items, c)
			}
			writeJSON(w, http.StatusOK, listResponse[registry.Certificate]{Items: items})
		})
	serialOf := func(r *http.Request) (int64, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(r.PathValue("serial")), 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("serial %q is not a positive number: %w", r.PathValue("serial"), errBadRequest)
		}
		return n, nil
	}
	s.handle("GET /api/v1/ca/certificates/{serial}", "Show a certificate, with its text", nil, certType, nil,
		func(w http.ResponseWriter, r *http.Request) {
			serial, err := serialOf(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			var cert registry.Certificate
			err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				cert, err = rd.GetCertificate(r.Context(), serial)
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			cert.Annotate(now())
			writeJSON(w, http.StatusOK, cert)
		})
	s.handle("POST /api/v1/ca/certificates/{serial}/revoke", "Revoke a certificate by serial; answers once the KRL is rewritten",
		reflect.TypeOf(revokeRequest{}), certType, nil, func(w http.ResponseWriter, r *http.Request) {
			serial, err := serialOf(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			var req revokeRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			cert, err := ca.Revoke(r.Context(), callerOf(r).actor, serial, req.Reason)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			cert.Annotate(now())
			writeJSON(w, http.StatusOK, cert)
		})
	s.handle("POST /api/v1/ca/revoked-keys", "Revoke a public key outright, and every certificate on it; answers once the KRL is rewritten",
		reflect.TypeOf(revokeKeyRequest{}), reflect.TypeOf(KeyRevocation{}), nil, func(w http.ResponseWriter, r *http.Request) {
			var req revokeKeyRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			kr, err := ca.RevokeKey(r.Context(), callerOf(r).actor, req.PublicKey, req.Reason)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if kr.Certificates == nil {
				kr.Certificates = []registry.Certificate{}
			}
			t := now()
			for i := range kr.Certificates {
				kr.Certificates[i].Annotate(t)
			}
			writeJSON(w, http.StatusCreated, kr)
		})
	s.handle("GET /api/v1/ca/revoked-keys", "List the keys revoked outright", nil, reflect.TypeOf(listResponse[registry.RevokedKey]{}), nil,
		func(w http.ResponseWriter, r *http.Request) {
			items := []registry.RevokedKey{}
			err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				ks, err := rd.ListRevokedKeys(r.Context())
				items = append(items, ks...)
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, listResponse[registry.RevokedKey]{Items: items})
		})
	s.handle("GET /api/v1/ca/config", "The sshd_config, CA keys and known_hosts lines to deploy", nil, reflect.TypeOf(CADeployment{}), nil,
		func(w http.ResponseWriter, r *http.Request) {
			d, err := ca.Deployment(r.Context())
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, d)
		})

	// Public, like a CRL: servers fetch the KRL and the CA keys without
	// a token (they hold nothing secret).
	s.mux.HandleFunc("GET /ca/krl", func(w http.ResponseWriter, r *http.Request) {
		krl, err := ca.KRL(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Length", strconv.Itoa(len(krl)))
		w.Write(krl)
	})
	s.mux.HandleFunc("GET /ca/{which}", func(w http.ResponseWriter, r *http.Request) {
		d, err := ca.Deployment(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var key string
		switch r.PathValue("which") {
		case "user_ca.pub":
			key = d.UserCA
		case "host_ca.pub":
			key = d.HostCA
		}
		if key == "" {
			s.fail(w, r, registry.NotFound("CA key", r.PathValue("which")))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, key)
	})
}
