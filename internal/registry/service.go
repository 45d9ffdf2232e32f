// Package registry is maillon's source of truth: members, subscriptions,
// IPAM, NAS clients, sites, hosts, CPE and admins. Every change goes through
// a Service method that validates it, writes it in one transaction with its
// audit-log entry, and then publishes a change event.
package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"maillon/internal/secret"
)

// Options tunes the registry.
type Options struct {
	// Quarantine is how long a released address waits before reuse.
	Quarantine time.Duration
	// DelegatedBits is the default delegated-prefix length of new pools.
	DelegatedBits int
	// Now is the clock; tests set it.
	Now func() time.Time
	// CheckAttribute validates an extra RADIUS reply attribute; nil
	// checks only the "Name = value" form.
	CheckAttribute func(name, value string) error
	// CheckRecord validates a DNS record's data in its zone; nil checks
	// only the type and that data is present.
	CheckRecord func(origin, name, typ string, ttl int, data string) error
}

// DefaultQuarantine keeps a freed address out of use for 30 days, long
// enough for abuse reports about its previous holder to arrive.
const DefaultQuarantine = 30 * 24 * time.Hour

// Service is the registry's write path and its read helpers.
type Service struct {
	store  Store
	box    *secret.Box
	broker *Broker
	opt    Options
}

