package status

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// messages are the page's and the emails' words, French then English.
var messages = map[string][2]string{
	"lang.name":              {"Français", "English"},
	"skip":                   {"Aller au contenu", "Skip to content"},
	"page.title":             {"État des services", "Service status"},
	"nav.lang":               {"Langue", "Language"},
	"nav.feeds":              {"Suivre", "Follow"},
	"feed.atom":              {"Flux Atom", "Atom feed"},
	"feed.ics":               {"Calendrier (iCalendar)", "Calendar (iCalendar)"},
	"feed.subscribe":         {"Recevoir les annonces par email", "Get announcements by email"},
	"overall.operational":    {"Tous les services fonctionnent", "All services are operational"},
	"overall.maintenance":    {"Maintenance en cours", "Maintenance in progress"},
	"overall.degraded":       {"Certains services sont dégradés", "Some services are degraded"},
	"overall.partial_outage": {"Panne partielle", "Partial outage"},
	"overall.major_outage":   {"Panne majeure", "Major outage"},
	"state.operational":      {"Opérationnel", "Operational"},
	"state.maintenance":      {"En maintenance", "Under maintenance"},
	"state.degraded":         {"Dégradé", "Degraded"},
	"state.partial_outage":   {"Panne partielle", "Partial outage"},
	"state.major_outage":     {"Panne majeure", "Major outage"},
	"incident.investigating": {"Recherche en cours", "Investigating"},
	"incident.identified":    {"Cause identifiée", "Identified"},
	"incident.monitoring":    {"Sous surveillance", "Monitoring"},
	"incident.resolved":      {"Résolu", "Resolved"},
	"impact.degraded":        {"dégradation", "degradation"},
	"impact.partial":         {"panne partielle", "partial outage"},
	"impact.major":           {"panne majeure", "major outage"},
	"h.active":               {"Incidents en cours", "Current incidents"},
	"h.components":           {"Services", "Services"},
	"h.maintenance":          {"Maintenances prévues et en cours", "Planned and current maintenance"},
	"h.past":                 {"Incidents des 14 derniers jours", "Incidents of the last 14 days"},
	"none.active":            {"Aucun incident en cours.", "No current incident."},
	"none.maintenance":       {"Aucune maintenance prévue.", "No maintenance planned."},
	"none.past":              {"Aucun incident ces 14 derniers jours.", "No incident in the last 14 days."},
	"uptime.label":           {"Disponibilité sur 90 jours", "Availability over 90 days"},
	"uptime.none":            {"pas encore d'historique", "no history yet"},
	"uptime.baddays":         {"Jours avec une interruption\u00a0: %d", "Days with an interruption: %d"},
	"uptime.today":           {"aujourd'hui", "today"},
	"uptime.ago":             {"il y a 90 jours", "90 days ago"},
	"maint.in_progress":      {"En cours", "In progress"},
	"maint.planned":          {"Prévue", "Planned"},
	"maint.cancelled":        {"Annulée", "Cancelled"},
	"maint.completed":        {"Terminée", "Completed"},
	"maint.window":           {"Du %s au %s", "From %s to %s"},
	// label puts a label before its value: French typography wants a
	// non-breaking space before the colon, English none.
	"label":         {"%s\u00a0:", "%s:"},
	"affects":       {"Concerne", "Affects"},
	"updated":       {"Mis à jour", "Updated"},
	"started":       {"Début", "Started"},
	"resolved.at":   {"Résolu le", "Resolved on"},
	"timeline":      {"Chronologie", "Timeline"},
	"timeline.full": {"Chronologie complète (+%d)", "Full timeline (+%d)"},
	"back":          {"Retour à l'état des services", "Back to service status"},
	"generated":     {"Page générée le %s (heure de %s).", "Page generated on %s (%s time)."},
	"sub.title":     {"Recevoir les annonces par email", "Get announcements by email"},
	"sub.intro": {"Nous vous écrirons à chaque incident ou maintenance touchant les services choisis. Un email de confirmation vous sera d'abord envoyé.",
		"We will write to you about every incident or maintenance touching the services you choose. A confirmation email comes first."},
	"sub.email":      {"Adresse email", "Email address"},
	"sub.components": {"Services (aucun coché\u00a0: tous)", "Services (none ticked: all)"},
	"sub.language":   {"Langue des emails", "Language of the emails"},
	"sub.submit":     {"S'abonner", "Subscribe"},
	"sub.sent": {"Si cette adresse peut recevoir nos emails, un lien de confirmation vient de lui être envoyé. Il est valable %s.",
		"If this address can receive our emails, a confirmation link was just sent to it. It is valid for %s."},
	"sub.busy":         {"Trop de demandes d'abonnement\u00a0: réessayez dans une heure.", "Too many subscription requests: try again in an hour."},
	"sub.off":          {"Les emails ne sont pas configurés sur ce serveur\u00a0: abonnement impossible pour l'instant.", "Email is not configured on this server: subscriptions are not possible for now."},
	"confirm.title":    {"Confirmer l'abonnement", "Confirm the subscription"},
	"confirm.intro":    {"Confirmez pour recevoir les annonces d'incidents et de maintenances.", "Confirm to receive incident and maintenance announcements."},
	"confirm.submit":   {"Confirmer", "Confirm"},
	"confirm.done":     {"C'est confirmé\u00a0: vous recevrez nos annonces à %s.", "Confirmed: we will send our announcements to %s."},
	"unsub.title":      {"Vos emails d'état des services", "Your service status emails"},
	"unsub.member":     {"Choisissez ce que nous vous envoyons à %s.", "Choose what we send to %s."},
	"unsub.incidents":  {"Les incidents qui touchent ma connexion", "Incidents affecting my connection"},
	"unsub.maint":      {"Les maintenances qui touchent ma connexion", "Maintenance affecting my connection"},
	"unsub.save":       {"Enregistrer", "Save"},
	"unsub.saved":      {"C'est enregistré.", "Saved."},
	"unsub.subscriber": {"Se désabonner des annonces envoyées à %s ?", "Unsubscribe %s from our announcements?"},
	"unsub.submit":     {"Se désabonner", "Unsubscribe"},
	"unsub.done":       {"Vous êtes désabonné\u00a0: nous n'écrirons plus à %s.", "You are unsubscribed: we will no longer write to %s."},
	"bad.link":         {"Ce lien n'est pas valide ou a expiré.", "This link is not valid or has expired."},
	"error.title":      {"Erreur", "Error"},
	// Emails.
	"mail.status":          {"État des services", "Service status"},
	"mail.incident":        {"Incident", "Incident"},
	"mail.resolved":        {"Résolu", "Resolved"},
	"mail.maint.planned":   {"Maintenance prévue", "Planned maintenance"},
	"mail.maint.start":     {"Maintenance commencée", "Maintenance started"},
	"mail.maint.end":       {"Maintenance terminée", "Maintenance completed"},
	"mail.maint.cancelled": {"Maintenance annulée", "Maintenance cancelled"},
	"mail.state":           {"État", "State"},
	"mail.more":            {"Détails et suivi", "Details and follow-up"},
	"mail.why.member": {"Vous recevez cet email car votre connexion passe par un service concerné.",
		"You receive this email because your connection goes through a service concerned."},
	"mail.why.subscriber": {"Vous recevez cet email car vous êtes abonné aux annonces de ces services.",
		"You receive this email because you subscribed to announcements about these services."},
	"mail.stop":               {"Ne plus recevoir ces emails", "Stop these emails"},
	"mail.confirm.subj":       {"Confirmez votre abonnement", "Confirm your subscription"},
	"mail.confirm.body":       {"Quelqu'un, sans doute vous, a demandé à recevoir les annonces d'incidents et de maintenances à cette adresse.\n\nPour confirmer, ouvrez ce lien (valable %s)\u00a0:\n%s\n\nSi ce n'était pas vous, ignorez cet email\u00a0: rien ne vous sera envoyé.", "Someone, probably you, asked for incident and maintenance announcements at this address.\n\nTo confirm, open this link (valid for %s):\n%s\n\nIf it was not you, ignore this email: nothing will be sent to you."},
	"mail.maint.was":          {"Prévue du %s au %s.", "Planned from %s to %s."},
	"mail.maint.planned.body": {"Une maintenance est prévue du %s au %s.", "Maintenance is planned from %s to %s."},
	"mail.maint.start.body":   {"La maintenance a commencé ; fin prévue le %s.", "The maintenance has started; it should end on %s."},
	"mail.maint.end.body":     {"La maintenance est terminée.", "The maintenance is over."},
	"mail.maint.cancel.body":  {"La maintenance prévue du %s au %s est annulée.", "The maintenance planned from %s to %s is cancelled."},
}

