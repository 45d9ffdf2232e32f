package status

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"maillon/internal/notify"
	"maillon/internal/registry"
)

// The forms anyone reaches without logging in: subscribing by email
// (double opt-in), confirming, and stopping emails from a link. A GET only
// shows a form, so that a mail scanner following links changes nothing;
// the POST acts.

// resendAfter keeps a form from being used to flood an address: a second
// request for the same address within this delay sends nothing.
const resendAfter = 10 * time.Minute

const maxFormBytes = 16 << 10

// Confirmation emails a client address may have sent per hour, and all
// clients together: the form must not turn the relay into a spam cannon.
const (
	perClientPerHour = 5
	allPerHour       = 200
)

// limiter counts confirmation emails per client address in the current
// hour of the registry's clock.
type limiter struct {
	mu     sync.Mutex
	hour   time.Time
	counts map[string]int
	total  int
}

func (l *limiter) allow(client string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := now.Truncate(time.Hour); !h.Equal(l.hour) {
		l.hour, l.counts, l.total = h, map[string]int{}, 0
	}
	if l.counts[client] >= perClientPerHour || l.total >= allPerHour {
		return false
	}
	l.counts[client]++
	l.total++
	return true
}

// clientIP is the request's peer address (a reverse proxy in front makes
// every client one: the overall bound still holds).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Service) serveSubscribeForm(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	v := s.baseView(l)
	f := &formView{Heading: l.T("sub.title"), Intro: l.T("sub.intro"), Action: "/status/subscribe?lang=" + l.Code(), AskEmail: true, Submit: l.T("sub.submit")}
	if s.opt.Sender == nil {
		f.Action, f.Intro = "", l.T("sub.off")
	}
	err := s.reg.Read(r.Context(), func(rd registry.Reader) error {
		cs, err := rd.ListComponents(r.Context())
		for _, c := range cs {
			f.Choices = append(f.Choices, choiceView{Value: strconv.FormatInt(c.ID, 10), Label: c.Name})
		}
		return err
	})
	if err != nil {
		s.fail(w, r, l, err)
		return
	}
	v.Form = f
	s.writeView(w, v, http.StatusOK)
}

