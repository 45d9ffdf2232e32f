package registry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrForbidden means the caller is known but may not do this (an agent
// token reporting for another host).
var ErrForbidden = errors.New("forbidden")

// AddJournalEntry writes an intervention in a host's journal, signed by
// the actor.
func (s *Service) AddJournalEntry(ctx context.Context, a Actor, in JournalInput) (JournalEntry, error) {
	at, err := in.validate(s.Now().Truncate(time.Microsecond))
	if err != nil {
		return JournalEntry{}, err
	}
	var e JournalEntry
	err = s.write(ctx, a, func(c *change) error {
		host, err := c.tx.GetHost(ctx, in.HostID)
		if err != nil {
			return exists("host_id", err)
		}
		e = JournalEntry{HostID: &host.ID, Host: host.Name, Kind: JournalIntervention, At: at, Author: a.Name,
			Text: in.Text, RelatedKind: in.RelatedKind, RelatedID: in.RelatedID, CreatedAt: c.now}
		if err := c.tx.InsertJournalEntry(ctx, &e); err != nil {
			return fmt.Errorf("write journal of %s: %w", host.Name, err)
		}
		return c.record("create", "journal_entry", e.ID, nil, e)
	})
	return e, err
}

// AgentActor is the actor a host's agent writes as.
func AgentActor(host string) Actor { return Actor{Name: "agent:" + host} }

// RecordChangeReport writes an agent's report in the journal of the
// token's host. created is false when the report was already recorded (an
// agent that lost the answer sends it again): the entry is the first one.
func (s *Service) RecordChangeReport(ctx context.Context, token AgentToken, rep ChangeReport) (entry JournalEntry, created bool, err error) {
	if err := rep.validate(); err != nil {
		return JournalEntry{}, false, err
	}
	var host Host
	if err := s.store.Read(ctx, func(r Reader) error {
		host, err = r.GetHost(ctx, token.HostID)
		return err
	}); err != nil {
		return JournalEntry{}, false, fmt.Errorf("host of agent token %d: %w", token.ID, err)
	}
	if ref := strings.TrimSpace(rep.Host); ref != "" && !strings.EqualFold(ref, host.Name) && ref != strconv.FormatInt(host.ID, 10) {
		return JournalEntry{}, false, fmt.Errorf("the agent token of host %s may not report for host %q: %w", host.Name, rep.Host, ErrForbidden)
	}
	rep.Host = host.Name
	// Seen before: the same entry, without a second audit line.
	again := func() (JournalEntry, bool, error) {
		var old JournalEntry
		err := s.store.Read(ctx, func(r Reader) error {
			var err error
			old, err = r.GetJournalEntryByReport(ctx, rep.ID)
			return err
		})
		if err != nil {
			return JournalEntry{}, false, err
		}
		if old.HostID == nil || *old.HostID != host.ID {
			return JournalEntry{}, false, fmt.Errorf("report id %s was already used by another host: %w", rep.ID, ErrConflict)
		}
		return old, true, nil
	}
	if old, found, err := again(); found || (err != nil && !errors.Is(err, ErrNotFound)) {
		return old, false, err
	}
	err = s.write(ctx, AgentActor(host.Name), func(c *change) error {
		at := rep.LastChange.UTC().Truncate(time.Microsecond)
		if at.IsZero() || at.After(c.now) {
			at = c.now
		}
		entry = JournalEntry{HostID: &host.ID, Host: host.Name, Kind: JournalChangeReport, At: at, Author: c.actor.Name,
			Text: rep.Summary(), Report: &rep, CreatedAt: c.now}
		if err := c.tx.InsertJournalEntry(ctx, &entry); err != nil {
			return fmt.Errorf("record report %s of %s: %w", rep.ID, host.Name, err)
		}
		if err := c.tx.TouchAgentToken(ctx, token.ID, c.now); err != nil {
			return err
		}
		// The audit log keeps the summary; the file list is in the entry.
		return c.record("report", "journal_entry", entry.ID, nil, map[string]any{
			"host_id": host.ID, "host": host.Name, "kind": entry.Kind, "at": entry.At, "text": entry.Text, "report_id": rep.ID,
		})
	})
	if errors.Is(err, ErrConflict) {
		// Two deliveries raced: the other one won.
		if old, found, err2 := again(); found {
			return old, false, nil
		} else if err2 != nil && !errors.Is(err2, ErrNotFound) {
			return JournalEntry{}, false, err2
		}
	}
	if err != nil {
		return JournalEntry{}, false, err
	}
	return entry, true, nil
}

// CreateAgentToken issues the token a host's agent reports with. It is
// returned once; only its hash is kept.
func (s *Service) CreateAgentToken(ctx context.Context, a Actor, hostID int64, name string) (string, AgentToken, error) {
	token, _ := NewTokenSecret()
	token = agentTokenPrefix + strings.TrimPrefix(token, tokenPrefix)
	t := AgentToken{HostID: hostID, Name: strings.TrimSpace(name), Hash: HashToken(token)}
	if t.Name == "" {
		t.Name = "agent"
	}
	if len(t.Name) > 200 {
		return "", AgentToken{}, invalid("name", "is longer than 200 bytes")
	}
	err := s.write(ctx, a, func(c *change) error {
		host, err := c.tx.GetHost(ctx, hostID)
		if err != nil {
			return exists("host_id", err)
		}
		t.Host, t.CreatedAt, t.CreatedBy = host.Name, c.now, a.Name
		if err := c.tx.InsertAgentToken(ctx, &t); err != nil {
			return fmt.Errorf("create agent token for %s: %w", host.Name, err)
		}
		return c.record("create", "agent_token", t.ID, nil, t)
	})
	if err != nil {
		return "", AgentToken{}, err
	}
	return token, t, nil
}

// RevokeAgentToken deletes an agent token.
func (s *Service) RevokeAgentToken(ctx context.Context, a Actor, id int64) error {
	return s.write(ctx, a, func(c *change) error {
		if err := c.tx.DeleteAgentToken(ctx, id); err != nil {
			return fmt.Errorf("revoke agent token %d: %w", id, err)
		}
		return c.record("delete", "agent_token", id, map[string]int64{"id": id}, nil)
	})
}

// AuthenticateAgent returns the agent token a presented token is, and its
// host. Admin tokens are not agent tokens, nor the reverse.
func (s *Service) AuthenticateAgent(ctx context.Context, token string) (AgentToken, error) {
	if !strings.HasPrefix(token, agentTokenPrefix) {
		return AgentToken{}, ErrUnauthenticated
	}
	var t AgentToken
	err := s.store.Read(ctx, func(r Reader) error {
		var err error
		t, err = r.GetAgentTokenByHash(ctx, HashToken(token))
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthenticated
		}
		return err
	})
	return t, err
}
