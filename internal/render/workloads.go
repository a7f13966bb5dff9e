package render

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// replicas is the replica count the operator sets, or nil when an autoscaler owns it.
func replicas(c *appstackv1.Component) *int32 {
	if c.Autoscaling != nil {
		return nil
	}
	return ptr.To(ptr.Deref(c.Replicas, 1))
}

// Deployment renders a component of kind Deployment.
func Deployment(stack *appstackv1.AppStack, c *appstackv1.Component) *appsv1.Deployment {
	d := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "Deployment"},
		ObjectMeta: workloadMeta(stack, c),
		Spec: appsv1.DeploymentSpec{
			Replicas:                replicas(c),
			Selector:                &metav1.LabelSelector{MatchLabels: SelectorLabels(stack, c.Name)},
			Template:                podTemplate(stack, c),
			ProgressDeadlineSeconds: c.ProgressDeadlineSeconds,
		},
	}
	if s := c.Strategy; s != nil {
		switch s.Type {
		case appstackv1.StrategyRecreate:
			d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
		default:
			d.Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
			if s.MaxSurge != nil || s.MaxUnavailable != nil {
				d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: s.MaxSurge, MaxUnavailable: s.MaxUnavailable}
			}
		}
	}
	return d
}

// StatefulSet renders a component of kind StatefulSet, governed by the headless
// Service that Services renders for it.
func StatefulSet(stack *appstackv1.AppStack, c *appstackv1.Component) *appsv1.StatefulSet {
	policy := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if len(c.VolumeClaimTemplates) > 0 && !ptr.Deref(c.VolumeClaimTemplates[0].Retain, true) {
		policy = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	}
	s := &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "StatefulSet"},
		ObjectMeta: workloadMeta(stack, c),
		Spec: appsv1.StatefulSetSpec{
			Replicas:             replicas(c),
			Selector:             &metav1.LabelSelector{MatchLabels: SelectorLabels(stack, c.Name)},
			Template:             podTemplate(stack, c),
			ServiceName:          GoverningServiceName(c),
			VolumeClaimTemplates: volumeClaimTemplates(stack, c),
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				WhenDeleted: policy,
				WhenScaled:  policy,
			},
		},
	}
	if st := c.Strategy; st != nil {
		switch st.Type {
		case appstackv1.StrategyOnDelete:
			s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
		default:
			s.Spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
			if st.Partition != nil || st.MaxUnavailable != nil {
				s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: st.Partition, MaxUnavailable: st.MaxUnavailable}
			}
		}
	}
	return s
}

// DaemonSet renders a component of kind DaemonSet: one pod per eligible node.
func DaemonSet(stack *appstackv1.AppStack, c *appstackv1.Component) *appsv1.DaemonSet {
	d := &appsv1.DaemonSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "DaemonSet"},
		ObjectMeta: workloadMeta(stack, c),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(stack, c.Name)},
			Template: podTemplate(stack, c),
		},
	}
	if st := c.Strategy; st != nil {
		switch st.Type {
		case appstackv1.StrategyOnDelete:
			d.Spec.UpdateStrategy.Type = appsv1.OnDeleteDaemonSetStrategyType
		default:
			d.Spec.UpdateStrategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
			if st.MaxSurge != nil || st.MaxUnavailable != nil {
				d.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxSurge: st.MaxSurge, MaxUnavailable: st.MaxUnavailable}
			}
		}
	}
	return d
}

// Job renders a component of kind Job. The Job controller picks its own selector.
func Job(stack *appstackv1.AppStack, c *appstackv1.Component) *batchv1.Job {
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: workloadMeta(stack, c),
		Spec:       jobSpec(stack, c),
	}
}

func jobSpec(stack *appstackv1.AppStack, c *appstackv1.Component) batchv1.JobSpec {
	return batchv1.JobSpec{
		Completions:  c.Completions,
		Parallelism:  c.Parallelism,
		BackoffLimit: c.BackoffLimit,
		Template:     podTemplate(stack, c),
	}
}

// CronJob renders a component of kind CronJob.
func CronJob(stack *appstackv1.AppStack, c *appstackv1.Component) *batchv1.CronJob {
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: workloadMeta(stack, c),
		Spec: batchv1.CronJobSpec{
			Schedule:          c.Schedule,
			ConcurrencyPolicy: c.ConcurrencyPolicy,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels(stack, c)},
				Spec:       jobSpec(stack, c),
			},
		},
	}
}

// Pod renders a component of kind Pod: one bare pod.
func Pod(stack *appstackv1.AppStack, c *appstackv1.Component) *corev1.Pod {
	tmpl := podTemplate(stack, c)
	meta := workloadMeta(stack, c)
	meta.Annotations = tmpl.Annotations
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: meta,
		Spec:       tmpl.Spec,
	}
}

func workloadMeta(stack *appstackv1.AppStack, c *appstackv1.Component) metav1.ObjectMeta {
	m := metav1.ObjectMeta{
		Name:      c.Name,
		Namespace: NamespaceName(stack),
		Labels:    podLabels(stack, c),
	}
	if c.Autoscaling != nil {
		m.Annotations = map[string]string{AnnotationAutoscaled: AnnotationAutoscaledValue}
	}
	return m
}

// AnnotationAutoscaled on a workload says that its autoscaler, not the operator,
// sets its replica count. A live workload without it whose component is now
// autoscaled still has the count the operator set, which is handed over first so
// that it never drops to the default of 1 (see internal/plan).
const AnnotationAutoscaled = "apps.appstack.dev/autoscaled"

// AnnotationAutoscaledValue is AnnotationAutoscaled's value on an autoscaled workload.
const AnnotationAutoscaledValue = "true"

// componentMeta is the metadata of a component's supporting objects.
func componentMeta(stack *appstackv1.AppStack, name, component string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      name,
		Namespace: NamespaceName(stack),
		Labels:    ComponentLabels(stack, component),
	}
}
