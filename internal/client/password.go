package client

import (
	"context"
	"net/http"
)

// SetAdminPassword sets an admin's web password; "" removes it.
func (c *Client) SetAdminPassword(ctx context.Context, adminRef, password string) error {
	body := struct {
		Password string `json:"password"`
	}{password}
	return c.Do(ctx, http.MethodPost, Admins.item(adminRef)+"/password", nil, body, nil)
}
