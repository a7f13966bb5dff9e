package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// podTemplate is the pod of a component: its containers (sidecars and init
// containers included), volumes and scheduling, labelled so the component's selector
// and Service find it, and annotated with the hash of the configs it uses.
func podTemplate(stack *appstackv1.AppStack, c *appstackv1.Component) corev1.PodTemplateSpec {
	annotations := maps.Clone(c.Annotations)
	if h := configHash(stack, c); h != "" {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[AnnotationConfigHash] = h
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: podLabels(stack, c), Annotations: annotations},
		Spec:       podSpec(stack, c),
	}
}

func podSpec(stack *appstackv1.AppStack, c *appstackv1.Component) corev1.PodSpec {
	env := dependencyEnv(stack, c)
	return corev1.PodSpec{
		InitContainers:     withEnv(c.InitContainers, env),
		Containers:         withEnv(c.Containers, env),
		Volumes:            podVolumes(c),
		RestartPolicy:      restartPolicy(c),
		NodeSelector:       maps.Clone(c.NodeSelector),
		Tolerations:        slices.Clone(c.Tolerations),
		Affinity:           c.Affinity.DeepCopy(),
		ServiceAccountName: c.ServiceAccountName,
		SecurityContext:    c.SecurityContext.DeepCopy(),
	}
}

func restartPolicy(c *appstackv1.Component) corev1.RestartPolicy {
	if c.RestartPolicy != "" {
		return c.RestartPolicy
	}
	switch KindOf(c) {
	case appstackv1.KindJob, appstackv1.KindCronJob:
		return corev1.RestartPolicyOnFailure
	default:
		return corev1.RestartPolicyAlways
	}
}

func podVolumes(c *appstackv1.Component) []corev1.Volume {
	if len(c.Volumes) == 0 {
		return nil
	}
	out := make([]corev1.Volume, 0, len(c.Volumes))
	for _, v := range c.Volumes {
		vol := corev1.Volume{Name: v.Name}
		switch {
		case v.EmptyDir != nil:
			vol.EmptyDir = v.EmptyDir.DeepCopy()
		case v.Config != "":
			vol.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.Config}}
		case v.Secret != "":
			vol.Secret = &corev1.SecretVolumeSource{SecretName: v.Secret}
		case v.PersistentVolume != "":
			vol.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.PersistentVolume}
		case v.HostPath != nil:
			vol.HostPath = v.HostPath.DeepCopy()
		}
		out = append(out, vol)
	}
	return out
}

// dependencyEnv is <DEP>_HOST and <DEP>_PORT for each dependency that has a Service:
// its in-cluster DNS name and its first port.
func dependencyEnv(stack *appstackv1.AppStack, c *appstackv1.Component) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, name := range c.DependsOn {
		dep := Component(stack, name)
		if dep == nil {
			continue
		}
		svcs := Services(stack, dep)
		if len(svcs) == 0 {
			continue
		}
		svc := svcs[0]
		prefix := EnvPrefix(name)
		env = append(env, corev1.EnvVar{Name: prefix + "_HOST", Value: ServiceDNSName(NamespaceName(stack), svc.Name)})
		if len(svc.Spec.Ports) > 0 {
			env = append(env, corev1.EnvVar{Name: prefix + "_PORT", Value: fmt.Sprint(svc.Spec.Ports[0].Port)})
		}
	}
	return env
}

// EnvPrefix turns a component name into an environment variable prefix:
// "user-db" becomes "USER_DB".
func EnvPrefix(component string) string {
	return strings.ToUpper(strings.ReplaceAll(component, "-", "_"))
}

// withEnv adds env to each container unless the container sets that variable
// itself: the user's value wins.
func withEnv(containers []corev1.Container, env []corev1.EnvVar) []corev1.Container {
	if len(containers) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(containers))
	for i := range containers {
		containers[i].DeepCopyInto(&out[i])
		for _, e := range env {
			if !slices.ContainsFunc(out[i].Env, func(have corev1.EnvVar) bool { return have.Name == e.Name }) {
				out[i].Env = append(out[i].Env, e)
			}
		}
	}
	return out
}
