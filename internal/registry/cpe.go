package registry

import (
	"strings"
	"time"

	"maillon/internal/macaddr"
)

// CPEState is where a piece of customer equipment is.
type CPEState string

const (
	CPEInStock  CPEState = "in-stock"
	CPELent     CPEState = "lent"
	CPESold     CPEState = "sold"
	CPEReturned CPEState = "returned"
	CPEBroken   CPEState = "broken"
)

// CPE is a router or modem from the association's stock.
type CPE struct {
	ID        int64     `json:"id"`
	Model     string    `json:"model"`
	Serial    string    `json:"serial"`
	MAC       string    `json:"mac,omitempty"`
	State     CPEState  `json:"state"`
	MemberID  *int64    `json:"member_id,omitempty"`
	Notes     string    `json:"notes,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CPEInput creates or edits a CPE.
type CPEInput struct {
	Model    *string   `json:"model,omitempty"`
	Serial   *string   `json:"serial,omitempty"`
	MAC      *string   `json:"mac,omitempty"`
	State    *CPEState `json:"state,omitempty"`
	MemberID *int64    `json:"member_id,omitempty"`
	Notes    *string   `json:"notes,omitempty"`
}

func (in CPEInput) apply(c *CPE) {
	set(&c.Model, in.Model)
	set(&c.Serial, in.Serial)
	set(&c.MAC, in.MAC)
	set(&c.State, in.State)
	set(&c.Notes, in.Notes)
	if in.MemberID != nil {
		c.MemberID = zeroNil(*in.MemberID)
	}
}

func (c *CPE) validate() error {
	c.Model = strings.TrimSpace(c.Model)
	c.Serial = strings.TrimSpace(c.Serial)
	if c.Model == "" {
		return invalid("model", "is required")
	}
	if c.Serial == "" {
		return invalid("serial", "is required")
	}
	if c.MAC != "" {
		mac, err := macaddr.Normalize(c.MAC)
		if err != nil {
			return invalid("mac", "%v", err)
		}
		c.MAC = mac
	}
	if c.State == "" {
		c.State = CPEInStock
	}
	switch c.State {
	case CPEInStock, CPEReturned, CPEBroken:
	case CPELent, CPESold:
		if c.MemberID == nil {
			return invalid("member_id", "a %s CPE needs a holder", c.State)
		}
	default:
		return invalid("state", "%q is not one of in-stock, lent, sold, returned, broken", c.State)
	}
	return nil
}
