package csvimport

import (
	"bytes"
	"errors"
	"testing"

	"maillon/internal/registry"
)

// FuzzMembersCSV feeds arbitrary bytes to the members parser (everything
// but the database): it must never panic, every error it returns must
// name a line, and the rows it accepts must come in file order.
func FuzzMembersCSV(f *testing.F) {
	for _, seed := range []string{
		"name,email\nA,a@example.org\n",
		"\ufeffname;email;membership_start;membership_end\r\nÉlise;e@example.org;01/09/2025;31/08/2026\r\n",
		"name,email,login,password,kind,mac\nA,a@example.org,p1@DEMO,password1,,aa:bb:cc:dd:ee:ff\nB,a@example.org,p1@DEMO,,,\n",
		"name,email,site,room\nA,a@example.org,Résidence Les Rives,A101\nB,b@example.org,Nowhere,\n",
		"name,email\n\"unterminated,a@example.org\n",
		"name,email\nbare \"quote\",x\n",
		"name,email,,\nA,a@example.org,,x\n",
		"name\temail\nA\ta@example.org\n",
		"\xff\xfe,n\x00",
		"",
		"name,email,membership_end\nA,a@example.org,2025-01-01\n",
		"name,email,login,password\nA,a@example.org,,secret\n",
	} {
		f.Add([]byte(seed))
	}
	env := &parseEnv{sites: newSiteIndex([]registry.Site{{ID: 1, Name: "Résidence Les Rives"}, {ID: 2, Name: "PoP Caldarium"}}),
		taken: taken{emails: map[string]bool{"taken@example.org": true}, logins: map[string]bool{"taken@DEMO": true}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := readTable(bytes.NewReader(data), MemberColumns, []string{"name", "email"})
		if err != nil {
			checkLineError(t, err)
			return
		}
		rows, err := memberRows(tab, env)
		if err != nil {
			checkLineError(t, err)
			return
		}
		prev := 1
		for _, r := range rows {
			if r.line <= prev {
				t.Fatalf("row on line %d after line %d", r.line, prev)
			}
			prev = r.line
			if r.member.Name == nil || r.member.Email == nil {
				t.Fatalf("line %d: no name or email input", r.line)
			}
			if r.sub != nil && (r.sub.Login == nil || *r.sub.Login == "") {
				t.Fatalf("line %d: a line without login", r.line)
			}
		}
	})
}

func checkLineError(t *testing.T, err error) {
	t.Helper()
	var le *LineError
	if !errors.As(err, &le) || le.Line < 1 || le.Err == nil {
		t.Fatalf("error %v (%T) does not name a line", err, err)
	}
	// Several bad lines come in line order.
	var les *LineErrors
	if errors.As(err, &les) {
		for i := 1; i < len(les.Errs); i++ {
			if les.Errs[i].Line <= les.Errs[i-1].Line {
				t.Fatalf("bad lines out of order: %v", err)
			}
		}
	}
}