func (s *Service) serveSubscribe(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, l, &registry.ValidationError{Message: "unreadable form"})
		return
	}
	if s.opt.Sender == nil {
		v := s.baseView(l)
		v.Form = &formView{Heading: l.T("sub.title"), Message: l.T("sub.off")}
		s.writeView(w, v, http.StatusServiceUnavailable)
		return
	}
	var ids []int64
	for _, c := range r.PostForm["component"] {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			s.fail(w, r, l, &registry.ValidationError{Field: "component", Message: strconv.Quote(c) + " is not a component"})
			return
		}
		ids = append(ids, id)
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	mailLang, ok := parseLang(r.PostFormValue("language"))
	if !ok {
		mailLang = l
	}
	// Unknown components are a bad request whatever happens next (the
	// shortcut below skips Subscribe, which checks them too).
	err := s.reg.Read(r.Context(), func(rd registry.Reader) error {
		for _, id := range ids {
			if _, err := rd.GetComponent(r.Context(), id); err != nil {
				if isNotFound(err) {
					return &registry.ValidationError{Field: "component", Message: "no component has id " + strconv.FormatInt(id, 10)}
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.fail(w, r, l, err)
		return
	}
	// An address asked for moments ago gets no second mail.
	var recent bool
	_ = s.reg.Read(r.Context(), func(rd registry.Reader) error {
		sub, err := rd.GetSubscriberByEmail(r.Context(), strings.ToLower(email))
		recent = err == nil && sub.ConfirmedAt == nil && s.reg.Now().Sub(sub.CreatedAt) < resendAfter
		return nil
	})
	if !recent && !s.limits.allow(clientIP(r), s.reg.Now()) {
		v := s.baseView(l)
		v.Form = &formView{Heading: l.T("sub.title"), Message: l.T("sub.busy")}
		s.writeView(w, v, http.StatusTooManyRequests)
		return
	}
	if !recent {
		sub, token, err := s.reg.Subscribe(r.Context(), registry.Actor{Name: "public (status page form)"}, email, mailLang.Code(), ids)
		if err != nil {
			s.fail(w, r, l, err)
			return
		}
		if token == "" {
			// Already subscribed and confirmed: nothing to send, and
			// the same answer as for anyone else.
			v := s.baseView(l)
			v.Form = &formView{Heading: l.T("sub.title"), Message: l.T("sub.sent", l.Duration(s.opt.ConfirmWithin))}
			s.writeView(w, v, http.StatusOK)
			return
		}
		link := s.base() + "/confirm?" + url.Values{"token": {token}, "lang": {mailLang.Code()}}.Encode()
		msg := notify.Message{To: []string{sub.Email}, Subject: "[" + s.opt.Title + "] " + mailLang.T("mail.confirm.subj"),
			Text: mailLang.T("mail.confirm.body", mailLang.Duration(s.opt.ConfirmWithin), link) + "\n", URL: link, Severity: "info",
			Headers: map[string]string{"Content-Language": mailLang.Code()}}
		if err := s.opt.Sender.Send(r.Context(), msg); err != nil {
			s.log.Warn("status: confirmation email not sent", "err", err)
			v := s.baseView(l)
			v.Form = &formView{Heading: l.T("sub.title"), Message: l.T("error.title") + ": " + err.Error()}
			s.writeView(w, v, http.StatusBadGateway)
			return
		}
	}
	// The same answer either way: the page tells nobody whether an
	// address is subscribed.
	v := s.baseView(l)
	v.Form = &formView{Heading: l.T("sub.title"), Message: l.T("sub.sent", l.Duration(s.opt.ConfirmWithin))}
	s.writeView(w, v, http.StatusOK)
}

func (s *Service) serveConfirmForm(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	v := s.baseView(l)
	v.Form = &formView{Heading: l.T("confirm.title"), Intro: l.T("confirm.intro"), Action: "/status/confirm?lang=" + l.Code(),
		Hidden: map[string]string{"token": r.URL.Query().Get("token")}, Submit: l.T("confirm.submit")}
	s.writeView(w, v, http.StatusOK)
}

func (s *Service) serveConfirm(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	r.ParseForm()
	sub, err := s.reg.ConfirmSubscription(r.Context(), r.PostFormValue("token"), s.opt.ConfirmWithin)
	if err != nil {
		if isInvalid(err) {
			err = registry.NotFound("link", "")
		}
		s.fail(w, r, l, err)
		return
	}
	v := s.baseView(l)
	v.Form = &formView{Heading: l.T("confirm.title"), Message: l.T("confirm.done", sub.Email)}
	s.writeView(w, v, http.StatusOK)
}

// recipientOf checks an unsubscribe link and returns who it is for.
func (s *Service) recipientOf(q url.Values) (kind string, id int64, ok bool) {
	rcpt := q.Get("r")
	kind, num, found := strings.Cut(rcpt, ":")
	if !found || (kind != "member" && kind != "subscriber") || !s.verify(rcpt, q.Get("t")) {
		return "", 0, false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	return kind, id, err == nil
}

func (s *Service) serveUnsubscribeForm(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	kind, id, ok := s.recipientOf(r.URL.Query())
	if !ok {
		s.fail(w, r, l, registry.NotFound("link", ""))
		return
	}
	v := s.baseView(l)
	hidden := map[string]string{"r": r.URL.Query().Get("r"), "t": r.URL.Query().Get("t"), "form": "1"}
	action := "/status/unsubscribe?lang=" + l.Code()
	switch kind {
	case "member":
		var m registry.Member
		err := s.reg.Read(r.Context(), func(rd registry.Reader) error {
			var err error
			m, err = rd.GetMember(r.Context(), id)
			return err
		})
		if err != nil {
			s.fail(w, r, l, err)
			return
		}
		p, err := s.reg.MemberPrefs(r.Context(), id)
		if err != nil {
			s.fail(w, r, l, err)
			return
		}
		v.Form = &formView{Heading: l.T("unsub.title"), Intro: l.T("unsub.member", m.Email), Action: action, Hidden: hidden, Submit: l.T("unsub.save"),
			Choices: []choiceView{{Value: "incidents", Label: l.T("unsub.incidents"), Checked: p.Incidents},
				{Value: "maintenance", Label: l.T("unsub.maint"), Checked: p.Maintenance}}}
	default:
		var sub registry.Subscriber
		err := s.reg.Read(r.Context(), func(rd registry.Reader) error {
			var err error
			sub, err = rd.GetSubscriber(r.Context(), id)
			return err
		})
		if err != nil {
			s.fail(w, r, l, err)
			return
		}
		v.Form = &formView{Heading: l.T("unsub.title"), Intro: l.T("unsub.subscriber", sub.Email), Action: action, Hidden: hidden, Submit: l.T("unsub.submit")}
	}
	s.writeView(w, v, http.StatusOK)
}

// serveUnsubscribe acts on the form, or on a mail client's one-click
// request (RFC 8058: a POST of "List-Unsubscribe=One-Click" to the link,
// which stops everything).
func (s *Service) serveUnsubscribe(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, l, &registry.ValidationError{Message: "unreadable form"})
		return
	}
	// The link's r and t come in the URL (one-click) or in the form.
	kind, id, ok := s.recipientOf(r.Form)
	if !ok {
		s.fail(w, r, l, registry.NotFound("link", ""))
		return
	}
	actor := registry.Actor{Name: r.Form.Get("r") + " (unsubscribe link)"}
	v := s.baseView(l)
	switch kind {
	case "member":
		p := registry.MemberPrefs{MemberID: id}
		if r.PostForm.Get("form") == "1" {
			p.Incidents, p.Maintenance = r.PostForm.Get("incidents") == "yes", r.PostForm.Get("maintenance") == "yes"
		}
		if _, err := s.reg.SetMemberPrefs(r.Context(), actor, p); err != nil {
			s.fail(w, r, l, err)
			return
		}
		v.Form = &formView{Heading: l.T("unsub.title"), Message: l.T("unsub.saved")}
	default:
		var email string
		_ = s.reg.Read(r.Context(), func(rd registry.Reader) error {
			sub, err := rd.GetSubscriber(r.Context(), id)
			email = sub.Email
			return err
		})
		err := s.reg.Unsubscribe(r.Context(), actor, id)
		if err != nil && !errors.Is(err, registry.ErrNotFound) {
			s.fail(w, r, l, err)
			return
		}
		v.Form = &formView{Heading: l.T("unsub.title"), Message: l.T("unsub.done", email)}
	}
	s.writeView(w, v, http.StatusOK)
}
