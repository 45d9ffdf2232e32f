package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"maillon/internal/registry"
)

func init() {
	uiRoutes = append(uiRoutes, (*Server).journalUIRoutes)
	// Before the audit log, the last entry.
	navInsert("nav.audit", false, navItem{Key: "nav.journal", Path: "/admin/journal"})
}

func (s *Server) journalUIRoutes() {
	s.mux.HandleFunc("GET /admin/journal", s.requireAdmin(s.adminJournal))
	s.mux.HandleFunc("POST /admin/journal", s.requireWriter(s.adminJournalAdd))
	s.mux.HandleFunc("GET /admin/journal/{id}", s.requireAdmin(s.adminJournalEntry))
}

// journalForm is what an admin typed, kept when the registry refuses it.
type journalForm struct {
	HostID, Text, RelatedKind, RelatedID, At string
}

type journalData struct {
	Entries []registry.JournalEntry
	Hosts   []registry.Host
	// HostID and Kind are the listing's filter.
	HostID  int64
	Kind    string
	CanAdd  bool
	Form    journalForm
	Errors  []fieldError
	Related []string
}

// journalLimit is how many entries a page shows.
const journalLimit = 200

func (s *Server) journalPage(w http.ResponseWriter, r *http.Request, status int, form journalForm, errs []fieldError) {
	q := r.URL.Query()
	d := journalData{Kind: q.Get("kind"), Form: form, Errors: errs, Related: []string{registry.RelatedIncident, registry.RelatedMaintenance},
		CanAdd: sessionFrom(r).CanWrite() && s.opt.Journal != nil}
	f := registry.JournalFilter{Limit: journalLimit}
	if id, err := strconv.ParseInt(q.Get("host"), 10, 64); err == nil && id > 0 {
		d.HostID, f.HostID = id, id
	}
	switch registry.JournalKind(d.Kind) {
	case registry.JournalIntervention, registry.JournalChangeReport:
		f.Kind = registry.JournalKind(d.Kind)
	default:
		d.Kind = ""
	}
	if d.Form.HostID == "" && d.HostID != 0 {
		d.Form.HostID = strconv.FormatInt(d.HostID, 10)
	}
	err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
		var err error
		if d.Entries, err = rd.ListJournal(r.Context(), f); err != nil {
			return err
		}
		d.Hosts, err = rd.ListHosts(r.Context(), registry.ListOptions{})
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.renderStatus(w, r, status, "admin_journal.html", d)
}

func (s *Server) adminJournal(w http.ResponseWriter, r *http.Request) {
	s.journalPage(w, r, http.StatusOK, journalForm{}, nil)
}

// adminJournalAdd writes an intervention signed by the logged-in admin.
func (s *Server) adminJournalAdd(w http.ResponseWriter, r *http.Request) {
	if s.opt.Journal == nil {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	form := journalForm{HostID: r.PostFormValue("host_id"), Text: r.PostFormValue("text"),
		RelatedKind: r.PostFormValue("related_kind"), RelatedID: strings.TrimSpace(r.PostFormValue("related_id")), At: strings.TrimSpace(r.PostFormValue("at"))}
	lang := s.lang(r)
	refuse := func(field, key string) {
		s.journalPage(w, r, http.StatusBadRequest, form, []fieldError{{Field: field, Label: translate(lang, "journal."+field), Message: translate(lang, key)}})
	}
	in := registry.JournalInput{Text: form.Text, RelatedKind: form.RelatedKind}
	var err error
	if in.HostID, err = strconv.ParseInt(form.HostID, 10, 64); err != nil {
		refuse("host_id", "journal.choose_host")
		return
	}
	if form.RelatedID != "" {
		id, err := strconv.ParseInt(form.RelatedID, 10, 64)
		if err != nil {
			refuse("related_id", "journal.bad_id")
			return
		}
		in.RelatedID = &id
	}
	if form.At != "" {
		// What <input type="datetime-local"> sends, in UTC (the page says so).
		at, err := time.Parse("2006-01-02T15:04", form.At)
		if err != nil {
			refuse("at", "journal.bad_time")
			return
		}
		in.At = &at
	}
	e, err := s.opt.Journal.AddJournalEntry(r.Context(), sessionFrom(r).Actor(), in)
	if err != nil {
		var ve *registry.ValidationError
		if errors.As(err, &ve) {
			s.journalPage(w, r, http.StatusBadRequest, form, formErrors(lang, journalFields(lang), err))
			return
		}
		s.renderFailure(w, r, err)
		return
	}
	s.setFlash(w, r, "journal.added")
	back := url.Values{}
	if h := r.URL.Query().Get("host"); h != "" {
		back.Set("host", h)
	}
	http.Redirect(w, r, "/admin/journal?"+back.Encode()+"#j"+strconv.FormatInt(e.ID, 10), http.StatusSeeOther)
}

func journalFields(lang string) []formField {
	var out []formField
	for _, n := range []string{"host_id", "text", "related_kind", "related_id", "at"} {
		out = append(out, formField{Name: n, Label: translate(lang, "journal."+n)})
	}
	return out
}

func (s *Server) adminJournalEntry(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var e registry.JournalEntry
	err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
		var err error
		e, err = rd.GetJournalEntry(r.Context(), id)
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.render(w, r, "admin_journal_entry.html", e)
}
