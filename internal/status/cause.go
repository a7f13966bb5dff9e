package status

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
)

// Reasons a component is not Ready, as the stack's STATUS column shows them.
const (
	ReasonFailedCreate             = "FailedCreate"
	ReasonUnschedulable            = "Unschedulable"
	ReasonImagePullBackOff         = "ImagePullBackOff"
	ReasonCrashLoopBackOff         = "CrashLoopBackOff"
	ReasonCreateContainerConfig    = "CreateContainerConfigError"
	ReasonClaimPending             = "ClaimPending"
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	ReasonJobFailed                = "JobFailed"
	ReasonWaiting                  = "Waiting"
	ReasonProgressing              = appstackv1.ReasonProgressing
)

// containerProblems are the container waiting reasons that name a cause, and the
// reason each is reported as: a failed pull alternates between ErrImagePull and
// ImagePullBackOff, and must not make the status flap.
var containerProblems = map[string]string{
	"ErrImagePull":               ReasonImagePullBackOff,
	"ImagePullBackOff":           ReasonImagePullBackOff,
	"InvalidImageName":           ReasonImagePullBackOff,
	"CrashLoopBackOff":           ReasonCrashLoopBackOff,
	"CreateContainerConfigError": ReasonCreateContainerConfig,
	"CreateContainerError":       ReasonCreateContainerConfig,
	"RunContainerError":          ReasonCrashLoopBackOff,
}

// cause finds why a component that is not Ready is not, on the cluster, in the
// precedence the README documents: pods that cannot be created, pods that cannot be
// scheduled, containers that cannot start, claims that are not bound, a rollout
// past its deadline, a failed Job. It returns found=false when nothing on the
// cluster explains it (the rollout is just under way). Messages name the object or
// container and carry nothing that changes while the cause does not (no pod
// names, no timestamps, no back-off durations).
func cause(obs Observed) (reason, message string, failed, found bool) {
	if r, m, ok := failedCreate(obs.Workload); ok {
		return r, m, false, true
	}
	pods := slices.Clone(obs.Pods)
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	if r, m, ok := unschedulable(pods, obs); ok {
		return r, m, false, true
	}
	if r, m, ok := containerProblem(pods); ok {
		return r, m, false, true
	}
	if r, m, ok := claimPending(obs); ok {
		return r, m, false, true
	}
	switch w := obs.Workload.(type) {
	case *appsv1.Deployment:
		for _, cond := range w.Status.Conditions {
			if cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded" {
				return ReasonProgressDeadlineExceeded, fmt.Sprintf("Deployment %s made no progress for %ds (progressDeadlineSeconds)",
					w.Name, ptr.Deref(w.Spec.ProgressDeadlineSeconds, 600)), true, true
			}
		}
	case *batchv1.Job:
		for _, cond := range w.Status.Conditions {
			if cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue {
				return ReasonJobFailed, fmt.Sprintf("Job %s failed: %s (%s)", w.Name, cond.Message, cond.Reason), true, true
			}
		}
	}
	return "", "", false, false
}

// podName in an admission error is the pod's generated name, new at every retry:
// it must not reach the status, or the status would change with every attempt.
var podName = regexp.MustCompile(`pods "[^"]*" is forbidden`)

// failedCreate is a workload controller's report that it cannot create pods: a
// Pod Security violation, an exceeded quota. Deployments carry it as their
// ReplicaFailure condition, copied from the ReplicaSet.
func failedCreate(w any) (string, string, bool) {
	if d, ok := w.(*appsv1.Deployment); ok {
		for _, cond := range d.Status.Conditions {
			if cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue {
				msg := podName.ReplaceAllString(cond.Message, "pods are forbidden")
				return ReasonFailedCreate, fmt.Sprintf("ReplicaSet of Deployment %s cannot create pods: %s", d.Name, msg), true
			}
		}
	}
	return "", "", false
}

func unschedulable(pods []corev1.Pod, obs Observed) (string, string, bool) {
	for _, p := range pods {
		for _, cond := range p.Status.Conditions {
			if cond.Type != corev1.PodScheduled || cond.Status != corev1.ConditionFalse || cond.Reason != corev1.PodReasonUnschedulable {
				continue
			}
			// A pod waiting for its claim is explained by the claim: trouble when the
			// claim is, progress while it is within its grace — or already bound, and
			// the scheduler has yet to try the pod again.
			if strings.Contains(strings.ToLower(cond.Message), "persistentvolumeclaim") ||
				slices.ContainsFunc(obs.Claims, func(c corev1.PersistentVolumeClaim) bool { return c.Status.Phase != corev1.ClaimBound }) {
				return claimPending(obs)
			}
			return ReasonUnschedulable, "pods cannot be scheduled: " + cond.Message, true
		}
	}
	return "", "", false
}

func containerProblem(pods []corev1.Pod) (string, string, bool) {
	for _, p := range pods {
		for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
			for _, cs := range list {
				w := cs.State.Waiting
				if w == nil {
					continue
				}
				reason, ok := containerProblems[w.Reason]
				if !ok {
					continue
				}
				switch reason {
				case ReasonImagePullBackOff:
					return reason, fmt.Sprintf("container %s cannot pull image %q", cs.Name, cs.Image), true
				case ReasonCrashLoopBackOff:
					msg := fmt.Sprintf("container %s keeps crashing", cs.Name)
					if t := cs.LastTerminationState.Terminated; t != nil {
						msg += fmt.Sprintf(": last exit code %d (%s)", t.ExitCode, t.Reason)
					}
					return reason, msg, true
				default:
					msg := fmt.Sprintf("container %s cannot be created", cs.Name)
					if w.Message != "" {
						msg += ": " + w.Message
					}
					return reason, msg, true
				}
			}
		}
	}
	return "", "", false
}

// claimPending finds a claim that is not bound and will not be without help: its
// storage class does not exist, or it has been Pending longer than ClaimGrace.
func claimPending(obs Observed) (string, string, bool) {
	for _, pvc := range obs.Claims {
		if pvc.Status.Phase == corev1.ClaimBound {
			continue
		}
		phase := pvc.Status.Phase
		if phase == "" {
			phase = corev1.ClaimPending
		}
		class := ptr.Deref(pvc.Spec.StorageClassName, "")
		if class != "" && obs.StorageClassExists != nil && !obs.StorageClassExists(class) {
			return ReasonClaimPending, fmt.Sprintf("PersistentVolumeClaim %s is %s: storage class %q does not exist", pvc.Name, phase, class), true
		}
		msg := fmt.Sprintf("PersistentVolumeClaim %s is %s", pvc.Name, phase)
		if phase == corev1.ClaimPending && !obs.Now.IsZero() { // without a clock, no grace
			if obs.Now.Sub(pvc.CreationTimestamp.Time) < ClaimGrace {
				continue
			}
			msg = fmt.Sprintf("PersistentVolumeClaim %s has been Pending for over %s", pvc.Name, ClaimGrace)
		}
		if class != "" {
			msg += fmt.Sprintf(" (storage class %q)", class)
		}
		return ReasonClaimPending, msg, true
	}
	return "", "", false
}
