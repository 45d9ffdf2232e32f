package registry

import (
	"encoding/json"
	"slices"
	"time"
)

// Actor is who makes a change: an admin through the API, a local user on the
// daemon's socket, the system itself.
type Actor struct {
	Name string
}

// System is the actor for changes maillon makes on its own (expiry, import).
var System = Actor{Name: "system"}

// AuditEntry records one change: who, when, what it was before and after.
type AuditEntry struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Entity   string          `json:"entity"`
	EntityID int64           `json:"entity_id"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
}

// AuditFilter narrows an audit listing.
type AuditFilter struct {
	Entity   string
	EntityID int64
	Limit    int
}

// auditEntities are the entity names audit entries are recorded under:
// "maillon audit --entity" and GET /api/v1/audit?entity= accept these.
// record refuses any other name, so the list cannot fall behind the code.
var auditEntities = []string{
	"admin", "agent_token", "alert", "allocation", "certificate", "check", "component", "cpe",
	"host", "incident", "journal_entry", "login_link", "maintenance", "member", "member_prefs",
	"nas", "port", "prefix", "record", "revoked_key", "roster_campaign", "roster_request",
	"silence", "site", "subscriber", "subscription", "token", "zone",
}

// AuditEntities returns the entity names audit entries are recorded
// under, sorted.
func AuditEntities() []string { return slices.Clone(auditEntities) }

// setFields returns name if set: for entity.secrets.
func setFields(set bool, name string) []string {
	if set {
		return []string{name}
	}
	return nil
}
