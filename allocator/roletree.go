package allocator

import (
	"mesh/mesos"
)

// roleTree orders roles by hierarchical weighted DRF, as Mesos' sorter
// does for role paths such as "eng/web": siblings are ordered by the
// weighted dominant share of their whole subtree (a parent's allocation is
// its own plus its descendants'), and the roles that take part in a pass
// are visited depth first in that order. A role that takes part and also
// has descendants that do competes with them as a leaf of its own
// (selfName), beneath its node.
type roleTree struct {
	total vec
	nodes map[string]*roleNode // by role path; "" is the root
	dirty bool
	order []*client
}

// roleNode is a role path in the tree: its children (and, when the role
// itself takes part and has children, its own leaf) in a sorter.
type roleNode struct {
	path     string
	children *sorter
	kids     int  // children that are subtrees (not the own leaf)
	takes    bool // the role itself takes part in the pass
}

// selfName names an internal role's own leaf among its children; no valid
// role has "." as a component, so it cannot clash with a child.
func selfName(role string) string { return role + "/." }

func newRoleTree(total vec) *roleTree {
	t := &roleTree{total: total, nodes: map[string]*roleNode{}}
	t.nodes[""] = &roleNode{children: newSorter(total)}
	return t
}

// parentOf is a role's parent path, "" for a top-level role.
func parentOf(role string) string {
	if a := mesos.RoleAncestors(role); len(a) > 0 {
		return a[0]
	}
	return ""
}

// build adds every role in takes, with its ancestors. use is what each
// role (taking part or not) holds itself; weight gives a role's weight.
func (t *roleTree) build(takes []string, use map[string]*usage, weight func(string) float64) {
	// What each subtree holds: a role's own use added to it and to every
	// ancestor.
	sub := map[string]usage{}
	for r, u := range use {
		for _, p := range append([]string{r}, mesos.RoleAncestors(r)...) {
			s := sub[p]
			s.alloc = s.alloc.add(u.alloc)
			s.count += u.count
			sub[p] = s
		}
	}
	for _, r := range takes {
		t.node(r).takes = true
		for p := r; p != ""; p = parentOf(p) {
			t.node(p)
		}
	}
	for path, n := range t.nodes {
		if path == "" {
			continue
		}
		s := sub[path]
		t.nodes[parentOf(path)].children.add(path, s.alloc, weight(path), s.count)
		if n.takes && n.kids > 0 {
			var own usage
			if u := use[path]; u != nil {
				own = *u
			}
			n.children.add(selfName(path), own.alloc, 1, own.count)
		}
	}
	t.dirty = true
}

// node returns the node of path, creating it (and counting it among its
// parent's subtrees) when new.
func (t *roleTree) node(path string) *roleNode {
	if n := t.nodes[path]; n != nil {
		return n
	}
	n := &roleNode{path: path, children: newSorter(t.total)}
	t.nodes[path] = n
	if path != "" {
		t.node(parentOf(path)).kids++
	}
	return n
}

// len returns how many roles take part.
func (t *roleTree) len() int {
	n := 0
	for _, r := range t.nodes {
		if r.takes {
			n++
		}
	}
	return n
}

// allocated records that role was given v: its own leaf, and every
// subtree that holds it, grow by v. Like sorter.allocated it only marks
// the order stale.
func (t *roleTree) allocated(role string, v vec) {
	if n := t.nodes[role]; n != nil && n.kids > 0 {
		n.children.allocated(selfName(role), v)
	}
	for p := role; p != ""; p = parentOf(p) {
		t.nodes[parentOf(p)].children.allocated(p, v)
	}
	t.dirty = true
}

// sorted returns the roles that take part, in hierarchical DRF order, as
// clients named by role. The slice is fresh after every allocation, so a
// caller may range over an earlier one.
func (t *roleTree) sorted() []*client {
	if t.dirty {
		t.order = t.walk(t.nodes[""], t.order[:0:0])
		t.dirty = false
	}
	return t.order
}

// walk appends the roles of n's subtree that take part, depth first.
func (t *roleTree) walk(n *roleNode, out []*client) []*client {
	for _, c := range n.children.sorted() {
		if c.name == selfName(n.path) {
			out = append(out, &client{name: n.path})
			continue
		}
		child := t.nodes[c.name]
		if child.kids == 0 {
			if child.takes {
				out = append(out, c)
			}
			continue
		}
		out = t.walk(child, out)
	}
	return out
}
