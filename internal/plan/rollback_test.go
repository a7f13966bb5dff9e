package plan

import (
	"cmp"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
)

// rolloutCase is a stack at revision 2 (image nginx:v2) whose revision 1 (nginx:v1)
// was Ready, with web reported as crash-looping, failing since start.
func rolloutCase(t *testing.T, mutate ...func(*appstackv1.AppStack)) (RolloutObserved, time.Time) {
	t.Helper()
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	v1 := testStack(func(s *appstackv1.AppStack) { s.Spec.Components[0].Containers[0].Image = "nginx:v1" })
	stack := testStack(func(s *appstackv1.AppStack) {
		s.Spec.Components[0].Containers[0].Image = "nginx:v2"
		s.Spec.Rollout = &appstackv1.RolloutSpec{AutoRollback: true, FailAfter: &metav1.Duration{Duration: 30 * time.Second}}
		s.Status.Revision, s.Status.ReadyRevision = 2, 1
		s.Status.FailingSince = &metav1.Time{Time: start}
		s.Status.Components = []appstackv1.ComponentStatus{{Name: "web", Kind: appstackv1.KindDeployment,
			Phase: appstackv1.PhaseFailed, Reason: "CrashLoopBackOff", Message: "container app keeps crashing: last exit code 1 (Error)"}}
	}, func(s *appstackv1.AppStack) {
		for _, m := range mutate {
			m(s)
		}
	})
	h1, _ := render.SpecHash(v1)
	h2, _ := render.SpecHash(stack)
	return RolloutObserved{
		Stack: stack, Hash: h2, Current: 2,
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
	o.Stack.Status.FailingSince = nil // cleared once the rollback started: the recorded rollback is enough
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
		"no pass has seen it fail (no status.failingSince)": func(s *appstackv1.AppStack) {
			s.Status.FailingSince = nil
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

func TestFailureClock(t *testing.T) {
	o, start := rolloutCase(t)
	cases := []struct {
		name    string
		before  func(*appstackv1.AppStackStatus)
		after   func(*appstackv1.AppStack)
		current int64
		now     time.Duration // after start
		since   *time.Time
		recheck time.Duration
	}{
		{name: "first seen failing: the clock starts now", before: func(st *appstackv1.AppStackStatus) { st.FailingSince = nil },
			now: 5 * time.Second, since: ptr.To(start.Add(5 * time.Second)), recheck: 30 * time.Second},
		{name: "first seen within a second: recorded at the next one, as the apiserver keeps seconds",
			before: func(st *appstackv1.AppStackStatus) { st.FailingSince = nil },
			now:    5*time.Second + 300*time.Millisecond, since: ptr.To(start.Add(6 * time.Second)),
			recheck: 30*time.Second + 700*time.Millisecond},
		{name: "still failing: the clock runs on, survives any restart", now: 10 * time.Second,
			since: &start, recheck: 20 * time.Second},
		{name: "failAfter over: a pass at once", now: 45 * time.Second, since: &start, recheck: time.Millisecond},
		{name: "a new revision fails: the clock starts again", current: 3,
			before: func(st *appstackv1.AppStackStatus) { st.Revision = 2 },
			after:  func(s *appstackv1.AppStack) { s.Status.Revision = 3 },
			now:    10 * time.Second, since: ptr.To(start.Add(10 * time.Second)), recheck: 30 * time.Second},
		{name: "mended: cleared", now: time.Minute, after: func(s *appstackv1.AppStack) {
			s.Status.Components[0] = appstackv1.ComponentStatus{Name: "web", Kind: appstackv1.KindDeployment, Phase: appstackv1.PhaseReady}
		}},
		{name: "rolled back: cleared", now: time.Minute, after: func(s *appstackv1.AppStack) {
			s.Status.Rollback = &appstackv1.RollbackStatus{FailedRevision: 2, Revision: 1}
		}},
		{name: "the option turned off: cleared", now: time.Minute, after: func(s *appstackv1.AppStack) {
			s.Spec.Rollout.AutoRollback = false
		}},
		{name: "a failure going back cannot mend: cleared", now: time.Minute, after: func(s *appstackv1.AppStack) {
			s.Status.Components[0].Reason = "Unschedulable"
		}},
	}
	for _, tc := range cases {
		before := o.Stack.Status.DeepCopy()
		after := o.Stack.DeepCopy()
		if tc.before != nil {
			tc.before(before)
		}
		if tc.after != nil {
			tc.after(after)
		}
		current := cmp.Or(tc.current, 2)
		revs := append(slices.Clone(o.Revisions), Revision{Number: 3, Hash: "h3", Spec: after.Spec})
		since, recheck := FailureClock(before, after, current, revs, start.Add(tc.now))
		switch {
		case (since == nil) != (tc.since == nil),
			since != nil && !since.Time.Equal(*tc.since),
			recheck != tc.recheck:
			t.Errorf("%s: since %v, recheck %v; want %v, %v", tc.name, since, recheck, tc.since, tc.recheck)
		}
		if since != nil && before.FailingSince != nil && since == before.FailingSince {
			t.Errorf("%s: the status as read is shared with the status written", tc.name)
		}
	}
}

func TestRolloutStatus(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	cond := func(st metav1.ConditionStatus, reason, msg string, at time.Time) []metav1.Condition {
		return []metav1.Condition{{Type: appstackv1.ConditionReady, Status: st, Reason: reason, Message: msg,
			LastTransitionTime: metav1.NewTime(at)}}
	}
	rb := &appstackv1.RollbackStatus{FailedRevision: 2, Revision: 1, Reason: "CrashLoopBackOff",
		Message: "web: keeps crashing", Time: metav1.NewTime(t0.Add(time.Minute))}
	const rolledBack = "revision 2 failed (web: keeps crashing), so the workloads run revision 1 again since " +
		"2026-11-23T08:01:00Z; change the spec to roll forward"
	cases := []struct {
		name          string
		before, after appstackv1.AppStackStatus
		rollback      *appstackv1.RollbackStatus
		readyRevision int64
		reason, msg   string
		transition    time.Time
	}{
		{name: "Ready at the revision it was at: derived, not written",
			before: appstackv1.AppStackStatus{Revision: 1, Conditions: cond(metav1.ConditionTrue, "Ready", "1/1", t0)},
			after:  appstackv1.AppStackStatus{Revision: 1, Conditions: cond(metav1.ConditionTrue, "Ready", "1/1", t0)},
			reason: "Ready", msg: "1/1", transition: t0},
		{name: "Ready at a new revision: recorded",
			before:        appstackv1.AppStackStatus{Revision: 1, Conditions: cond(metav1.ConditionTrue, "Ready", "1/1", t0)},
			after:         appstackv1.AppStackStatus{Revision: 2, Conditions: cond(metav1.ConditionTrue, "Ready", "1/1", t0)},
			readyRevision: 2, reason: "Ready", msg: "1/1", transition: t0},
		{name: "not Ready: the revision it was Ready at stays",
			before: appstackv1.AppStackStatus{Revision: 2, ReadyRevision: 1},
			after: appstackv1.AppStackStatus{Revision: 2,
				Conditions: cond(metav1.ConditionFalse, "CrashLoopBackOff", "web: keeps crashing", now)},
			readyRevision: 1, reason: "CrashLoopBackOff", msg: "web: keeps crashing", transition: now},
		{name: "rolled back and the old revision Ready: RolledBack, no transition from False",
			before: appstackv1.AppStackStatus{Revision: 2, ReadyRevision: 1,
				Conditions: cond(metav1.ConditionFalse, "CrashLoopBackOff", "web: keeps crashing", t0)},
			after:    appstackv1.AppStackStatus{Revision: 2, Ready: "1/1", Conditions: cond(metav1.ConditionTrue, "Ready", "1/1", now)},
			rollback: rb, readyRevision: 1, reason: appstackv1.ReasonRolledBack, msg: rolledBack, transition: t0},
		{name: "rolled back, the old revision still rolling out: said too",
			before: appstackv1.AppStackStatus{Revision: 2, ReadyRevision: 1,
				Conditions: cond(metav1.ConditionTrue, "Ready", "1/1", t0)},
			after: appstackv1.AppStackStatus{Revision: 2, Ready: "0/1",
				Conditions: cond(metav1.ConditionFalse, "Progressing", "web: Available: 0/1", now)},
			rollback: rb, readyRevision: 1, reason: appstackv1.ReasonRolledBack,
			msg: rolledBack + "; 0/1 components ready, web: Available: 0/1", transition: now},
		{name: "rolled back from Ready: a transition at the pass's time",
			before: appstackv1.AppStackStatus{Revision: 2, ReadyRevision: 1,
				Conditions: cond(metav1.ConditionTrue, "Ready", "1/1", t0)},
			after:    appstackv1.AppStackStatus{Revision: 2, Ready: "1/1", Conditions: cond(metav1.ConditionTrue, "Ready", "1/1", t0)},
			rollback: rb, readyRevision: 1, reason: appstackv1.ReasonRolledBack, msg: rolledBack, transition: now},
	}
	for _, tc := range cases {
		after := tc.after.DeepCopy()
		st := RolloutStatus(&tc.before, after, tc.rollback, 7, now)
		c := meta.FindStatusCondition(st.Conditions, appstackv1.ConditionReady)
		switch {
		case !equality.Semantic.DeepEqual(*after, tc.after):
			t.Errorf("%s: the status computed by the pass was changed", tc.name)
		case st.ReadyRevision != tc.readyRevision, c.Reason != tc.reason, c.Message != tc.msg,
			!c.LastTransitionTime.Time.Equal(tc.transition):
			t.Errorf("%s: readyRevision %d, Ready %s %q since %v; want %d, %s %q since %v", tc.name,
				st.ReadyRevision, c.Reason, c.Message, c.LastTransitionTime, tc.readyRevision, tc.reason, tc.msg, tc.transition)
		case !equality.Semantic.DeepEqual(st.Rollback, tc.rollback):
			t.Errorf("%s: status.rollback %+v, want %+v", tc.name, st.Rollback, tc.rollback)
		case tc.rollback != nil && (st.Summary != tc.msg || c.Status != metav1.ConditionFalse || c.ObservedGeneration != 7):
			t.Errorf("%s: summary %q, Ready %s at generation %d", tc.name, st.Summary, c.Status, c.ObservedGeneration)
		}
	}
}

// A rollback, pass after pass, each reading the status the last one wrote (the
// consistency gate's promise): failAfter counted from the first pass that saw the
// failure, one start, the rollback kept, and a new spec rolls forward.
func TestRollbackOverPassesThatWriteTheirStatus(t *testing.T) {
	o, start := rolloutCase(t)
	o.Stack.Status.FailingSince = nil
	o.Stack.Status.Conditions = []metav1.Condition{{Type: appstackv1.ConditionReady, Status: metav1.ConditionFalse,
		Reason: "CrashLoopBackOff", LastTransitionTime: metav1.NewTime(start)}}
	stack := o.Stack
	pass := func(at time.Duration) Rollout {
		o.Stack, o.Now = stack, start.Add(at)
		ro := DecideRollout(o)
		after := stack.DeepCopy()
		after.Status = RolloutStatus(&stack.Status, &after.Status, ro.Status, after.Generation, o.Now)
		after.Status.FailingSince, _ = FailureClock(&stack.Status, after, o.Current, o.Revisions, o.Now)
		stack = after // written, and read by the next pass
		return ro
	}
	if ro := pass(0); ro.Run != nil {
		t.Fatalf("the first pass that sees the failure rolled back: %+v", ro)
	}
	if stack.Status.FailingSince == nil || !stack.Status.FailingSince.Time.Equal(start) {
		t.Fatalf("status.failingSince %v, want %v", stack.Status.FailingSince, start)
	}
	if ro := pass(29 * time.Second); ro.Run != nil {
		t.Fatalf("rolled back within failAfter of the first pass that saw it: %+v", ro)
	}
	started := pass(30 * time.Second)
	if started.Run == nil || started.Run.Number != 1 || !started.Started {
		t.Fatalf("no rollback at failAfter: %+v", started)
	}
	if stack.Status.Rollback == nil || stack.Status.FailingSince != nil {
		t.Fatalf("after the start: rollback %+v, failingSince %v", stack.Status.Rollback, stack.Status.FailingSince)
	}
	for i := range 3 {
		if ro := pass(time.Duration(31+i) * time.Second); ro.Run == nil || ro.Run.Number != 1 || ro.Started {
			t.Fatalf("pass %d after the start: %+v, want the rollback kept, not started again", i+1, ro)
		}
	}
	o.Hash, o.Current = "fixed", 3
	o.Revisions = append(o.Revisions, Revision{Number: 3, Hash: "fixed", Spec: stack.Spec})
	stack.Status.Revision = 3
	if ro := pass(time.Minute); ro.Run != nil || stack.Status.Rollback != nil {
		t.Fatalf("a new spec did not roll forward: %+v, status.rollback %+v", ro, stack.Status.Rollback)
	}
}

func TestMarkRolledBack(t *testing.T) {
	rev := &appsv1.ControllerRevision{}
	MarkRolledBack(rev, &appstackv1.RollbackStatus{FailedRevision: 2, Revision: 1, Reason: "CrashLoopBackOff",
		Message: "web: keeps crashing", Time: metav1.NewTime(time.Date(2026, 11, 23, 9, 0, 0, 0, time.FixedZone("CET", 3600)))})
	want := "CrashLoopBackOff at 2026-11-23T08:00:00Z: rolled back to revision 1 (web: keeps crashing)"
	if got := rev.Annotations[render.AnnotationRolledBack]; got != want {
		t.Fatalf("annotation %q, want %q", got, want)
	}
}
