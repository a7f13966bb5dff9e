package ssa

import "reflect"

// contains reports whether live holds everything desired sets: every key of a
// desired map with a value live contains in turn; for a list of objects, every
// desired item contained in some live item (others' additions and server defaults
// are fine); for a list of scalars and for scalars, equality. Both sides must come
// from the same typed conversion, so that numbers and quantities compare alike.
func contains(live, desired any) bool {
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
			if !contains(lv, dv) {
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
		for _, di := range d {
			found := false
			for _, li := range l {
				if contains(li, di) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(live, desired)
	}
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
