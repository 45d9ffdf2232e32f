package web

import (
	"net/http"
	"strconv"
	"strings"

	"maillon/internal/registry"
)

func init() { uiRoutes = append(uiRoutes, (*Server).certRoutes) }

func (s *Server) certRoutes() {
	s.mux.HandleFunc("GET /admin/certificates", s.requireAdmin(s.adminCerts))
	s.mux.HandleFunc("POST /admin/certificates/{id}/revoke", s.requireWriter(s.adminRevoke))
}

type certsData struct {
	Certs     []registry.Certificate
	Show      string // all, valid, revoked
	CanRevoke bool
	NoCA      bool
}

func (s *Server) adminCerts(w http.ResponseWriter, r *http.Request) {
	show := r.URL.Query().Get("show")
	f := registry.CertificateFilter{Limit: 500}
	switch show {
	case "valid":
		f.ActiveAt = s.now()
	case "revoked":
		yes := true
		f.Revoked = &yes
	default:
		show = "all"
	}
	var d certsData
	err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
		var err error
		d.Certs, err = rd.ListCertificates(r.Context(), f)
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	now := s.now()
	for i := range d.Certs {
		d.Certs[i].Annotate(now)
	}
	d.Show, d.NoCA = show, s.opt.CA == nil
	d.CanRevoke = sessionFrom(r).CanWrite() && s.opt.CA != nil
	s.render(w, r, "admin_certificates.html", d)
}

// adminRevoke revokes a certificate; it answers once the KRL is rewritten.
func (s *Server) adminRevoke(w http.ResponseWriter, r *http.Request) {
	serial, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if s.opt.CA == nil {
		s.renderError(w, r, http.StatusNotFound, "cert.no_ca")
		return
	}
	if _, err := s.opt.CA.Revoke(r.Context(), sessionFrom(r).Actor(), serial, strings.TrimSpace(r.PostFormValue("reason"))); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.setFlash(w, r, "cert.revoked")
	http.Redirect(w, r, "/admin/certificates?show="+r.URL.Query().Get("show")+"#c"+strconv.FormatInt(serial, 10), http.StatusSeeOther)
}
