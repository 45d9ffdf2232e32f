package macaddr

import "testing"

func TestNormalize(t *testing.T) {
	for _, in := range []string{"bc:24:11:d5:fe:0e", "BC:24:11:D5:FE:0E", "BC-24-11-D5-FE-0E", "bc24.11d5.fe0e", "BC2411D5FE0E", " bc:24:11:d5:fe:0e "} {
		got, err := Normalize(in)
		if err != nil || got != "bc:24:11:d5:fe:0e" {
			t.Errorf("Normalize(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "bc:24:11:d5:fe", "bc:24:11:d5:fe:0e:00", "zz:24:11:d5:fe:0e", "b:c24:11:d5:fe:0e", "demo1@DEMO"} {
		if _, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) accepted", bad)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("bc24.11d5.fe0e")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		if err != nil {
			return
		}
		again, err := Normalize(got)
		if err != nil || again != got {
			t.Fatalf("canonical form %q not stable: %q, %v", got, again, err)
		}
	})
}
