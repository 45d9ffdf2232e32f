package monitor

import (
	"crypto/hmac"
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"maillon/internal/registry"
)

var ackPage = template.Must(template.New("ack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title></head>
<body><main>
<h1>{{.Title}}</h1>
{{if .Alert}}<p><strong>{{.Alert.Name}}</strong> ({{.Alert.Severity}}), firing since {{.Alert.StartedAt.Format "2006-01-02 15:04 MST"}}.</p>
{{if .Alert.Summary}}<pre>{{.Alert.Summary}}</pre>{{end}}{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Form}}<form method="post">
<input type="hidden" name="sig" value="{{.Sig}}">
<p><label>Your name <input name="by" autocomplete="name"></label></p>
<p><button type="submit">Acknowledge</button></p>
</form>{{end}}
</main></body></html>
`))

type ackView struct {
	Title, Message, Sig string
	Alert               *registry.Alert
	Form                bool
}

// AckHandler serves the link in alert messages, /alerts/{id}/ack?sig=:
// GET shows the alert and a button, POST acknowledges. Mail clients and
// link scanners fetch links, so a GET never changes anything.
func (m *Monitor) AckHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		sig := r.FormValue("sig")
		if err != nil || len(m.opt.LinkKey) == 0 || !hmac.Equal([]byte(sig), []byte(m.ackSignature(id))) {
			w.WriteHeader(http.StatusForbidden)
			ackPage.Execute(w, ackView{Title: "Invalid link", Message: errBadSignature.Error()})
			return
		}
		var al registry.Alert
		err = m.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
			al, err = rd.GetAlert(r.Context(), id)
			return err
		})
		if err != nil {
			w.WriteHeader(http.StatusNotFound)
			ackPage.Execute(w, ackView{Title: "No such alert"})
			return
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			v := ackView{Title: "Acknowledge alert " + strconv.FormatInt(id, 10), Alert: &al, Sig: sig, Form: true}
			switch {
			case al.AckedAt != nil:
				v.Form, v.Message = false, "Already acknowledged by "+al.AckedBy+"."
			case al.State != registry.AlertFiring:
				v.Form, v.Message = false, "This alert is resolved."
			}
			ackPage.Execute(w, v)
		case http.MethodPost:
			by := "ack link"
			if name := r.PostFormValue("by"); name != "" {
				if len(name) > 80 {
					name = name[:80]
				}
				by = "ack link: " + name
			}
			al, err := m.Ack(r.Context(), registry.Actor{Name: by}, id)
			if err != nil {
				status := http.StatusInternalServerError
				if errors.Is(err, registry.ErrConflict) {
					status = http.StatusConflict
				}
				w.WriteHeader(status)
				ackPage.Execute(w, ackView{Title: "Not acknowledged", Message: err.Error()})
				return
			}
			ackPage.Execute(w, ackView{Title: "Acknowledged", Alert: &al, Message: "Acknowledged by " + al.AckedBy + ": no more repeats nor escalation."})
		default:
			http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
		}
	})
}
