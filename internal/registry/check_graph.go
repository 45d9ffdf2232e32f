package registry

import (
	"fmt"
	"slices"
	"strings"
)

// CheckEdge is one dependency: the check depends on Parent, for the
// reason Why ("explicit", "ping of host gw1", "site Fleming").
type CheckEdge struct {
	Parent int64  `json:"parent"`
	Why    string `json:"why"`
}

// CheckGraph is the dependency graph of checks: the parents each check
// was given plus those the registry implies. An object's base checks are
// its ICMP checks if it has any, else its checks but push ones (a
// heartbeat says a job ran, not that the object answers); its other
// checks depend on them (a web server's HTTP check on its ping), and its
// base checks depend on the base checks of the object it sits in (a
// host's ping on its site's uplink).
type CheckGraph struct {
	Checks  map[int64]*Check      `json:"-"`
	Parents map[int64][]CheckEdge `json:"parents"`
	order   []int64
	// on lists the checks attached to each object.
	on map[objRef][]int64
}

type objRef struct {
	typ string
	id  int64
}

// BuildCheckGraph builds the graph from the checks and the registry
// relations hosts and NAS have with their sites (sites name them).
func BuildCheckGraph(checks []Check, hosts []Host, nas []NAS, sites []Site) *CheckGraph {
	g := &CheckGraph{Checks: map[int64]*Check{}, Parents: map[int64][]CheckEdge{}, on: map[objRef][]int64{}}
	names := map[objRef]string{}
	up := map[objRef]objRef{}
	for _, h := range hosts {
		names[objRef{TargetHost, h.ID}] = "host " + h.Name
		if h.SiteID != nil {
			up[objRef{TargetHost, h.ID}] = objRef{TargetSite, *h.SiteID}
		}
	}
	for _, s := range sites {
		names[objRef{TargetSite, s.ID}] = "site " + s.Name
	}
	for _, n := range nas {
		names[objRef{TargetNAS, n.ID}] = "NAS " + n.Name
		if n.SiteID != nil {
			up[objRef{TargetNAS, n.ID}] = objRef{TargetSite, *n.SiteID}
		}
	}
	for i := range checks {
		c := &checks[i]
		g.Checks[c.ID] = c
		g.order = append(g.order, c.ID)
		if c.TargetID != nil && c.TargetType != TargetService {
			o := objRef{c.TargetType, *c.TargetID}
			g.on[o] = append(g.on[o], c.ID)
		}
	}
	slices.Sort(g.order)
	for _, ids := range g.on {
		slices.Sort(ids)
	}
	base := func(o objRef) []int64 { return g.Base(o.typ, o.id) }
	label := func(o objRef) string {
		if n, ok := names[o]; ok {
			return n
		}
		return fmt.Sprintf("%s %d", o.typ, o.id)
	}
	for _, id := range g.order {
		c := g.Checks[id]
		for _, p := range c.Parents {
			g.add(id, CheckEdge{Parent: p, Why: "explicit"})
		}
		if c.TargetID == nil || c.TargetType == TargetService {
			continue
		}
		o := objRef{c.TargetType, *c.TargetID}
		b := base(o)
		if !slices.Contains(b, id) && len(b) > 0 {
			for _, p := range b {
				g.add(id, CheckEdge{Parent: p, Why: "base check of " + label(o)})
			}
			continue
		}
		// A base check, or a push check on an object with nothing else:
		// it sits behind the object's site.
		if parent, ok := up[o]; ok {
			for _, p := range base(parent) {
				g.add(id, CheckEdge{Parent: p, Why: label(o) + " is in " + label(parent)})
			}
		}
	}
	return g
}

