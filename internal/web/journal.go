package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"maillon/internal/registry"
)

// Journal is what the web layer asks of the interventions journal (the
// registry service implements it).
type Journal interface {
	AddJournalEntry(ctx context.Context, a registry.Actor, in registry.JournalInput) (registry.JournalEntry, error)
	RecordChangeReport(ctx context.Context, token registry.AgentToken, rep registry.ChangeReport) (registry.JournalEntry, bool, error)
	CreateAgentToken(ctx context.Context, a registry.Actor, hostID int64, name string) (string, registry.AgentToken, error)
	RevokeAgentToken(ctx context.Context, a registry.Actor, id int64) error
	AuthenticateAgent(ctx context.Context, token string) (registry.AgentToken, error)
}

type journalRequest struct {
	// Host is an id, name or address.
	Host string `json:"host"`
	Text string `json:"text"`
	// At is when it happened (RFC 3339); empty means now.
	At          *time.Time `json:"at,omitempty"`
	RelatedKind string     `json:"related_kind,omitempty"`
	RelatedID   *int64     `json:"related_id,omitempty"`
}

type agentTokenRequest struct {
	Name string `json:"name,omitempty"`
}

// AgentTokenResponse carries a new agent token, shown only once.
type AgentTokenResponse struct {
	Token string              `json:"token"`
	Info  registry.AgentToken `json:"info"`
}

// maxReportBody bounds a change report: MaxReportItems files with long
// paths fit well within it.
const maxReportBody = 8 << 20

