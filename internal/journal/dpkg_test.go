package journal

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"maillon/internal/testenv"
)

// testdata/dpkg-status is the head of a real Debian 12 machine's
// /var/lib/dpkg/status (40 packages, Conffiles and long Descriptions
// included).
func TestParseDpkgStatusOfARealMachine(t *testing.T) {
	b, err := os.ReadFile("testdata/dpkg-status")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ParseDpkgStatus(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 40 {
		t.Errorf("%d packages, want 40", len(pkgs))
	}
	if p := pkgs["adduser:all"]; p != (Package{Name: "adduser", Arch: "all", Version: "3.134", State: "installed"}) {
		t.Errorf("adduser = %+v", p)
	}
	if p := pkgs["adwaita-icon-theme:all"]; p.Version != "43-1" || !p.Installed() {
		t.Errorf("adwaita-icon-theme = %+v", p)
	}
	for k, p := range pkgs {
		if p.Name == "" || p.Version == "" || p.Arch == "" || !p.Installed() || k != p.Key() {
			t.Errorf("%s = %+v", k, p)
		}
	}
}

func TestParseDpkgStatusStates(t *testing.T) {
	in := `Package: nginx
Status: install ok installed
Architecture: amd64
Version: 1.22.1-9
Description: small, powerful, scalable web/proxy server
 Nginx ("engine X") is a high-performance web and reverse proxy server.
 .
 It has a lot of features.

Package: libc6
Status: install ok installed
Architecture: i386
Version: 2.36-9+deb12u4

Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4

Package: apache2
Status: deinstall ok config-files
Architecture: amd64
Version: 2.4.62-1~deb12u1

Package: gone
Status: purge ok not-installed
Architecture: amd64

Package: broken
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0
`
	pkgs, err := ParseDpkgStatus(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 5 || pkgs["libc6:i386"].Version != "2.36-9+deb12u4" || pkgs["libc6:amd64"].Name != "libc6" ||
		pkgs["apache2:amd64"].State != "config-files" || pkgs["apache2:amd64"].Installed() || pkgs["broken:amd64"].State != "half-installed" {
		t.Errorf("%+v", pkgs)
	}
	if _, ok := pkgs["gone:amd64"]; ok {
		t.Error("a not-installed package is listed")
	}
	for _, bad := range []struct{ in, err string }{
		{"Package: x\nStatus: install ok\n", `line 1: package x: Status "install ok" is not three words (want, flag, state)`},
		{"Status: install ok installed\n", "line 1: a stanza without a Package field"},
		{" continued\n", "line 1: a continuation line outside a stanza"},
		{"Package: x\nno colon here\n", `line 2: "no colon here" is not a "Field: value" line`},
		{"Package: x\nStatus: install ok installed\n\nPackage: x\nStatus: install ok installed\n", "line 4: package x appears twice"},
	} {
		if _, err := ParseDpkgStatus(strings.NewReader(bad.in)); err == nil || err.Error() != bad.err {
			t.Errorf("%q: got %v, want %s", bad.in, err, bad.err)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	// Each is lower than the next.
	order := []string{"1.0~rc1", "1.0", "1.0-1", "1.0-1+deb12u1", "1.0-2", "1.0a", "1.0.1", "1.1", "1.10", "2:0.1"}
	for i := range order {
		for j := range order {
			got := CompareVersions(order[i], order[j])
			if (i < j && got >= 0) || (i > j && got <= 0) || (i == j && got != 0) {
				t.Errorf("compare(%s, %s) = %d", order[i], order[j], got)
			}
		}
	}
	if CompareVersions("0:1.0", "1.0") != 0 || CompareVersions("1.01", "1.1") != 0 {
		t.Error("epoch 0 or leading zeros make a difference")
	}
}

// TestCompareVersionsAgreesWithDpkg asks dpkg itself about the versions
// of the sample and a few tricky ones.
func TestCompareVersionsAgreesWithDpkg(t *testing.T) {
	dpkg := testenv.LookPath(t, "dpkg")
	vs := []string{"1.0~rc1", "1.0~~", "1.0~", "1.0", "1.0+b1", "1.0-0.1", "1.0a~", "1:0.9", "1.0-1~bpo12+1", "20230311", "3.0.11-1~deb12u2", "2.36-9+deb12u4"}
	b, _ := os.ReadFile("testdata/dpkg-status")
	pkgs, _ := ParseDpkgStatus(bytes.NewReader(b))
	for _, p := range pkgs {
		if len(vs) < 20 {
			vs = append(vs, p.Version)
		}
	}
	for i, a := range vs {
		for _, b := range vs[i+1:] {
			want := 0
			for _, op := range []struct {
				op string
				n  int
			}{{"lt", -1}, {"gt", 1}} {
				if exec.Command(dpkg, "--compare-versions", a, op.op, b).Run() == nil {
					want = op.n
				}
			}
			if got := CompareVersions(a, b); sign(got) != want {
				t.Errorf("compare(%s, %s) = %d, dpkg says %d", a, b, got, want)
			}
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func FuzzParseDpkgStatus(f *testing.F) {
	b, err := os.ReadFile("testdata/dpkg-status")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("Package: x\nStatus: install ok installed\nVersion: 1\n\n\n"))
	f.Add([]byte("Package: x\r\nStatus: deinstall ok config-files\r\n Conffiles:\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		pkgs, err := ParseDpkgStatus(bytes.NewReader(in))
		if err != nil {
			return
		}
		for k, p := range pkgs {
			if k != p.Key() || p.Name == "" || p.State == "" || p.State == "not-installed" {
				t.Fatalf("%q -> %s: %+v", in, k, p)
			}
			// A version compares equal to itself, whatever it holds.
			if CompareVersions(p.Version, p.Version) != 0 {
				t.Fatalf("version %q is not equal to itself", p.Version)
			}
		}
	})
}

func FuzzCompareVersions(f *testing.F) {
	f.Add("1.0~rc1", "1:1.0-1")
	f.Add("", "~")
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareVersions(a, b), CompareVersions(b, a)
		if (ab < 0) != (ba > 0) || (ab == 0) != (ba == 0) {
			t.Fatalf("compare(%q, %q) = %d but compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
	})
}
