package plan

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// rolloutCase is a stack at revision 2 (image nginx:v2) whose revision 1 (nginx:v1)
// was Ready, with web reported as crash-looping, failing since start.
func rolloutCase(t *testing.T, mutate ...func(*appstackv1.AppStack)) (RolloutObserved, time.Time) {
	t.Helper()
	v1 := testStack(func(s *appstackv1.AppStack) { s.Spec.Components[0].Containers[0].Image = "nginx:v1" })
	stack := testStack(func(s *appstackv1.AppStack) {
		s.Spec.Components[0].Containers[0].Image = "nginx:v2"
		s.Spec.Rollout = &appstackv1.RolloutSpec{AutoRollback: true, FailAfter: &metav1.Duration{Duration: 30 * time.Second}}
		s.Status.Revision, s.Status.ReadyRevision = 2, 1
		s.Status.Components = []appstackv1.ComponentStatus{{Name: "web", Kind: appstackv1.KindDeployment,
			Phase: appstackv1.PhaseFailed, Reason: "CrashLoopBackOff", Message: "container app keeps crashing: last exit code 1 (Error)"}}
	}, func(s *appstackv1.AppStack) {
		for _, m := range mutate {
			m(s)
		}
	})
	h1, _ := render.SpecHash(v1)
	h2, _ := render.SpecHash(stack)
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	return RolloutObserved{
		Stack: stack, Hash: h2, Current: 2, FailingSince: start,
		Revisions: []Revision{{Number: 1, Hash: h1, Spec: v1.Spec}, {Number: 2, Hash: h2, Spec: stack.Spec}},
	}, start
}

func TestRollbackWaitsForFailAfterThenReturnsToTheReadyRevision(t *testing.T) {
	o, start := rolloutCase(t)
	o.Now = start.Add(29 * time.Second)
	if ro := DecideRollout(o); ro.Run != nil || ro.Status != nil {
		t.Fatalf("rolled back within failAfter: %+v", ro)
	}
	o.Now = start.Add(30 * time.Second)
	ro := DecideRollout(o)
	if ro.Run == nil || ro.Run.Number != 1 || !ro.Started {
		t.Fatalf("want a rollback to revision 1 started, got %+v", ro)
	}
	want := appstackv1.RollbackStatus{FailedRevision: 2, Revision: 1, Reason: "CrashLoopBackOff",
		Message: "web: container app keeps crashing: last exit code 1 (Error)", Time: metav1.NewTime(o.Now)}
	if *ro.Status != want {
		t.Fatalf("status.rollback = %+v, want %+v", *ro.Status, want)
	}
}

func TestRollbackStaysUntilTheSpecChanges(t *testing.T) {
	o, start := rolloutCase(t)
	o.Now = start.Add(time.Minute)
	rb := DecideRollout(o).Status
	o.Stack.Status.Rollback = rb
	o.FailingSince = time.Time{} // a restarted process: the recorded rollback is enough
	o.Stack.Status.Components[0] = appstackv1.ComponentStatus{Name: "web", Kind: appstackv1.KindDeployment, Phase: appstackv1.PhaseReady}
	if ro := DecideRollout(o); ro.Run == nil || ro.Run.Number != 1 || ro.Started || ro.Status != rb {
		t.Fatalf("the rollback must stay, not start again: %+v", ro)
	}
	// A new spec (revision 3) rolls forward.
	o.Hash, o.Current = "another", 3
	o.Revisions = append(o.Revisions, Revision{Number: 3, Hash: "another"})
	if ro := DecideRollout(o); ro.Run != nil || ro.Status != nil {
		t.Fatalf("a changed spec must roll forward: %+v", ro)
	}
}

