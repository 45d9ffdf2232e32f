package journal

import (
	"fmt"
	"os/user"
	"sort"
	"strconv"
	"sync"

	"maillon/internal/registry"
)

// Snapshot is the state of the watched files and of dpkg's database at
// one time.
type Snapshot struct {
	Files    map[string]FileState `json:"files"`
	Packages map[string]Package   `json:"packages,omitempty"`
}

// names resolves uids and gids to names once each.
type names struct {
	mu     sync.Mutex
	users  map[uint32]string
	groups map[uint32]string
}

func (n *names) owner(uid, gid uint32) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.users == nil {
		n.users, n.groups = map[uint32]string{}, map[uint32]string{}
	}
	// Only names found are remembered: a user created later gets its
	// name in the next report.
	u, ok := n.users[uid]
	if !ok {
		u = strconv.FormatUint(uint64(uid), 10)
		if x, err := user.LookupId(u); err == nil {
			u = x.Username
			n.users[uid] = u
		}
	}
	g, ok := n.groups[gid]
	if !ok {
		g = strconv.FormatUint(uint64(gid), 10)
		if x, err := user.LookupGroupId(g); err == nil {
			g = x.Name
			n.groups[gid] = g
		}
	}
	return u + ":" + g
}

func modeText(m uint32) string { return fmt.Sprintf("%04o", m) }

// sameFiles reports whether two scans show the same files.
func sameFiles(a, b map[string]FileState) bool {
	if len(a) != len(b) {
		return false
	}
	for p, x := range a {
		y, ok := b[p]
		if !ok || !x.same(y) {
			return false
		}
	}
	return true
}

func samePackages(a, b map[string]Package) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		if y, ok := b[k]; !ok || x.Version != y.Version || x.Installed() != y.Installed() || (!x.Installed() && x.State != y.State) {
			return false
		}
	}
	return true
}

// compare lists what changed from base to cur, sorted by path and by
// package name.
func compare(base, cur Snapshot, n *names) ([]registry.FileChange, []registry.PackageChange) {
	var files []registry.FileChange
	describe := func(change string, st FileState) registry.FileChange {
		return registry.FileChange{Change: change, Type: st.Type, Mode: modeText(st.Mode), Owner: n.owner(st.UID, st.GID),
			Size: st.Size, SHA256: st.SHA256, Target: st.Target}
	}
	for p, now := range cur.Files {
		old, ok := base.Files[p]
		switch {
		case !ok:
			fc := describe(registry.FileAdded, now)
			fc.Path = p
			files = append(files, fc)
		case !old.same(now):
			change := registry.FileModified
			if old.Type == now.Type && old.SHA256 == now.SHA256 && old.Target == now.Target && old.Err == now.Err {
				change = registry.FilePermissions
			}
			fc := describe(change, now)
			fc.Path = p
			if old.Type != now.Type {
				fc.OldType = old.Type
			}
			if old.Mode != now.Mode {
				fc.OldMode = modeText(old.Mode)
			}
			if o := n.owner(old.UID, old.GID); o != fc.Owner {
				fc.OldOwner = o
			}
			if old.SHA256 != now.SHA256 {
				fc.OldSHA256 = old.SHA256
			}
			if old.Target != now.Target {
				fc.OldTarget = old.Target
			}
			files = append(files, fc)
		}
	}
	for p, old := range base.Files {
		if _, ok := cur.Files[p]; !ok {
			fc := registry.FileChange{Path: p, Change: registry.FileRemoved, Type: old.Type, OldMode: modeText(old.Mode),
				OldOwner: n.owner(old.UID, old.GID), OldSHA256: old.SHA256, OldTarget: old.Target}
			files = append(files, fc)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })

	var pkgs []registry.PackageChange
	for k, now := range cur.Packages {
		old, ok := base.Packages[k]
		pc := registry.PackageChange{Name: now.Name, Arch: now.Arch, Version: now.Version}
		if !now.Installed() {
			pc.State = now.State
		}
		switch {
		case now.Installed() && (!ok || !old.Installed()):
			pc.Change = registry.PackageInstalled
			if ok {
				pc.OldState, pc.OldVersion = old.State, old.Version
			}
		case !now.Installed() && ok && old.Installed() && now.State == "config-files":
			pc.Change, pc.OldVersion, pc.Version = registry.PackageRemoved, old.Version, ""
		case now.Installed() && old.Version != now.Version:
			pc.Change, pc.OldVersion = registry.PackageUpgraded, old.Version
			if CompareVersions(now.Version, old.Version) < 0 {
				pc.Change = registry.PackageDowngraded
			}
		case now.Installed() && old.Installed():
			continue // the same version, triggers or not
		case !ok || old.State != now.State || old.Version != now.Version:
			if !ok && now.State == "config-files" {
				continue // leftovers of a package removed before the agent looked
			}
			pc.Change = registry.PackageState
			if ok {
				pc.OldState, pc.OldVersion = old.State, old.Version
				if old.Installed() {
					pc.OldState = "installed"
				}
			}
		default:
			continue
		}
		pkgs = append(pkgs, pc)
	}
	for k, old := range base.Packages {
		if _, ok := cur.Packages[k]; !ok && old.Installed() {
			pkgs = append(pkgs, registry.PackageChange{Name: old.Name, Arch: old.Arch, Change: registry.PackageRemoved, OldVersion: old.Version})
		}
	}
	sort.Slice(pkgs, func(i, j int) bool {
		if pkgs[i].Name != pkgs[j].Name {
			return pkgs[i].Name < pkgs[j].Name
		}
		return pkgs[i].Arch < pkgs[j].Arch
	})
	return files, pkgs
}
