package render

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Two children of one kind and one name in the stack's namespace are one object on
// the cluster. When two parts of the spec render it, the operator applies both
// versions in turn, for ever, and each pass reports the other's write as drift; when
// the name is one a Kubernetes controller gives an object it makes from the stack's
// (a StatefulSet's pods and claims, a CronJob's Jobs), the operator and that
// controller fight over it instead. validateNames refuses such a spec up front,
// naming both fields, so that nothing is applied.

// objectName is a kind and a name in the stack's namespace.
type objectName struct{ kind, name string }

// nameSource is the part of the spec that renders one object.
type nameSource struct {
	// field is the field whose value the name comes from, and value its value.
	field *field.Path
	value string
	// entry is how an error about another field speaks of this one:
	// "spec.components[0] (StatefulSet db)".
	entry string
	// as is what the object is to the entry: "its governing headless Service".
	as string
}

// nameFamily is the names <prefix>-<ordinal> a controller gives the objects it makes
// from one rendered object.
type nameFamily struct {
	field *field.Path
	value string
	// maker is the controller: "the StatefulSet controller".
	maker string
	// members speaks of the whole family: "the pods of spec.components[0] (StatefulSet db)".
	members string
	// member speaks of the one with the given ordinal: "pod 0 of spec.components[0] (StatefulSet db)".
	member func(ordinal string) string
}

type nameChecker struct {
	objects  map[objectName]nameSource
	order    []objectName
	families map[objectName]nameFamily // keyed by kind and prefix
	errs     field.ErrorList
}

// validateNames refuses a spec two of whose rendered objects share a kind and a name,
// or one of whose rendered objects is named like an object a controller makes from
// another: a Pod component db-0 beside StatefulSet db (whose first pod is db-0), a
// stack volume data-db-0 beside the StatefulSet db with claim template data (the
// StatefulSet controller names claims <template>-<statefulset>-<ordinal>), a Job
// component backup-28000000 beside CronJob backup (which names its Jobs
// <cronjob>-<scheduled minute>). Ordinals are any digits: a StatefulSet's replica
// count changes without the spec changing (under an autoscaler).
//
// Components with a duplicate name are skipped: Validate reports them already.
// The names are the builders' own, so this stays in step with Render.
func validateNames(stack *appstackv1.AppStack) field.ErrorList {
	n := &nameChecker{objects: map[objectName]nameSource{}, families: map[objectName]nameFamily{}}
	for i, cfg := range stack.Spec.Configs {
		p := field.NewPath("spec", "configs").Index(i)
		n.object("ConfigMap", cfg.Name, nameSource{field: p.Child("name"), value: cfg.Name, entry: p.String(), as: "its ConfigMap"})
	}
	for i, v := range stack.Spec.Volumes {
		p := field.NewPath("spec", "volumes").Index(i)
		n.object("PersistentVolumeClaim", v.Name, nameSource{field: p.Child("name"), value: v.Name, entry: p.String(), as: "its PersistentVolumeClaim"})
	}
	seen := map[string]bool{}
	for i := range stack.Spec.Components {
		c := &stack.Spec.Components[i]
		if seen[c.Name] {
			continue
		}
		seen[c.Name] = true
		p := field.NewPath("spec", "components").Index(i)
		kind := string(KindOf(c))
		entry := fmt.Sprintf("%s (%s %s)", p, kind, c.Name)
		src := func(as string) nameSource {
			return nameSource{field: p.Child("name"), value: c.Name, entry: entry, as: as}
		}
		n.object(kind, c.Name, src("its workload"))
		for _, svc := range Services(stack, c) {
			as := "its Service"
			if svc.Name != c.Name {
				as = "its governing headless Service"
			}
			n.object("Service", svc.Name, src(as))
		}
		if c.Ingress != nil {
			n.object("Ingress", c.Name, src("its Ingress"))
		}
		if c.Autoscaling != nil {
			n.object("HorizontalPodAutoscaler", c.Name, src("its HorizontalPodAutoscaler"))
		}
		if c.PodDisruptionBudget != nil {
			n.object("PodDisruptionBudget", c.Name, src("its PodDisruptionBudget"))
		}
		switch KindOf(c) {
		case appstackv1.KindStatefulSet:
			n.family("Pod", c.Name, nameFamily{field: p.Child("name"), value: c.Name,
				maker: "the StatefulSet controller", members: "the pods of " + entry,
				member: func(ord string) string { return "pod " + ord + " of " + entry }})
			for j, t := range c.VolumeClaimTemplates {
				tp := p.Child("volumeClaimTemplates").Index(j)
				from := fmt.Sprintf("%s (template %s of StatefulSet %s)", tp, t.Name, c.Name)
				n.family("PersistentVolumeClaim", t.Name+"-"+c.Name, nameFamily{field: tp.Child("name"), value: t.Name,
					maker: "the StatefulSet controller", members: "the claims from " + from,
					member: func(ord string) string { return "the claim of pod " + ord + " from " + from }})
			}
		case appstackv1.KindCronJob:
			n.family("Job", c.Name, nameFamily{field: p.Child("name"), value: c.Name,
				maker: "the CronJob controller", members: "the Jobs of " + entry,
				member: func(ord string) string { return "the Job of " + entry + " scheduled at minute " + ord }})
		}
	}
	n.checkFamilies()
	return n.errs
}

// object records that src renders kind/name, or reports the collision with what
// rendered it first.
func (n *nameChecker) object(kind, name string, src nameSource) {
	key := objectName{kind, name}
	prev, taken := n.objects[key]
	if !taken {
		n.objects[key] = src
		n.order = append(n.order, key)
		return
	}
	as := ""
	if name != src.value {
		as = " as " + src.as
	}
	detail := fmt.Sprintf("renders %s %s%s, which %s already renders as %s; rename one of them", kind, name, as, prev.entry, prev.as)
	if name == src.value {
		e := field.Duplicate(src.field, src.value)
		e.Detail = detail
		n.errs = append(n.errs, e)
		return
	}
	n.errs = append(n.errs, field.Invalid(src.field, src.value, detail))
}

// family records that a controller makes kind objects named prefix-<ordinal>, or
// reports that another family has the same names.
func (n *nameChecker) family(kind, prefix string, f nameFamily) {
	key := objectName{kind, prefix}
	prev, taken := n.families[key]
	if !taken {
		n.families[key] = f
		return
	}
	n.errs = append(n.errs, field.Invalid(f.field, f.value, fmt.Sprintf(
		"%s names %s %s-<ordinal>, as it names %s; rename one of them", f.maker, f.members, prefix, prev.members)))
}

// checkFamilies reports each rendered object named like a member of a family of its
// kind. A name has at most one family: the ordinal is everything after its last
// "-", so the prefix is everything before.
func (n *nameChecker) checkFamilies() {
	for _, key := range n.order {
		i := strings.LastIndexByte(key.name, '-')
		if i < 0 || !isDigits(key.name[i+1:]) {
			continue
		}
		f, ok := n.families[objectName{key.kind, key.name[:i]}]
		if !ok {
			continue
		}
		src := n.objects[key]
		n.errs = append(n.errs, field.Invalid(src.field, src.value, fmt.Sprintf(
			"renders %s %s, the name %s gives %s; rename one of them", key.kind, key.name, f.maker, f.member(key.name[i+1:]))))
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
