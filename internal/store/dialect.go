package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maillon/internal/registry"
)

// dialect holds what differs between the engines.
type dialect struct {
	name string
	// rebind turns ? placeholders into the engine's form.
	rebind func(string) string
	// ts converts a time for a parameter.
	ts func(time.Time) any
	// lockTable serialises writers on a table (no-op where the engine
	// already has one writer).
	lockTable func(table string) string
	// forUpdate is appended to a SELECT that must lock its row.
	forUpdate string
	// classify maps a driver error to a constraint kind and its name.
	classify func(error) (kind constraintKind, name string)
	readOpts *sql.TxOptions
	// prepare caches prepared statements per transaction.
	prepare bool
}

type constraintKind int

const (
	notConstraint constraintKind = iota
	uniqueViolation
	foreignKeyViolation
	busy
)

// mapErr wraps engine errors in the registry's typed errors.
func (d *dialect) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return err
	}
	kind, name := d.classify(err)
	switch kind {
	case uniqueViolation:
		return uniqueConflict(name)
	case foreignKeyViolation:
		return fmt.Errorf("still referenced by other records (%s): %w", name, registry.ErrInUse)
	case busy:
		return fmt.Errorf("database is busy: %w", err)
	}
	return err
}

// uniqueIndexes names, for each unique index of the migrations, the field
// an admin reads in "... is already taken" and the input field (JSON name)
// that holds the value, if one does. SQLite reports an index on plain
// columns by its columns ("zones.origin") and one on expressions by its name
// ("index 'hosts_name_key'"); PostgreSQL always by its name: both are kept.
// TestUniqueIndexesNamed fails when a migration adds one not listed here.
var uniqueIndexes = []struct{ index, columns, what, field string }{
	{"sites_name_key", "sites.name", "name", "name"},
	{"members_email_key", "members.email", "email", "email"},
	{"hosts_name_key", "hosts.name", "name", "name"},
	{"ports_host_name_key", "ports.host_id, ports.name", "port name on this switch", "name"},
	{"cpes_serial_key", "cpes.serial", "serial number", "serial"},
	{"cpes_mac_key", "cpes.mac", "MAC address", "mac"},
	{"subscriptions_login_key", "subscriptions.login", "login", "login"},
	{"prefixes_cidr_key", "prefixes.cidr", "prefix", "cidr"},
	{"allocations_block_key", "allocations.prefix_id, allocations.block_index", "address block", ""},
	{"nas_name_key", "nas.name", "name", "name"},
	{"admins_name_key", "admins.name", "name", "name"},
	{"api_tokens_hash_key", "api_tokens.hash", "token", ""},
	{"usage_daily_pkey", "usage_daily.subscription_id, usage_daily.day", "usage day of this line", ""},
	{"zones_origin_key", "zones.origin", "origin", "origin"},
	{"ssh_revoked_keys_fingerprint_key", "ssh_revoked_keys.fingerprint", "revoked key fingerprint", ""},
	{"member_login_links_hash_key", "member_login_links.hash", "login link", ""},
	{"status_components_name_key", "status_components.name", "name", "name"},
	{"status_subscribers_email_key", "status_subscribers.email", "email", "email"},
	{"status_deliveries_recipient_key", "status_deliveries.notice, status_deliveries.recipient", "recipient of this notice", ""},
	{"roster_campaigns_one_open", "roster_campaigns.state", "open roster campaign", ""},
	{"roster_requests_admin_key", "roster_requests.campaign_id, roster_requests.admin_id", "admin in this campaign", ""},
	{"roster_requests_token_key", "roster_requests.token_hash", "token", ""},
	{"journal_entries_report_key", "journal_entries.report_id", "report id", ""},
	{"agent_tokens_hash_key", "agent_tokens.hash", "token", ""},
	{"web_sessions_token_key", "web_sessions.token_hash", "session token", ""},
	{"checks_name_key", "checks.name", "name", "name"},
	{"checks_push_token_key", "checks.push_token", "push token", ""},
	{"alerts_firing_fingerprint_key", "alerts.fingerprint", "firing alert fingerprint", ""},
}

// uniqueConflict names the field behind a unique index, given as the
// engine reports it (index name or "table.column, ..."), in words an admin
// reads and as the input's field.
func uniqueConflict(name string) *registry.ConflictError {
	for _, u := range uniqueIndexes {
		if name == u.index || name == u.columns {
			return &registry.ConflictError{Field: u.field, What: u.what}
		}
	}
	return &registry.ConflictError{What: name}
}

func rebindDollar(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}
