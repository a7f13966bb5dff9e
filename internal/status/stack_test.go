package status_test

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/status"
)

// TestStack is the Ready table of docs/design.md, one row per case, from a stack
// that was Ready at generation 1, revision 1.
func TestStack(t *testing.T) {
	then := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	now := then.Add(time.Hour)
	inventory := make([]appstackv1.InventoryEntry, 1, 2)
	inventory[0] = appstackv1.InventoryEntry{APIVersion: "v1", Kind: "Namespace", Name: "shop", UID: "ns"}
	rollback := &appstackv1.RollbackStatus{FailedRevision: 3, Revision: 1, Reason: "CrashLoopBackOff"}
	before := appstackv1.AppStackStatus{
		ObservedGeneration: 1, Namespace: "old", Revision: 1, ReadyRevision: 1, Rollback: rollback,
		FailingSince: &metav1.Time{Time: then}, Ready: "2/2", Summary: "2/2 components ready",
		Components: []appstackv1.ComponentStatus{{Name: "web", Phase: appstackv1.PhaseReady}},
		Volumes:    []appstackv1.VolumeStatus{{Name: "data", Phase: "Bound"}},
		Inventory:  inventory,
		Conditions: []metav1.Condition{
			{Type: appstackv1.ConditionReady, Status: metav1.ConditionTrue, Reason: appstackv1.ReasonReady,
				Message: "2/2 components ready", ObservedGeneration: 1, LastTransitionTime: metav1.NewTime(then)},
			{Type: "Other", Status: metav1.ConditionTrue, Reason: "Kept", LastTransitionTime: metav1.NewTime(then)},
		},
	}
	ready := appstackv1.ComponentStatus{Name: "web", Kind: appstackv1.KindDeployment, Phase: appstackv1.PhaseReady}
	warned := appstackv1.ComponentStatus{Name: "db", Kind: appstackv1.KindStatefulSet, Phase: appstackv1.PhaseReady,
		Reason: "MetricsUnavailable", Message: "the autoscaler cannot read metrics"}
	crashing := appstackv1.ComponentStatus{Name: "db", Kind: appstackv1.KindStatefulSet, Phase: appstackv1.PhaseFailed,
		Reason: "CrashLoopBackOff", Message: "container db keeps crashing"}
	volumes := []appstackv1.VolumeStatus{{Name: "data", Phase: "Bound"}, {Name: "logs", Phase: "Pending"}}
	newInventory := append(inventory, appstackv1.InventoryEntry{APIVersion: "apps/v1", Kind: "Deployment",
		Namespace: "shop", Name: "web", UID: "d"})

	rows := []struct {
		name           string
		in             status.StackInput
		ready          metav1.ConditionStatus
		reason, msg    string
		summary, count string
		observed       int64 // observedGeneration after
		revision       int64
		components     []appstackv1.ComponentStatus
		volumes        []appstackv1.VolumeStatus
		inventory      []appstackv1.InventoryEntry
	}{
		{name: "blocked: components cleared, 0/N, observedGeneration advanced, the rest kept",
			in: status.StackInput{SpecComponents: 2, Blocked: &status.Problem{Reason: appstackv1.ReasonUnsafeChange,
				Message: "spec.volumes[0].size: Forbidden"}, Components: []appstackv1.ComponentStatus{ready}, Volumes: volumes,
				Revision: 2, Inventory: newInventory},
			ready: metav1.ConditionFalse, reason: appstackv1.ReasonUnsafeChange, msg: "spec.volumes[0].size: Forbidden",
			summary: "spec.volumes[0].size: Forbidden", count: "0/2", observed: 2, revision: 1,
			components: nil, volumes: before.Volumes, inventory: inventory},
		{name: "paused: Suspended, observedGeneration advanced, revision kept",
			in: status.StackInput{SpecComponents: 2, Paused: true, Components: []appstackv1.ComponentStatus{ready, warned},
				Volumes: volumes, Revision: 2},
			ready: metav1.ConditionFalse, reason: appstackv1.ReasonSuspended, msg: status.PausedSummary,
			summary: status.PausedSummary, count: "2/2", observed: 2, revision: 1,
			components: []appstackv1.ComponentStatus{ready, warned}, volumes: volumes, inventory: inventory},
		{name: "failed apply: observedGeneration and revision not advanced, the inventory recorded",
			in: status.StackInput{SpecComponents: 2, Components: []appstackv1.ComponentStatus{ready, crashing},
				Failed:   &status.Problem{Reason: appstackv1.ReasonApplyFailed, Message: "applying Service web failed: port taken"},
				Revision: 2, Inventory: newInventory},
			ready: metav1.ConditionFalse, reason: appstackv1.ReasonApplyFailed, msg: "applying Service web failed: port taken",
			summary: "applying Service web failed: port taken", count: "1/2", observed: 1, revision: 1,
			components: []appstackv1.ComponentStatus{ready, crashing}, inventory: newInventory},
		{name: "shared conflict: not Ready though every component is",
			in: status.StackInput{SpecComponents: 2, Components: []appstackv1.ComponentStatus{ready, warned},
				SharedConflict: "ConfigMap shop/settings already exists and is not this stack's", Revision: 2},
			ready: metav1.ConditionFalse, reason: appstackv1.ReasonConflict,
			msg:     "ConfigMap shop/settings already exists and is not this stack's",
			summary: "ConfigMap shop/settings already exists and is not this stack's", count: "2/2", observed: 2, revision: 2,
			components: []appstackv1.ComponentStatus{ready, warned}, inventory: inventory},
		{name: "all ready with a warning: Ready True with the warning's reason",
			in:    status.StackInput{SpecComponents: 2, Components: []appstackv1.ComponentStatus{ready, warned}, Volumes: volumes},
			ready: metav1.ConditionTrue, reason: "MetricsUnavailable",
			msg:     "2/2 components ready; db: the autoscaler cannot read metrics",
			summary: "2/2 components ready; db: the autoscaler cannot read metrics", count: "2/2", observed: 2, revision: 1,
			components: []appstackv1.ComponentStatus{ready, warned}, volumes: volumes, inventory: inventory},
		{name: "partly ready: the first component not Ready gives the reason",
			in: status.StackInput{SpecComponents: 2, Components: []appstackv1.ComponentStatus{ready, crashing}, Revision: 3,
				Inventory: newInventory},
			ready: metav1.ConditionFalse, reason: "CrashLoopBackOff", msg: "db: container db keeps crashing",
			summary: "1/2 components ready; db: container db keeps crashing", count: "1/2", observed: 2, revision: 3,
			components: []appstackv1.ComponentStatus{ready, crashing}, inventory: newInventory},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			g := NewWithT(t)
			in := row.in
			in.Generation, in.Namespace, in.Now = 2, "shop", now
			kept := before.DeepCopy()
			st := status.Stack(&before, in)
			g.Expect(before).To(Equal(*kept), "the status as read was changed")

			g.Expect(st.Namespace).To(Equal("shop"))
			g.Expect(st.Ready).To(Equal(row.count))
			g.Expect(st.Summary).To(Equal(row.summary))
			g.Expect(st.ObservedGeneration).To(Equal(row.observed))
			g.Expect(st.Revision).To(Equal(row.revision))
			g.Expect(st.Components).To(Equal(row.components))
			g.Expect(st.Volumes).To(Equal(row.volumes))
			g.Expect(st.Inventory).To(Equal(row.inventory))
			g.Expect(st.Rollback).To(Equal(rollback))
			g.Expect(st.ReadyRevision).To(Equal(int64(1)))
			g.Expect(st.FailingSince).To(Equal(before.FailingSince))
			g.Expect(meta.FindStatusCondition(st.Conditions, "Other")).To(Equal(&before.Conditions[1]))

			c := meta.FindStatusCondition(st.Conditions, appstackv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(row.ready))
			g.Expect(c.Reason).To(Equal(row.reason))
			g.Expect(c.Message).To(Equal(row.msg))
			g.Expect(c.ObservedGeneration).To(Equal(int64(2)))
			transition := then // True before: a transition only when it is no longer True
			if row.ready != metav1.ConditionTrue {
				transition = now
			}
			g.Expect(c.LastTransitionTime.Time).To(Equal(transition))
		})
	}
}

func TestSetReadyKeepsTheTransitionTimeWhileTheStatusStays(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	var conds []metav1.Condition
	status.SetReady(&conds, 1, metav1.ConditionFalse, "Progressing", "web: starting", t0)
	status.SetReady(&conds, 2, metav1.ConditionFalse, "CrashLoopBackOff", "web: keeps crashing", t0.Add(time.Minute))
	g.Expect(conds).To(HaveLen(1))
	g.Expect(conds[0].LastTransitionTime.Time).To(Equal(t0), "False to False is no transition")
	g.Expect(conds[0].Reason).To(Equal("CrashLoopBackOff"))
	g.Expect(conds[0].ObservedGeneration).To(Equal(int64(2)))
	status.SetReady(&conds, 2, metav1.ConditionTrue, appstackv1.ReasonReady, "1/1 components ready", t0.Add(time.Hour))
	g.Expect(conds[0].LastTransitionTime.Time).To(Equal(t0.Add(time.Hour)))
}
