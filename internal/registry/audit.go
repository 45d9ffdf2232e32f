package registry

import (
	"encoding/json"
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
