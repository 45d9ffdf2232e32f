package web

import (
	"context"
	"errors"

	"maillon/internal/registry"
)

// editReport is what an edit did beyond the registry: the API answers
// body instead of the object, the admin pages show flash with counts.
type editReport struct {
	body   any
	flash  string
	counts []int
}

// ErrNoRADIUS is what Options.Disconnect answers on an instance that does
// not serve RADIUS: nothing was sent, which is a fact to tell, not a
// failure to log.
var ErrNoRADIUS = errors.New("RADIUS is off on this instance: no Disconnect-Request was sent; the sessions end at their next re-authentication or at the day's Session-Timeout")

// lineEdit is the API's answer to an edit that took a line out of
// service: the line, then what each open session's NAS answered to its
// Disconnect-Request (present, possibly empty, only after such an edit).
type lineEdit struct {
	registry.Subscription
	Disconnects []registry.Disconnect `json:"disconnects"`
	// DisconnectError says why no request could be sent at all.
	DisconnectError string `json:"disconnect_error,omitempty"`
}

// lineUpdated disconnects the open sessions of a line that an edit
// suspended or closed, so that the suspension takes effect now, and
// reports each NAS's answer: a suspension whose sessions stay open must
// not look like a success. Other edits report nothing.
func (s *Server) lineUpdated(ctx context.Context, before, after *registry.Subscription) *editReport {
	if s.opt.Disconnect == nil || before.State != registry.SubActive || after.State == registry.SubActive {
		return nil
	}
	body := lineEdit{Subscription: *after, Disconnects: []registry.Disconnect{}}
	ds, err := s.opt.Disconnect(ctx, *after)
	if errors.Is(err, ErrNoRADIUS) {
		body.DisconnectError = err.Error()
		return &editReport{body: body, flash: "sub.disconnect.norad"}
	}
	if err != nil {
		s.opt.Logger.Error("disconnecting a line taken out of service", "login", after.Login, "err", err)
		body.DisconnectError = err.Error()
		return &editReport{body: body, flash: "sub.disconnect.failed"}
	}
	body.Disconnects = append(body.Disconnects, ds...)
	if len(ds) == 0 {
		return &editReport{body: body, flash: "sub.disconnect.none"}
	}
	var ack, nak, timeout, failed int
	for _, d := range ds {
		switch d.Outcome() {
		case "ack":
			ack++
		case "nak":
			nak++
		case "timeout":
			timeout++
		default:
			failed++
		}
	}
	return &editReport{body: body, flash: "sub.disconnect.sent", counts: []int{len(ds), ack, nak, timeout, failed}}
}