func TestNoRollbackWhenGoingBackCannotHelpOrWasNotAsked(t *testing.T) {
	cases := map[string]func(*appstackv1.AppStack){
		"option off": func(s *appstackv1.AppStack) { s.Spec.Rollout.AutoRollback = false },
		"no revision was ever Ready": func(s *appstackv1.AppStack) {
			s.Status.ReadyRevision = 0
		},
		"a cause of the cluster, not of the revision": func(s *appstackv1.AppStack) {
			s.Status.Components[0].Reason = "Unschedulable"
		},
		"the spec is not applied yet (status at revision 1)": func(s *appstackv1.AppStack) {
			s.Status.Revision = 1
		},
		"a Job runs once": func(s *appstackv1.AppStack) {
			s.Status.Components[0].Kind = appstackv1.KindJob
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			o, start := rolloutCase(t, mutate)
			o.Now = start.Add(time.Hour)
			if ro := DecideRollout(o); ro.Run != nil || ro.Status != nil {
				t.Fatalf("rolled back: %+v", ro)
			}
		})
	}
	t.Run("the failing component renders the same in both revisions", func(t *testing.T) {
		o, start := rolloutCase(t)
		o.Now = start.Add(time.Hour)
		o.Revisions[0].Spec = *o.Stack.Spec.DeepCopy()
		o.Revisions[0].Spec.Rollout = nil // only the rollout settings differ
		if ro := DecideRollout(o); ro.Run != nil {
			t.Fatalf("rolled back to a revision whose workloads are the same: %+v", ro)
		}
	})
}

func TestReadyRevisionIsDerivedForStacksReadyBeforeTheField(t *testing.T) {
	st := &appstackv1.AppStackStatus{Revision: 4,
		Conditions: []metav1.Condition{{Type: appstackv1.ConditionReady, Status: metav1.ConditionTrue}}}
	if got := ReadyRevision(st); got != 4 {
		t.Fatalf("ReadyRevision = %d, want 4", got)
	}
	st.Conditions[0].Status = metav1.ConditionFalse
	if got := ReadyRevision(st); got != 0 {
		t.Fatalf("ReadyRevision of a stack never Ready = %d, want 0", got)
	}
	st.ReadyRevision = 3
	if got := ReadyRevision(st); got != 3 {
		t.Fatalf("ReadyRevision = %d, want the recorded 3", got)
	}
}

func TestRunRevisionSwapsOnlyWorkloadsAndConfigs(t *testing.T) {
	withConfig := func(data string) func(*appstackv1.AppStack) {
		return func(s *appstackv1.AppStack) {
			s.Spec.Configs = []appstackv1.Config{{Name: "conf", Data: map[string]string{"a": data}}}
			s.Spec.Components[0].Volumes = []appstackv1.ComponentVolume{{Name: "conf", Config: "conf"}}
			s.Spec.Components[0].Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "conf", MountPath: "/conf"}}
		}
	}
	old := testStack(withConfig("one"), func(s *appstackv1.AppStack) { s.Spec.Components[0].Containers[0].Image = "nginx:v1" })
	stack := testStack(withConfig("two"), func(s *appstackv1.AppStack) {
		s.Spec.Components[0].Containers[0].Image = "nginx:v2"
		// A component the old revision did not have stays as the spec says.
		s.Spec.Components = append(s.Spec.Components, appstackv1.Component{Name: "cache",
			Containers: []corev1.Container{{Name: "redis", Image: "redis"}}})
	})
	p := Make(observed(t, stack, nil))
	before := keys(append(append([]client.Object{}, p.Shared...), p.Workloads...))
	d, err := render.Render(old)
	if err != nil {
		t.Fatal(err)
	}
	p.RunRevision(stack, d)
	if after := keys(append(append([]client.Object{}, p.Shared...), p.Workloads...)); len(after) != len(before) {
		t.Fatalf("objects changed: %v -> %v", before, after)
	}
	for _, obj := range p.Workloads {
		dep := obj.(*appsv1.Deployment)
		want := map[string]string{"web": "nginx:v1", "cache": "redis"}[dep.Name]
		if got := dep.Spec.Template.Spec.Containers[0].Image; got != want {
			t.Errorf("%s runs %s, want %s", dep.Name, got, want)
		}
		if len(dep.OwnerReferences) != 1 || dep.OwnerReferences[0].UID != stack.UID {
			t.Errorf("%s lost its owner reference: %v", dep.Name, dep.OwnerReferences)
		}
	}
	for _, obj := range p.Shared {
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Data["a"] != "one" {
			t.Errorf("config %s = %q, want the old revision's", cm.Name, cm.Data["a"])
		}
	}
}
