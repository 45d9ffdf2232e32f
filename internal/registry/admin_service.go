package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

const devicePasswordContext = "admins.device_password"

func (s *Service) admins() entity[Admin, AdminInput] {
	return entity[Admin, AdminInput]{
		name:    "admin",
		id:      func(a *Admin) int64 { return a.ID },
		get:     Tx.GetAdmin,
		insert:  Tx.InsertAdmin,
		update:  Tx.UpdateAdmin,
		delete:  Tx.DeleteAdmin,
		secrets: func(in AdminInput) []string { return setFields(in.DevicePassword != nil, "device_password") },
		prepare: func(_ *change, _ *Admin, a *Admin, in AdminInput) error {
			in.apply(a)
			if in.DevicePassword != nil {
				a.SealedDevicePassword = nil
				if *in.DevicePassword != "" {
					if err := validatePassword(*in.DevicePassword); err != nil {
						return &ValidationError{Field: "device_password", Message: err.(*ValidationError).Message}
					}
					a.SealedDevicePassword = s.box.Seal(*in.DevicePassword, devicePasswordContext)
				}
			}
			a.DevicePasswordSet = len(a.SealedDevicePassword) > 0
			return a.validate()
		},
		// An admin who is gone keeps no SSH access.
		deleting: func(c *change, a *Admin) error {
			_, err := c.revokeAll(CertificateFilter{Kind: CertUser, AdminID: a.ID}, "admin "+a.Name+" deleted")
			return err
		},
	}
}

// DevicePassword returns an admin's device-administration password, for
// the RADIUS server only.
func (s *Service) DevicePassword(a *Admin) (string, error) {
	if len(a.SealedDevicePassword) == 0 {
		return "", fmt.Errorf("admin %s has no device password", a.Name)
	}
	p, err := s.box.Open(a.SealedDevicePassword, devicePasswordContext)
	if err != nil {
		return "", fmt.Errorf("device password of %s: %w", a.Name, err)
	}
	return p, nil
}

// CreateAdmin adds an admin.
func (s *Service) CreateAdmin(ctx context.Context, a Actor, in AdminInput) (Admin, error) {
	return create(s, ctx, a, s.admins(), in)
}

// UpdateAdmin edits an admin.
func (s *Service) UpdateAdmin(ctx context.Context, a Actor, id int64, in AdminInput) (Admin, error) {
	return update(s, ctx, a, s.admins(), id, in)
}

// DeleteAdmin removes an admin and their tokens.
func (s *Service) DeleteAdmin(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, s.admins(), id)
}

// CreateToken issues an API token for an admin. The token is returned once;
// only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, a Actor, adminID int64, name string, ttl time.Duration) (string, Token, error) {
	token, hash := NewTokenSecret()
	t := Token{AdminID: adminID, Name: strings.TrimSpace(name), Hash: hash}
	if t.Name == "" {
		t.Name = "cli"
	}
	err := s.write(ctx, a, func(c *change) error {
		if _, err := c.tx.GetAdmin(ctx, adminID); err != nil {
			return err
		}
		t.CreatedAt = c.now
		if ttl > 0 {
			exp := c.now.Add(ttl)
			t.ExpiresAt = &exp
		}
		if err := c.tx.InsertToken(ctx, &t); err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		return c.record("create", "token", t.ID, nil, t)
	})
	if err != nil {
		return "", Token{}, err
	}
	return token, t, nil
}

// RevokeToken deletes an API token.
func (s *Service) RevokeToken(ctx context.Context, a Actor, id int64) error {
	return s.write(ctx, a, func(c *change) error {
		if err := c.tx.DeleteToken(ctx, id); err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		return c.record("delete", "token", id, map[string]int64{"id": id}, nil)
	})
}

// ErrUnauthenticated means a token is unknown or expired.
var ErrUnauthenticated = errors.New("invalid or expired token")

// Authenticate returns the admin a token belongs to.
func (s *Service) Authenticate(ctx context.Context, token string) (Admin, error) {
	var admin Admin
	err := s.store.Read(ctx, func(r Reader) error {
		t, err := r.GetTokenByHash(ctx, HashToken(token))
		if errors.Is(err, ErrNotFound) {
			return ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		if t.ExpiresAt != nil && s.Now().After(*t.ExpiresAt) {
			return ErrUnauthenticated
		}
		admin, err = r.GetAdmin(ctx, t.AdminID)
		return err
	})
	return admin, err
}