// lang is one of the page's languages.
type lang int

const (
	fr lang = iota
	en
)

func parseLang(s string) (lang, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "fr":
		return fr, true
	case "en":
		return en, true
	}
	return fr, false
}

func (l lang) Code() string {
	if l == en {
		return "en"
	}
	return "fr"
}

func (l lang) Other() lang { return 1 - l }

// Label is the message key as a label, followed by its colon ("Affects:",
// "Concerne :"): the value goes after a space.
func (l lang) Label(key string) string { return l.LabelOf(l.T(key)) }

// LabelOf is text as a label, like Label.
func (l lang) LabelOf(text string) string { return l.T("label", text) }

// T returns a message, formatted with args when it has verbs.
func (l lang) T(key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return m[l]
	}
	return fmt.Sprintf(m[l], args...)
}

var months = [2][12]string{
	{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},
	{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
}

// Date is a day as members read it: "21 nov. 2026", "21 Nov 2026".
func (l lang) Date(t time.Time) string {
	return fmt.Sprintf("%d %s %d", t.Day(), months[l][t.Month()-1], t.Year())
}

// Time is a moment: "21 nov. 2026 à 09:30", "21 Nov 2026, 09:30".
func (l lang) Time(t time.Time) string {
	if l == en {
		return l.Date(t) + ", " + t.Format("15:04")
	}
	return l.Date(t) + " à " + t.Format("15:04")
}

// Percent writes a share with French or English decimals.
func (l lang) Percent(f float64) string {
	s := strconv.FormatFloat(f*100, 'f', 2, 64)
	if l == fr {
		return strings.Replace(s, ".", ",", 1) + " %"
	}
	return s + "%"
}

// Duration writes a delay like 48 h or 2 days.
func (l lang) Duration(d time.Duration) string {
	h := int(d.Hours())
	if h%24 == 0 && h >= 48 {
		if l == fr {
			return fmt.Sprintf("%d jours", h/24)
		}
		return fmt.Sprintf("%d days", h/24)
	}
	return fmt.Sprintf("%d h", h)
}

// requestLang picks the language: ?lang= first, then Accept-Language, then
// the default.
func requestLang(r *http.Request, def lang) lang {
	if l, ok := parseLang(r.URL.Query().Get("lang")); ok {
		return l
	}
	return acceptLanguage(r.Header.Get("Accept-Language"), def)
}

// acceptLanguage reads an Accept-Language header (RFC 9110 12.5.4): the
// supported language of highest weight, or def.
func acceptLanguage(header string, def lang) lang {
	type choice struct {
		l lang
		q float64
	}
	var cs []choice
	for i, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
		l, ok := parseLang(base)
		if !ok {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
		if q > 0 {
			// Earlier tags win ties: a small bias keeps the sort stable.
			cs = append(cs, choice{l, q - float64(i)*1e-6})
		}
	}
	if len(cs) == 0 {
		return def
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].q > cs[j].q })
	return cs[0].l
}
