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
		return fmt.Errorf("%s is already taken: %w", uniqueWhat(name), registry.ErrConflict)
	case foreignKeyViolation:
		return fmt.Errorf("still referenced by other records (%s): %w", name, registry.ErrInUse)
	case busy:
		return fmt.Errorf("database is busy: %w", err)
	}
	return err
}

// uniqueWhat names the field behind a unique index in words an admin reads.
func uniqueWhat(index string) string {
	index = strings.TrimSuffix(index, "_key")
	switch {
	case strings.Contains(index, "login"):
		return "login"
	case strings.Contains(index, "email"):
		return "email"
	case strings.Contains(index, "serial"):
		return "serial number"
	case strings.Contains(index, "mac"):
		return "MAC address"
	case strings.Contains(index, "cidr"):
		return "prefix"
	case strings.Contains(index, "block"), strings.Contains(index, "allocations"):
		return "address block"
	case strings.Contains(index, "host_name"), strings.Contains(index, "ports"):
		return "port name on this switch"
	case strings.Contains(index, "name"):
		return "name"
	}
	return index
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