// Base lists the base checks of an object (see CheckGraph), by id: what
// says whether it can be reached.
func (g *CheckGraph) Base(typ string, id int64) []int64 {
	on := g.on[objRef{typ, id}]
	var icmp, other []int64
	for _, cid := range on {
		switch g.Checks[cid].Kind {
		case CheckICMP:
			icmp = append(icmp, cid)
		case CheckPush:
		default:
			other = append(other, cid)
		}
	}
	if icmp != nil {
		return icmp
	}
	return other
}

func (g *CheckGraph) add(child int64, e CheckEdge) {
	if _, ok := g.Checks[e.Parent]; !ok || e.Parent == child && e.Why != "explicit" {
		return
	}
	for _, old := range g.Parents[child] {
		if old.Parent == e.Parent {
			return
		}
	}
	g.Parents[child] = append(g.Parents[child], e)
}

// Cycle returns a dependency cycle as a list of check ids whose last one
// depends on the first, or nil.
func (g *CheckGraph) Cycle() []int64 {
	const (
		white = iota
		grey
		black
	)
	color := map[int64]int{}
	var stack []int64
	var found []int64
	var visit func(id int64) bool
	visit = func(id int64) bool {
		color[id] = grey
		stack = append(stack, id)
		for _, e := range g.Parents[id] {
			switch color[e.Parent] {
			case grey:
				i := slices.Index(stack, e.Parent)
				found = slices.Clone(stack[i:])
				return true
			case white:
				if visit(e.Parent) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return false
	}
	for _, id := range g.order {
		if color[id] == white && visit(id) {
			return found
		}
	}
	return nil
}

// Name is a check's name, or its id if unknown.
func (g *CheckGraph) Name(id int64) string {
	if c, ok := g.Checks[id]; ok {
		return c.Name
	}
	return fmt.Sprintf("#%d", id)
}

// Children returns the checks that depend directly on id.
func (g *CheckGraph) Children(id int64) []int64 {
	var out []int64
	for _, child := range g.order {
		for _, e := range g.Parents[child] {
			if e.Parent == id {
				out = append(out, child)
				break
			}
		}
	}
	return out
}

// Order lists the check ids, parents before their children where the
// graph has no cycle.
func (g *CheckGraph) Order() []int64 {
	seen := map[int64]bool{}
	var out []int64
	var visit func(id int64)
	visit = func(id int64) {
		if seen[id] {
			return
		}
		seen[id] = true
		for _, e := range g.Parents[id] {
			visit(e.Parent)
		}
		out = append(out, id)
	}
	for _, id := range g.order {
		visit(id)
	}
	return out
}

// Text draws the graph as a tree, roots first, each child indented under
// its parents (a check with two parents appears under both).
func (g *CheckGraph) Text(state func(id int64) string) string {
	var b strings.Builder
	var draw func(id int64, depth int, path []int64)
	draw = func(id int64, depth int, path []int64) {
		c := g.Checks[id]
		fmt.Fprintf(&b, "%s%s (%s", strings.Repeat("  ", depth), c.Name, c.Kind)
		if state != nil {
			fmt.Fprintf(&b, ", %s", state(id))
		}
		b.WriteString(")")
		if depth > 0 {
			for _, e := range g.Parents[id] {
				if e.Parent == path[len(path)-1] {
					fmt.Fprintf(&b, "  [%s]", e.Why)
				}
			}
		}
		b.WriteString("\n")
		if slices.Contains(path, id) {
			return
		}
		for _, child := range g.Children(id) {
			draw(child, depth+1, append(slices.Clone(path), id))
		}
	}
	for _, id := range g.order {
		if len(g.Parents[id]) == 0 {
			draw(id, 0, nil)
		}
	}
	return b.String()
}

// cycleError explains a cycle with names.
func (g *CheckGraph) cycleError(cycle []int64) error {
	parts := make([]string, 0, len(cycle)+1)
	for _, id := range cycle {
		parts = append(parts, g.Name(id))
	}
	parts = append(parts, g.Name(cycle[0]))
	return invalid("parents", "dependency cycle: %s (each depends on the next)", strings.Join(parts, " → "))
}
