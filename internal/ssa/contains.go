package ssa

import "reflect"

// contains reports whether live holds everything desired sets: every key of a
// desired map with a value live contains in turn; for a list of objects, see
// containsItems; for a list of scalars and for scalars, equality. Both sides must
// come from the same typed conversion, so that numbers and quantities compare alike.
func contains(live, desired any) bool {
	return containsField("", live, desired)
}

// containsField is contains for the value of the field named key (for a list, what
// decides whether its items are matched by name).
func containsField(key string, live, desired any) bool {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return len(d) == 0 && live == nil
		}
		for k, dv := range d {
			lv, ok := l[k]
			if !ok {
				if isEmpty(dv) {
					continue
				}
				return false
			}
			if !containsField(k, lv, dv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok {
			return len(d) == 0 && live == nil
		}
		if len(d) > 0 {
			if _, objects := d[0].(map[string]any); !objects {
				return reflect.DeepEqual(l, d)
			}
		}
		return containsItems(key, l, d)
	default:
		return reflect.DeepEqual(live, desired)
	}
}

// notKeyedByName are the lists whose items have a name that is not what tells them
// apart: two owner references may name two owners of one name (their key is uid).
var notKeyedByName = map[string]bool{"ownerReferences": true}

// containsItems reports whether the live items of a list of objects hold the
// desired ones. An item with a name (a container, an env var, a volume, a port)
// is matched by it, as server-side apply matches it by its merge key: its name must
// be in live exactly once, that item must contain it, and the named items must
// come in live in the desired order. So a changed, removed or reordered env var or
// container is drift (the order of env vars decides what $(VAR) expands to), and
// so is a name someone else duplicated; an apply restores all of these. Items
// someone else added under other names (an injected sidecar, an extra env var) are
// fine. Items without a name, and every item of a list whose desired names repeat
// (two mounts of one volume: their key is the mount path), need only be contained
// in some live item.
func containsItems(key string, live, desired []any) bool {
	byName := !notKeyedByName[key] && uniqueNames(desired)
	var at map[string]int // live index of each name; -1 when it repeats
	if byName {
		at = map[string]int{}
		for i, li := range live {
			if n, ok := nameOf(li); ok {
				if _, seen := at[n]; seen {
					at[n] = -1
				} else {
					at[n] = i
				}
			}
		}
	}
	last := -1
	for _, di := range desired {
		if n, ok := nameOf(di); byName && ok {
			i, found := at[n]
			if !found || i < 0 || i < last || !containsField("", live[i], di) {
				return false
			}
			last = i
			continue
		}
		found := false
		for _, li := range live {
			if containsField("", li, di) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// nameOf is the name of a list item that has one.
func nameOf(item any) (string, bool) {
	m, ok := item.(map[string]any)
	if !ok {
		return "", false
	}
	n, ok := m["name"].(string)
	return n, ok && n != ""
}

// uniqueNames reports whether no two items share a name.
func uniqueNames(items []any) bool {
	seen := map[string]bool{}
	for _, it := range items {
		if n, ok := nameOf(it); ok {
			if seen[n] {
				return false
			}
			seen[n] = true
		}
	}
	return true
}

// isEmpty is a value the typed conversion writes for an unset struct or list.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}
