package status

import "fmt"

// happened says in words what a notice is about, for the log: a notice key
// ("maintenance:1:start") says what happened only to who knows the keys.
func (ev *event) happened() string {
	if ev.maint != nil {
		verb, ok := map[string]string{"planned": "planned", "start": "started", "end": "ended", "cancelled": "cancelled"}[ev.phase]
		if !ok {
			verb = ev.phase
		}
		return fmt.Sprintf("maintenance %d %s", ev.id, verb)
	}
	return fmt.Sprintf("%s %d updated", ev.entity, ev.id)
}
