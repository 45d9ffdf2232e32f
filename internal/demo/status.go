package demo

import (
	"context"
	"fmt"
	"time"

	"maillon/internal/registry"
)

// The demo's status page: components as the residents see them, an
// incident being worked on, and maintenance planned for tomorrow night at
// Fleming (whose residents are the ones emailed when email is on).

var componentSpecs = []struct {
	name, group, description string
	targets                  []string
}{
	{"Internet — Résidence Fleming", "Internet", "Les chambres de la résidence Fleming", []string{"site:Résidence Fleming"}},
	{"Internet — Résidence Les Rives", "Internet", "Les chambres de la résidence Les Rives", []string{"site:Résidence Les Rives"}},
	{"Internet — lignes xDSL et fibre", "Internet", "Les lignes collectées par l'opérateur de gros", []string{"nas:" + NASName}},
	{"VPN", "VPN", "OpenVPN et WireGuard", []string{"nas:demo-openvpn", "service:vpn"}},
	{"Mail", "Services", "", []string{"service:mail"}},
	{"Wiki et site web", "Services", "", []string{"service:web"}},
}

// MaintenanceTitle is the demo's planned maintenance.
const MaintenanceTitle = "Mise à jour des commutateurs de Fleming"

// seedStatus fills the status page; the incident and maintenance go
// through the registry like an admin's, so they are audited and announced.
func seedStatus(ctx context.Context, reg *registry.Service) error {
	ids := map[string]int64{}
	for i, c := range componentSpecs {
		targets := c.targets
		comp, err := reg.CreateComponent(ctx, Actor, registry.ComponentInput{Name: ptr(c.name), Group: ptr(c.group),
			Description: ptr(c.description), Position: ptr(i), Targets: &targets})
		if err != nil {
			return fmt.Errorf("component %s: %w", c.name, err)
		}
		ids[c.name] = comp.ID
	}
	inc, err := reg.OpenIncident(ctx, Actor, registry.IncidentInput{Title: ptr("Connexion lente aux Rives"),
		Impact: ptr(registry.ImpactDegraded), Components: &[]int64{ids["Internet — Résidence Les Rives"]},
		Message: "Plusieurs résidents signalent des débits faibles le soir. Nous regardons."})
	if err != nil {
		return fmt.Errorf("demo incident: %w", err)
	}
	if _, err := reg.UpdateIncident(ctx, Actor, inc.ID, registry.IncidentInput{State: ptr(registry.IncidentIdentified),
		Message: "Le lien montant de la résidence est saturé ; un second lien est en cours d'activation."}); err != nil {
		return fmt.Errorf("demo incident: %w", err)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.UTC
	}
	now := reg.Now().In(paris)
	start := time.Date(now.Year(), now.Month(), now.Day()+1, 22, 0, 0, 0, paris)
	_, err = reg.PlanMaintenance(ctx, Actor, registry.MaintenanceInput{Title: MaintenanceTitle,
		Description: "Les commutateurs redémarrent l'un après l'autre : comptez dix minutes sans réseau par étage.",
		Components:  []int64{ids["Internet — Résidence Fleming"]}, StartsAt: start, EndsAt: start.Add(90 * time.Minute)})
	if err != nil {
		return fmt.Errorf("demo maintenance: %w", err)
	}
	return nil
}
