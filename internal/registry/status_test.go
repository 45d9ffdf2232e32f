package registry

import "testing"

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"site:3", "host:12", "nas:1", "service:vpn", "SERVICE: Mail ", "site:", ":", "rack:1", "site:-1", "host:99999999999999999999", "service: ", "site: 4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		// What parses is written back as it is stored, and reads the same.
		again, err := ParseTarget(tg.String())
		if err != nil || again != tg {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, tg, tg.String(), again, err)
		}
		if tg.Kind != TargetService && tg.ID <= 0 {
			t.Fatalf("%q gave id %d", s, tg.ID)
		}
	})
}
