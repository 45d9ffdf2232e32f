package web

// Messages of the incidents and maintenance admin pages.
func init() {
	addMessages("en", map[string]string{
		"nav.incidents": "Incidents", "nav.maintenance": "Maintenance",
		"incident.name": "Title", "incident.impact": "Impact", "incident.components": "Components", "incident.started": "Started",
		"incident.resolved": "Resolved", "incident.none": "No incident in the last 90 days.", "incident.open": "Open an incident",
		"incident.message": "Message to members", "incident.timeline": "Timeline", "incident.update": "Post an update",
		"incident.emails": "The members affected are emailed (those who chose to be).",
		"maint.when":      "When", "maint.none": "No maintenance planned.", "maint.plan": "Plan maintenance", "maint.cancel": "Cancel",
		"maint.starts": "Starts", "maint.ends": "Ends", "maint.utc": "Times are UTC.",
	})
	addMessages("fr", map[string]string{
		"nav.incidents": "Incidents", "nav.maintenance": "Maintenances",
		"incident.name": "Titre", "incident.impact": "Impact", "incident.components": "Composants", "incident.started": "Début",
		"incident.resolved": "Résolu", "incident.none": "Aucun incident ces 90 derniers jours.", "incident.open": "Ouvrir un incident",
		"incident.message": "Message aux adhérents", "incident.timeline": "Chronologie", "incident.update": "Publier une mise à jour",
		"incident.emails": "Les adhérents concernés reçoivent un courriel (s'ils l'ont choisi).",
		"maint.when":      "Quand", "maint.none": "Aucune maintenance prévue.", "maint.plan": "Prévoir une maintenance", "maint.cancel": "Annuler",
		"maint.starts": "Début", "maint.ends": "Fin", "maint.utc": "Les heures sont en UTC.",
	})
}
