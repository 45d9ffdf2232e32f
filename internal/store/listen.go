package store

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"maillon/internal/registry"
)

// ChangeChannel is the PostgreSQL NOTIFY channel of registry changes.
const ChangeChannel = "maillon_changes"

// Listen delivers the registry changes committed by every instance sharing
// this PostgreSQL database until ctx ends, reconnecting after failures.
// After a reconnection it delivers one EntityAll event, since changes may
// have been missed meanwhile. LISTEN needs a session of its own, so behind
// PgBouncer in transaction mode, listenURL must point at PostgreSQL itself
// (it defaults to the database URL). On SQLite it returns at once: one
// daemon owns the file and publishes its own changes.
func (s *Store) Listen(ctx context.Context, listenURL string, log *slog.Logger, deliver func(registry.Event)) error {
	if s.dialect != postgresDialect {
		return nil
	}
	cfg, err := pgConnConfig(listenURL)
	if err != nil {
		return err
	}
	backoff := time.Second
	first := true
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, cfg, func() {
			if !first {
				deliver(registry.Event{Entity: registry.EntityAll, At: time.Now().UTC()})
			}
			first = false
			backoff = time.Second
		}, deliver)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("change feed interrupted; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
	return nil
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig, connected func(), deliver func(registry.Event)) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+ChangeChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var p struct {
			Seq    int64  `json:"seq"`
			Entity string `json:"entity"`
			ID     int64  `json:"id"`
			Action string `json:"action"`
		}
		if err := json.Unmarshal([]byte(n.Payload), &p); err != nil {
			continue
		}
		deliver(registry.Event{Seq: p.Seq, Entity: p.Entity, ID: p.ID, Action: p.Action, At: time.Now().UTC()})
	}
}
