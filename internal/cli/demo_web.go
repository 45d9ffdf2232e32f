package cli

import (
	"context"
	"fmt"
	"io"

	"maillon/internal/registry"
)

// The demo's web logins: printed, so not secrets.
var demoWebLogins = []struct{ name, password string }{
	{"camille", "demo-admin-password"}, // role admin
	{"noor", "demo-reader-password"},   // role read-only: pages, no forms
}

// demoWeb gives two demo admins a web password and prints how to log in.
func demoWeb(ctx context.Context, w io.Writer, reg *registry.Service, base string) error {
	var admins []registry.Admin
	if err := reg.Read(ctx, func(r registry.Reader) error {
		var err error
		admins, err = r.ListAdmins(ctx)
		return err
	}); err != nil {
		return err
	}
	for _, l := range demoWebLogins {
		for _, a := range admins {
			if a.Name == l.name {
				if err := reg.SetAdminPassword(ctx, registry.Actor{Name: "demo"}, a.ID, l.password); err != nil {
					return fmt.Errorf("demo web password of %s: %w", a.Name, err)
				}
			}
		}
	}
	fmt.Fprintf(w, "  web UI    %s/   admin %s / %s   (read-only: %s / %s)\n", base,
		demoWebLogins[0].name, demoWebLogins[0].password, demoWebLogins[1].name, demoWebLogins[1].password)
	return nil
}
