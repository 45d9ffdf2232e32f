package registry

import (
	"context"
	"strings"
)

// RecordAction writes an audit entry for something done outside the
// registry's tables that admins must be able to trace, such as a
// Disconnect-Request sent to a NAS and its answer.
func (s *Service) RecordAction(ctx context.Context, a Actor, action, entity string, id int64, details any) error {
	return s.write(ctx, a, func(c *change) error {
		return c.record(action, entity, id, nil, details)
	})
}

// Disconnect is a Disconnect-Request sent to a NAS for one open session
// of a line taken out of service, and the NAS's answer: the audit entry
// "disconnect" records it and the edit that suspended the line returns it.
type Disconnect struct {
	NAS       string `json:"nas"`
	SessionID string `json:"session_id"`
	Login     string `json:"login"`
	// Result is "ack", "nak", "nak (Error-Cause N)", "timeout", or
	// "error: ..." when the request could not be sent.
	Result string `json:"result"`
}

// Outcome is Result without its detail: "ack", "nak", "timeout" or
// "error", for counting.
func (d Disconnect) Outcome() string {
	for _, o := range []string{"ack", "nak", "timeout"} {
		if d.Result == o || strings.HasPrefix(d.Result, o+" ") {
			return o
		}
	}
	return "error"
}
