package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Role grants a set of rights to an admin.
type Role string

const (
	RoleAdmin            Role = "admin"             // everything
	RoleTechnicalOfficer Role = "technical-officer" // network and hosts, SSH access
	RoleReadOnly         Role = "read-only"         // look, never touch
)

// Admin is a volunteer who administers the ISP.
type Admin struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Roles []Role `json:"roles"`
	// DevicePasswordSet tells whether the admin may log in to switches
	// and routers through RADIUS (with the admin or technical-officer
	// role); the password itself is sealed and never shown.
	DevicePasswordSet bool      `json:"device_password_set"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`

	SealedDevicePassword []byte `json:"-"`
}

// Has reports whether the admin holds role.
func (a *Admin) Has(r Role) bool { return slices.Contains(a.Roles, r) }

// CanAdministerDevices reports whether the admin may log in to network
// devices (Service-Type Administrative-User).
func (a *Admin) CanAdministerDevices() bool { return a.CanWrite() && a.DevicePasswordSet }

// CanWrite reports whether the admin may change the registry.
func (a *Admin) CanWrite() bool { return a.Has(RoleAdmin) || a.Has(RoleTechnicalOfficer) }

// AdminInput creates or edits an admin.
type AdminInput struct {
	Name  *string `json:"name,omitempty"`
	Email *string `json:"email,omitempty"`
	Roles *[]Role `json:"roles,omitempty"`
	// DevicePassword sets the RADIUS device-administration password; ""
	// removes it.
	DevicePassword *string `json:"device_password,omitempty"`
}

func (in AdminInput) apply(a *Admin) {
	set(&a.Name, in.Name)
	set(&a.Email, in.Email)
	if in.Roles != nil {
		a.Roles = append([]Role(nil), (*in.Roles)...)
	}
}

func (a *Admin) validate() error {
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		return invalid("name", "is required")
	}
	email, err := NormalizeEmail(a.Email)
	if err != nil {
		return err
	}
	a.Email = email
	seen := map[Role]bool{}
	roles := a.Roles[:0]
	for _, r := range a.Roles {
		switch r {
		case RoleAdmin, RoleTechnicalOfficer, RoleReadOnly:
		default:
			return invalid("roles", "%q is not one of admin, technical-officer, read-only", r)
		}
		if !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	a.Roles = roles
	return nil
}

// Token is an API token; only its hash is stored.
type Token struct {
	ID         int64      `json:"id"`
	AdminID    int64      `json:"admin_id"`
	Name       string     `json:"name"`
	Hash       string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// tokenPrefix makes tokens recognisable to secret scanners and to people.
const tokenPrefix = "mln_"

// NewTokenSecret returns a fresh token and the hash to store. A plain
// SHA-256 suffices: the token carries 256 random bits, so there is nothing
// for a slow hash to protect against.
func NewTokenSecret() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how a presented token is looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
