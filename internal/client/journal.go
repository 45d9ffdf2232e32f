package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"maillon/internal/registry"
)

// JournalEntryInput writes an intervention; Host is an id, name or
// address.
type JournalEntryInput struct {
	Host        string     `json:"host"`
	Text        string     `json:"text"`
	At          *time.Time `json:"at,omitempty"`
	RelatedKind string     `json:"related_kind,omitempty"`
	RelatedID   *int64     `json:"related_id,omitempty"`
}

// JournalQuery narrows a journal listing; zero fields match all.
type JournalQuery struct {
	Host   string
	Kind   registry.JournalKind
	Limit  int
	Before int64
}

// Journal lists journal entries, newest first.
func (c *Client) Journal(ctx context.Context, q JournalQuery) ([]registry.JournalEntry, error) {
	v := url.Values{}
	if q.Host != "" {
		v.Set("host", q.Host)
	}
	if q.Kind != "" {
		v.Set("kind", string(q.Kind))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Before > 0 {
		v.Set("before", strconv.FormatInt(q.Before, 10))
	}
	var out struct {
		Items []registry.JournalEntry `json:"items"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v1/journal", v, nil, &out)
	return out.Items, err
}

// JournalEntry reads one entry, with a change report's details.
func (c *Client) JournalEntry(ctx context.Context, id int64) (registry.JournalEntry, error) {
	var out registry.JournalEntry
	err := c.Do(ctx, http.MethodGet, "/api/v1/journal/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return out, err
}

// AddJournalEntry writes an intervention, signed by whoever the client
// authenticates as.
func (c *Client) AddJournalEntry(ctx context.Context, in JournalEntryInput) (registry.JournalEntry, error) {
	var out registry.JournalEntry
	err := c.Do(ctx, http.MethodPost, "/api/v1/journal", nil, in, &out)
	return out, err
}

// NewAgentToken is a freshly issued agent token, shown once.
type NewAgentToken struct {
	Token string              `json:"token"`
	Info  registry.AgentToken `json:"info"`
}

// CreateAgentToken issues a token for the agent of a host (id, name or
// address).
func (c *Client) CreateAgentToken(ctx context.Context, hostRef, name string) (NewAgentToken, error) {
	var out NewAgentToken
	body := struct {
		Name string `json:"name,omitempty"`
	}{name}
	err := c.Do(ctx, http.MethodPost, "/api/v1/hosts/"+url.PathEscape(hostRef)+"/agent-tokens", nil, body, &out)
	return out, err
}

// AgentTokens lists the agent tokens of a host, or of all hosts for "".
func (c *Client) AgentTokens(ctx context.Context, hostRef string) ([]registry.AgentToken, error) {
	v := url.Values{}
	if hostRef != "" {
		v.Set("host", hostRef)
	}
	var out struct {
		Items []registry.AgentToken `json:"items"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v1/agent-tokens", v, nil, &out)
	return out.Items, err
}

// RevokeAgentToken deletes an agent token by id.
func (c *Client) RevokeAgentToken(ctx context.Context, id int64) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/agent-tokens/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// SendReport posts a change report with the client's agent token. A
// report the daemon already had is no error: created is false.
func (c *Client) SendReport(ctx context.Context, rep registry.ChangeReport) (entry registry.JournalEntry, created bool, err error) {
	resp, err := c.send(ctx, http.MethodPost, "/api/v1/journal/reports", nil, rep, "")
	if err != nil {
		return entry, false, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&entry); err != nil {
		return entry, false, fmt.Errorf("report %s: reading the answer: %w", rep.ID, err)
	}
	return entry, resp.StatusCode == http.StatusCreated, nil
}

// IsPermanent tells an answer that sending again will not change (the
// report itself is refused) from one worth retrying later (the daemon is
// down, overloaded, or the token is being fixed).
func IsPermanent(err error) bool {
	var api *APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusConflict, http.StatusUnprocessableEntity:
		return true
	}
	return false
}
