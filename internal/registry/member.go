package registry

import (
	"net/mail"
	"strings"
	"time"
)

// MemberState is the administrative state of a member, set by people.
type MemberState string

const (
	MemberActive    MemberState = "active"
	MemberSuspended MemberState = "suspended"
	MemberArchived  MemberState = "archived"
)

// Member is a person or household that belongs to the association.
type Member struct {
	ID      int64       `json:"id"`
	Name    string      `json:"name"`
	Email   string      `json:"email"`
	Phone   string      `json:"phone,omitempty"`
	Address string      `json:"address,omitempty"`
	SiteID  *int64      `json:"site_id,omitempty"`
	Room    string      `json:"room,omitempty"`
	State   MemberState `json:"state"`
	Notes   string      `json:"notes,omitempty"`
	Periods []Period    `json:"periods"`
	// Membership and MembershipEnd are computed for today when the member
	// is shown (see Annotate), so an expiry needs nobody to edit anything.
	Membership    Membership `json:"membership,omitempty"`
	MembershipEnd *Date      `json:"membership_end,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// Period is one membership period; End is inclusive and empty for an
// open-ended membership.
type Period struct {
	Start Date  `json:"start"`
	End   *Date `json:"end,omitempty"`
}

// Membership says whether a member is a member today, computed from the
// periods so an expiry needs nobody to edit anything.
type Membership string

const (
	MembershipCurrent Membership = "current"
	MembershipExpired Membership = "expired"
	MembershipFuture  Membership = "future"
	MembershipNone    Membership = "none"
)

// MembershipAt reports the membership status on the given day (UTC).
func (m *Member) MembershipAt(now time.Time) Membership {
	if len(m.Periods) == 0 {
		return MembershipNone
	}
	today := DateOf(now)
	future := false
	for _, p := range m.Periods {
		if p.Start.After(today) {
			future = true
			continue
		}
		if p.End == nil || !today.After(*p.End) {
			return MembershipCurrent
		}
	}
	if future {
		return MembershipFuture
	}
	return MembershipExpired
}

// Annotate fills the computed membership fields for the day of now.
func (m *Member) Annotate(now time.Time) {
	m.Membership = m.MembershipAt(now)
	m.MembershipEnd = m.LastDay()
}

// LastDay is the last day of the latest period, nil when open-ended or
// when there is no period.
func (m *Member) LastDay() *Date {
	var end *Date
	for _, p := range m.Periods {
		if p.End == nil {
			return nil
		}
		if end == nil || p.End.After(*end) {
			e := *p.End
			end = &e
		}
	}
	return end
}

// MemberInput creates or edits a member; nil fields are left as they are.
type MemberInput struct {
	Name    *string      `json:"name,omitempty"`
	Email   *string      `json:"email,omitempty"`
	Phone   *string      `json:"phone,omitempty"`
	Address *string      `json:"address,omitempty"`
	SiteID  *int64       `json:"site_id,omitempty"`
	Room    *string      `json:"room,omitempty"`
	State   *MemberState `json:"state,omitempty"`
	Notes   *string      `json:"notes,omitempty"`
	// Periods replaces all periods when set.
	Periods *[]Period `json:"periods,omitempty"`
}

func (in MemberInput) apply(m *Member) {
	set(&m.Name, in.Name)
	set(&m.Email, in.Email)
	set(&m.Phone, in.Phone)
	set(&m.Address, in.Address)
	set(&m.Room, in.Room)
	set(&m.State, in.State)
	set(&m.Notes, in.Notes)
	if in.SiteID != nil {
		m.SiteID = zeroNil(*in.SiteID)
	}
	if in.Periods != nil {
		m.Periods = append([]Period(nil), (*in.Periods)...)
	}
}

func (m *Member) validate() error {
	m.Name = strings.TrimSpace(m.Name)
	if m.Name == "" {
		return invalid("name", "is required")
	}
	email, err := NormalizeEmail(m.Email)
	if err != nil {
		return err
	}
	m.Email = email
	m.Phone = strings.TrimSpace(m.Phone)
	if m.Phone != "" && !validPhone(m.Phone) {
		return invalid("phone", "%q is not a phone number (digits, spaces, +, -, . and parentheses)", m.Phone)
	}
	if m.State == "" {
		m.State = MemberActive
	}
	switch m.State {
	case MemberActive, MemberSuspended, MemberArchived:
	default:
		return invalid("state", "%q is not one of active, suspended, archived", m.State)
	}
	for i, p := range m.Periods {
		if p.Start.IsZero() {
			return invalid("periods", "period %d has no start date", i+1)
		}
		if p.End != nil && p.End.Before(p.Start) {
			return invalid("periods", "period %d ends (%s) before it starts (%s)", i+1, p.End, p.Start)
		}
	}
	return nil
}

// NormalizeEmail checks an address and returns it without surrounding space
// and with a lower-case domain.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("email", "is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", invalid("email", "%q is not an email address", s)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") {
		return "", invalid("email", "%q is not an email address (no domain)", s)
	}
	return s[:at] + "@" + strings.ToLower(s[at+1:]), nil
}

func validPhone(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +-.()", r):
		default:
			return false
		}
	}
	return digits >= 3 && digits <= 20
}

// CheckNew validates a new member's input as CreateMember does, apart from
// what needs the database (the site it names, a taken email), so that an
// import can report every bad line before it writes anything.
func (in MemberInput) CheckNew() error {
	var m Member
	in.apply(&m)
	return m.validate()
}