func (s *Server) journalRoutes() {
	j := s.opt.Journal
	if j == nil {
		return
	}
	entryType := reflect.TypeOf(registry.JournalEntry{})

	s.handle("GET /api/v1/journal", "List the interventions journal, newest first: the whole network, or one host's",
		nil, reflect.TypeOf(listResponse[registry.JournalEntry]{}), []string{"host", "kind", "limit", "before"},
		func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			f := registry.JournalFilter{Kind: registry.JournalKind(q.Get("kind"))}
			switch f.Kind {
			case "", registry.JournalIntervention, registry.JournalChangeReport:
			default:
				s.fail(w, r, fmt.Errorf("kind=%q is not intervention or change-report: %w", f.Kind, errBadRequest))
				return
			}
			if ref := q.Get("host"); ref != "" {
				h, err := s.findHost(r.Context(), ref)
				if err != nil {
					s.fail(w, r, err)
					return
				}
				f.HostID = h.ID
			}
			for name, dst := range map[string]*int64{"limit": nil, "before": &f.Before} {
				n, err := nonNegative(q, name, 0)
				if err != nil {
					s.fail(w, r, err)
					return
				}
				if dst == nil {
					f.Limit = int(min(n, 1<<20))
				} else {
					*dst = n
				}
			}
			items := []registry.JournalEntry{}
			err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				es, err := rd.ListJournal(r.Context(), f)
				items = append(items, es...)
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, listResponse[registry.JournalEntry]{Items: items})
		})
	s.handle("POST /api/v1/journal", "Write an intervention in a host's journal, signed by the caller",
		reflect.TypeOf(journalRequest{}), entryType, nil, func(w http.ResponseWriter, r *http.Request) {
			var req journalRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			if strings.TrimSpace(req.Host) == "" {
				s.fail(w, r, &registry.ValidationError{Field: "host", Message: "is required"})
				return
			}
			h, err := s.findHost(r.Context(), req.Host)
			if err != nil {
				s.fail(w, r, &registry.ValidationError{Field: "host", Message: err.Error()})
				return
			}
			e, err := j.AddJournalEntry(r.Context(), callerOf(r).actor, registry.JournalInput{
				HostID: h.ID, Text: req.Text, At: req.At, RelatedKind: req.RelatedKind, RelatedID: req.RelatedID,
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			w.Header().Set("Location", "/api/v1/journal/"+strconv.FormatInt(e.ID, 10))
			writeJSON(w, http.StatusCreated, e)
		})
	s.handle("GET /api/v1/journal/{id}", "Show a journal entry, with a change report's files and packages", nil, entryType, nil,
		func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil {
				s.fail(w, r, fmt.Errorf("journal entry %q is not an id: %w", r.PathValue("id"), errBadRequest))
				return
			}
			var e registry.JournalEntry
			err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				e, err = rd.GetJournalEntry(r.Context(), id)
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, e)
		})

	s.handle("POST /api/v1/hosts/{ref}/agent-tokens", "Issue the token a host's agent reports with; shown only in this response",
		reflect.TypeOf(agentTokenRequest{}), reflect.TypeOf(AgentTokenResponse{}), nil, func(w http.ResponseWriter, r *http.Request) {
			h, err := s.findHost(r.Context(), r.PathValue("ref"))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			var req agentTokenRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			token, info, err := j.CreateAgentToken(r.Context(), callerOf(r).actor, h.ID, req.Name)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusCreated, AgentTokenResponse{Token: token, Info: info})
		})
	s.handle("GET /api/v1/agent-tokens", "List agent tokens (never the tokens themselves)", nil,
		reflect.TypeOf(listResponse[registry.AgentToken]{}), []string{"host"}, func(w http.ResponseWriter, r *http.Request) {
			var hostID int64
			if ref := r.URL.Query().Get("host"); ref != "" {
				h, err := s.findHost(r.Context(), ref)
				if err != nil {
					s.fail(w, r, err)
					return
				}
				hostID = h.ID
			}
			items := []registry.AgentToken{}
			err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				ts, err := rd.ListAgentTokens(r.Context(), hostID)
				items = append(items, ts...)
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, listResponse[registry.AgentToken]{Items: items})
		})
	s.handle("DELETE /api/v1/agent-tokens/{id}", "Revoke an agent token", nil, nil, nil, func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			s.fail(w, r, fmt.Errorf("agent token id %q: %w", r.PathValue("id"), errBadRequest))
			return
		}
		if err := j.RevokeAgentToken(r.Context(), callerOf(r).actor, id); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})

	// The agents' door: an agent token, not an admin's, and only for
	// posting its own host's reports.
	s.mux.HandleFunc("POST /api/v1/journal/reports", func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="maillon-agent"`)
			s.fail(w, r, registry.ErrUnauthenticated)
			return
		}
		agent, err := j.AuthenticateAgent(r.Context(), strings.TrimSpace(token))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="maillon-agent"`)
			s.fail(w, r, err)
			return
		}
		var rep registry.ChangeReport
		if err := decodeReport(r, &rep); err != nil {
			s.fail(w, r, err)
			return
		}
		e, created, err := j.RecordChangeReport(r.Context(), agent, rep)
		if errors.Is(err, registry.ErrForbidden) {
			// One "forbidden" at the end, and the status that goes with it.
			err = fmt.Errorf("%s: %w", strings.TrimSuffix(err.Error(), ": "+registry.ErrForbidden.Error()), errForbidden)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		status := http.StatusCreated
		if !created {
			status = http.StatusOK // already recorded: the agent resent it
		}
		w.Header().Set("Location", "/api/v1/journal/"+strconv.FormatInt(e.ID, 10))
		writeJSON(w, status, e)
	})
	s.api.add("POST /api/v1/journal/reports", "An agent posts its host's change report (agent token); 200 when the report id was already recorded",
		reflect.TypeOf(registry.ChangeReport{}), entryType, nil)
}

func decodeReport(r *http.Request, rep *registry.ChangeReport) error {
	// Unlike admins' requests, unknown fields are let through: agents are
	// upgraded host by host, and a newer agent's report must still land
	// in an older daemon's journal rather than be refused for good.
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxReportBody))
	if err := dec.Decode(rep); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("empty request body: %w", errBadRequest)
		}
		return fmt.Errorf("report: %v: %w", err, errBadRequest)
	}
	return nil
}