// New returns a registry service on store, sealing secrets with box.
func New(store Store, box *secret.Box, opt Options) *Service {
	if opt.Quarantine == 0 {
		opt.Quarantine = DefaultQuarantine
	}
	if opt.DelegatedBits == 0 {
		opt.DelegatedBits = 56
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{store: store, box: box, broker: NewBroker(), opt: opt}
}

// Events is where change events are published.
func (s *Service) Events() *Broker { return s.broker }

// Now is the registry's clock.
func (s *Service) Now() time.Time { return s.opt.Now().UTC() }

// Read gives read access to the store.
func (s *Service) Read(ctx context.Context, fn func(Reader) error) error {
	return s.store.Read(ctx, fn)
}

// change is one transaction's worth of writes with their audit entries.
type change struct {
	ctx    context.Context
	tx     Tx
	actor  Actor
	now    time.Time
	events []Event

	// prefixes caches the prefix list for the rest of the transaction
	// (nil until read, reset when a prefix changes), and locked the pools
	// this transaction holds the allocation lock of, with their cursors:
	// once locked, nobody else moves a cursor until we commit, so a batch
	// of thousands of lines reads and locks each pool once.
	prefixes []Prefix
	locked   map[int64]*Prefix
	// drained marks the locked pools found with no block out of
	// quarantine: none can come back within this transaction unless it
	// releases some, so the search is skipped until then.
	drained map[int64]bool
	// cursors are the pool cursors moved by this transaction, written
	// once before it commits rather than after every allocation.
	cursors map[int64]int64
	// made remembers the objects this transaction created, by entity, so
	// that checking a reference to one of them (the member of a line
	// created a row earlier in the same import) costs no query.
	made map[string]map[int64]bool
}

// moveCursor records a pool's new cursor, written by flush.
func (c *change) moveCursor(p *Prefix, next int64) {
	p.NextIndex = next
	if c.cursors == nil {
		c.cursors = map[int64]int64{}
	}
	c.cursors[p.ID] = next
}

// flush writes what the transaction deferred; write calls it before
// committing.
func (c *change) flush() error {
	for id, next := range c.cursors {
		if err := c.tx.SetPrefixCursor(c.ctx, id, next); err != nil {
			return err
		}
	}
	c.cursors = nil
	return nil
}

func (c *change) remember(entity string, id int64) {
	if c.made == nil {
		c.made = map[string]map[int64]bool{}
	}
	if c.made[entity] == nil {
		c.made[entity] = map[int64]bool{}
	}
	c.made[entity][id] = true
}

// ref checks that the object a field refers to exists, without a query
// when this transaction created it.
func ref[T any](c *change, field, entity string, id int64, get func(context.Context, int64) (T, error)) error {
	if c.made[entity][id] {
		return nil
	}
	if _, err := get(c.ctx, id); err != nil {
		return exists(field, err)
	}
	return nil
}

// listPrefixes is ListPrefixes, read once per transaction.
func (c *change) listPrefixes() ([]Prefix, error) {
	if c.prefixes == nil {
		all, err := c.tx.ListPrefixes(c.ctx)
		if err != nil {
			return nil, err
		}
		c.prefixes = append(make([]Prefix, 0, len(all)), all...)
	}
	return c.prefixes, nil
}

// lockPool takes the allocation lock of a pool once per transaction and
// returns the pool, whose NextIndex the caller keeps up to date.
func (c *change) lockPool(id int64) (*Prefix, error) {
	if p, ok := c.locked[id]; ok {
		return p, nil
	}
	p, err := c.tx.LockPrefix(c.ctx, id)
	if err != nil {
		return nil, err
	}
	if c.locked == nil {
		c.locked = map[int64]*Prefix{}
	}
	c.locked[id] = &p
	return &p, nil
}

// prefixesChanged drops what the transaction cached about prefixes.
func (c *change) prefixesChanged() {
	c.prefixes = nil
	c.locked = nil
	c.drained = nil
}

func (c *change) record(action, entity string, id int64, before, after any) error {
	if !slices.Contains(auditEntities, entity) {
		// Caught by tests: an entity missing from the list could not be
		// looked up with "maillon audit --entity".
		return fmt.Errorf("audit %s %d: %q is not in registry.auditEntities: add it there", entity, id, entity)
	}
	e := AuditEntry{At: c.now, Actor: c.actor.Name, Action: action, Entity: entity, EntityID: id}
	var err error
	if before != nil {
		if e.Before, err = json.Marshal(before); err != nil {
			return fmt.Errorf("audit %s %d: %w", entity, id, err)
		}
	}
	if after != nil {
		if e.After, err = json.Marshal(after); err != nil {
			return fmt.Errorf("audit %s %d: %w", entity, id, err)
		}
	}
	if err := c.tx.AppendAudit(c.ctx, &e); err != nil {
		return fmt.Errorf("audit %s %d: %w", entity, id, err)
	}
	c.events = append(c.events, Event{Seq: e.ID, Entity: entity, ID: id, Action: action, At: c.now})
	return nil
}

// write runs fn in a transaction and publishes its events once committed.
func (s *Service) write(ctx context.Context, actor Actor, fn func(*change) error) error {
	if actor.Name == "" {
		return fmt.Errorf("registry change without an actor")
	}
	var c *change
	err := s.store.Write(ctx, func(tx Tx) error {
		// Microseconds: what both engines keep, so what a change returns
		// is what a read gives back.
		c = &change{ctx: ctx, tx: tx, actor: actor, now: s.Now().Truncate(time.Microsecond)}
		if err := fn(c); err != nil {
			return err
		}
		return c.flush()
	})
	if err != nil {
		return err
	}
	s.broker.Publish(c.events...)
	return nil
}

// entity describes one kind of registry object so that create, update and
// delete (validate, write, audit, publish) are written once.
type entity[T, I any] struct {
	name   string
	id     func(*T) int64
	get    func(Tx, context.Context, int64) (T, error)
	insert func(Tx, context.Context, *T) error
	update func(Tx, context.Context, *T) error
	delete func(Tx, context.Context, int64) error
	// prepare applies the input to the object and validates the result;
	// before is nil on create.
	prepare func(c *change, before *T, obj *T, in I) error
	// created runs after the insert (address allocation, for instance).
	created func(c *change, obj *T) error
	// deleting runs before the delete and may refuse it.
	deleting func(c *change, obj *T) error
	// reload reads the object back with what the insert or update derived.
	reload bool
	// secrets names the write-only fields an input sets (a password, a
	// shared secret): the object never shows them, so an update's audit
	// entry says "<name>_changed": true, or a change of password would
	// look like no change at all.
	secrets func(in I) []string
	// createdFills says created leaves the object as reload would read it,
	// so a create skips the read-back (a batch of lines saves a query per
	// line).
	createdFills bool
}

func create[T, I any](s *Service, ctx context.Context, actor Actor, e entity[T, I], in I) (T, error) {
	var obj T
	err := s.write(ctx, actor, func(c *change) error {
		var err error
		obj, err = createIn(c, e, in)
		return err
	})
	return obj, err
}

func createIn[T, I any](c *change, e entity[T, I], in I) (T, error) {
	obj := *new(T)
	if err := e.prepare(c, nil, &obj, in); err != nil {
		return obj, err
	}
	if err := e.insert(c.tx, c.ctx, &obj); err != nil {
		return obj, fmt.Errorf("create %s: %w", e.name, err)
	}
	c.remember(e.name, e.id(&obj))
	if e.created != nil {
		if err := e.created(c, &obj); err != nil {
			return obj, err
		}
	}
	if e.reload && !e.createdFills {
		var err error
		if obj, err = e.get(c.tx, c.ctx, e.id(&obj)); err != nil {
			return obj, err
		}
	}
	return obj, c.record("create", e.name, e.id(&obj), nil, obj)
}

func update[T, I any](s *Service, ctx context.Context, actor Actor, e entity[T, I], id int64, in I) (T, error) {
	_, obj, err := updateFrom(s, ctx, actor, e, id, in)
	return obj, err
}

// updateFrom is update that also returns the object as the change's
// transaction read it, for what depends on what changed: a read before
// the update may be stale by then.
func updateFrom[T, I any](s *Service, ctx context.Context, actor Actor, e entity[T, I], id int64, in I) (T, T, error) {
	var was, obj T
	err := s.write(ctx, actor, func(c *change) error {
		before, err := e.get(c.tx, ctx, id)
		if err != nil {
			return err
		}
		was, obj = before, before
		if err := e.prepare(c, &before, &obj, in); err != nil {
			return err
		}
		if err := e.update(c.tx, ctx, &obj); err != nil {
			return fmt.Errorf("update %s %d: %w", e.name, id, err)
		}
		if e.reload {
			if obj, err = e.get(c.tx, ctx, id); err != nil {
				return err
			}
		}
		var after any = obj
		if e.secrets != nil {
			if after, err = withChanged(obj, e.secrets(in)); err != nil {
				return fmt.Errorf("audit %s %d: %w", e.name, id, err)
			}
		}
		return c.record("update", e.name, id, before, after)
	})
	return was, obj, err
}

// withChanged is obj as JSON with "<name>_changed": true for each name.
func withChanged(obj any, names []string) (any, error) {
	if len(names) == 0 {
		return obj, nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, n := range names {
		m[n+"_changed"] = true
	}
	return m, nil
}

func remove[T, I any](s *Service, ctx context.Context, actor Actor, e entity[T, I], id int64) error {
	return s.write(ctx, actor, func(c *change) error {
		before, err := e.get(c.tx, ctx, id)
		if err != nil {
			return err
		}
		if e.deleting != nil {
			if err := e.deleting(c, &before); err != nil {
				return err
			}
		}
		if err := e.delete(c.tx, ctx, id); err != nil {
			return fmt.Errorf("delete %s %d: %w", e.name, id, err)
		}
		delete(c.made[e.name], id)
		return c.record("delete", e.name, id, before, nil)
	})
}

// exists checks a reference inside the transaction, with a field-named error.
func exists(field string, err error) error {
	if err != nil {
		return invalid(field, "%v", err)
	}
	return nil
}
