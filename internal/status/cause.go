package status

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	appstackv1 "github.com/appstack-dev/appstack-operator/api/v1alpha1"
	"github.com/appstack-dev/appstack-operator/internal/render"
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
	ReasonNodeNotReady             = "NodeNotReady"
	ReasonOOMKilled                = "OOMKilled"
	ReasonFailedMount              = "FailedMount"
	ReasonReadinessProbeFailed     = "ReadinessProbeFailed"
	ReasonEvicted                  = "Evicted"
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
// scheduled, pods on a node that is not Ready, containers that cannot start or keep
// dying, volumes that cannot be mounted, readiness probes that fail, claims that are
// not bound, evicted pods, a rollout past its deadline, a failed Job. It returns
// found=false when nothing on the cluster explains it (the rollout is just under
// way). Messages name the object or container, and the stack field to change where
// there is one, and carry nothing that changes while the cause does not (no pod
// names, no timestamps, no back-off durations, no pod IPs).
//
// failed tells a cause that will not go away without a change from someone (the
// component's phase is Failed and the stack Stalled): pods refused at creation
// (Pod Security, a quota), a claim whose storage class does not exist, an image
// that cannot be pulled or a container that cannot be created for StallGrace, a
// rollout past its deadline, a failed Job.
func cause(stack *appstackv1.AppStack, c *appstackv1.Component, obs Observed) (reason, message string, failed, found bool) {
	failed = finalFailure(obs.Workload)
	if r, m, ok := failedCreate(obs); ok {
		return r, m, true, true
	}
	pods := slices.Clone(obs.Pods)
	slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	if r, m, ok := unschedulable(pods, obs); ok {
		return r, m, failed || r == ReasonClaimPending && missingClass(obs), true
	}
	if r, m, ok := nodeNotReady(pods, obs.Nodes); ok {
		return r, m, failed, true
	}
	if r, m, since, ok := containerProblem(stack, c, pods); ok {
		return r, m, failed || stallsAfterGrace[r] && !obs.Now.IsZero() && obs.Now.Sub(since) >= StallGrace, true
	}
	if r, m, ok := failedMount(stack, c, pods, obs.Events); ok {
		return r, m, failed, true
	}
	if r, m, ok := readinessProbe(stack, c, pods, obs.Events); ok {
		return r, m, failed, true
	}
	if r, m, ok := claimPending(obs); ok {
		return r, m, failed || missingClass(obs), true
	}
	if r, m, ok := evicted(c, pods); ok {
		return r, m, failed, true
	}
	switch w := obs.Workload.(type) {
	case *appsv1.Deployment:
		if failed {
			return ReasonProgressDeadlineExceeded, fmt.Sprintf("Deployment %s made no progress for %ds (progressDeadlineSeconds)",
				w.Name, ptr.Deref(w.Spec.ProgressDeadlineSeconds, 600)), true, true
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

// finalFailure tells a workload that has given up: a Deployment past its progress
// deadline, a failed Job. Whatever cause names it, the component has Failed. A
// Deployment whose controller has not seen its current spec has not given up on
// it: its deadline was the template before's.
func finalFailure(w client.Object) bool {
	if !specObserved(w) {
		return false
	}
	switch w := w.(type) {
	case *appsv1.Deployment:
		for _, cond := range w.Status.Conditions {
			if cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && cond.Reason == "ProgressDeadlineExceeded" {
				return true
			}
		}
	case *batchv1.Job:
		for _, cond := range w.Status.Conditions {
			if cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue {
				return true
			}
		}
	}
	return false
}

// podName in an admission error is the pod's generated name, new at every retry:
// it must not reach the status, or the status would change with every attempt.
var podName = regexp.MustCompile(`pods "[^"]*" is forbidden`)

// failedCreate is a workload controller's report that it cannot create pods: a
// Pod Security violation, an exceeded quota. Deployments carry it as their
// ReplicaFailure condition, copied from the ReplicaSet; StatefulSets and DaemonSets
// only as FailedCreate events, which count while the workload has fewer pods than it
// wants.
func failedCreate(obs Observed) (string, string, bool) {
	switch w := obs.Workload.(type) {
	case *appsv1.Deployment:
		for _, cond := range w.Status.Conditions {
			if cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue {
				msg := podName.ReplaceAllString(cond.Message, "pods are forbidden")
				return ReasonFailedCreate, fmt.Sprintf("ReplicaSet of Deployment %s cannot create pods: %s", w.Name, msg), true
			}
		}
	case *appsv1.StatefulSet:
		if int32(len(obs.Pods)) < ptr.Deref(w.Spec.Replicas, 1) {
			if msg, ok := failedCreateEvent(obs.Events, w); ok {
				return ReasonFailedCreate, fmt.Sprintf("StatefulSet %s cannot create pods: %s", w.Name, msg), true
			}
		}
	case *appsv1.DaemonSet:
		if w.Status.CurrentNumberScheduled < w.Status.DesiredNumberScheduled || w.Status.DesiredNumberScheduled == 0 {
			if msg, ok := failedCreateEvent(obs.Events, w); ok {
				return ReasonFailedCreate, fmt.Sprintf("DaemonSet %s cannot create pods: %s", w.Name, msg), true
			}
		}
	}
	return "", "", false
}

// createError finds the admission error in a FailedCreate event's message, which
// the StatefulSet controller words "create Pod web-0 in StatefulSet web failed
// error: pods \"web-0\" is forbidden: ..." and the DaemonSet controller "Error
// creating: pods \"agent-x2b9q\" is forbidden: ...".
var createError = regexp.MustCompile(`pods "[^"]*" is forbidden: .*`)

// failedCreateEvent is the admission error of the newest FailedCreate event of w.
func failedCreateEvent(events []corev1.Event, w client.Object) (string, bool) {
	ev := newest(events, func(e *corev1.Event) bool {
		return e.Reason == ReasonFailedCreate && e.InvolvedObject.Name == w.GetName() &&
			(e.InvolvedObject.UID == "" || e.InvolvedObject.UID == w.GetUID())
	})
	if ev == nil {
		return "", false
	}
	msg := ev.Message
	if m := createError.FindString(msg); m != "" {
		msg = m
	}
	return podName.ReplaceAllString(msg, "pods are forbidden"), true
}

// newest is the most recent event that matches, nil when none does.
func newest(events []corev1.Event, match func(*corev1.Event) bool) *corev1.Event {
	var best *corev1.Event
	var bestAt time.Time
	for i := range events {
		e := &events[i]
		if !match(e) {
			continue
		}
		at := e.LastTimestamp.Time
		if e.Series != nil && e.Series.LastObservedTime.After(at) {
			at = e.Series.LastObservedTime.Time
		}
		if e.EventTime.After(at) {
			at = e.EventTime.Time
		}
		if best == nil || at.After(bestAt) || (at.Equal(bestAt) && e.Name > best.Name) {
			best, bestAt = e, at
		}
	}
	return best
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

// StallGrace is how long a container may go on failing to pull its image or to
// be created before the stack counts as Stalled: a registry that was briefly
// down, or a Secret another tool is about to create, mends within the kubelet's
// first retries (10 s, 20 s, 40 s); a wrong image name, missing pull credentials
// or a Secret nobody creates do not, and a GitOps tool waiting on the stack
// should hear so within a minute rather than at its timeout.
const StallGrace = time.Minute

// stallsAfterGrace are the container problems that make a component Failed
// once they have lasted StallGrace.
var stallsAfterGrace = map[string]bool{ReasonImagePullBackOff: true, ReasonCreateContainerConfig: true}

// containerProblem finds a container that cannot start or keeps dying, with the
// creation time of its pod: how long a problem that StallGrace applies to has
// lasted, at most.
func containerProblem(stack *appstackv1.AppStack, c *appstackv1.Component, pods []corev1.Pod) (string, string, time.Time, bool) {
	for _, p := range pods {
		since := p.CreationTimestamp.Time
		for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
			for _, cs := range list {
				if r, m, ok := oomKilled(c, cs); ok {
					return r, m, since, true
				}
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
					return reason, fmt.Sprintf("container %s cannot pull image %q", cs.Name, cs.Image), since, true
				case ReasonCrashLoopBackOff:
					msg := fmt.Sprintf("container %s keeps crashing", cs.Name)
					if t := cs.LastTerminationState.Terminated; t != nil {
						msg += fmt.Sprintf(": last exit code %d (%s)", t.ExitCode, t.Reason)
					}
					return reason, msg, since, true
				default:
					msg := fmt.Sprintf("container %s cannot be created", cs.Name)
					if w.Message != "" {
						msg += ": " + w.Message + missingReference(stack, c, cs.Name, w.Message)
					}
					return reason, msg, since, true
				}
			}
		}
	}
	return "", "", time.Time{}, false
}

// waitsOn tells a pod with a container waiting for one of the reasons.
func waitsOn(p *corev1.Pod, reasons map[string]bool) bool {
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, cs := range list {
			if w := cs.State.Waiting; w != nil && reasons[containerProblems[w.Reason]] {
				return true
			}
		}
	}
	return false
}

// missingClass tells a claim not bound that names a storage class that does not
// exist: no provisioner will ever bind it.
func missingClass(obs Observed) bool {
	return slices.ContainsFunc(obs.Claims, func(pvc corev1.PersistentVolumeClaim) bool {
		return pvc.Status.Phase != corev1.ClaimBound && classMissing(obs, &pvc)
	})
}

// classMissing tells a claim that names a storage class that does not exist
// (false when that is unknown).
func classMissing(obs Observed, pvc *corev1.PersistentVolumeClaim) bool {
	class := ptr.Deref(pvc.Spec.StorageClassName, "")
	return class != "" && obs.StorageClassExists != nil && !obs.StorageClassExists(class)
}

// oomKilled finds a container that is not ready because the kernel killed it for
// using more memory than its limit: waiting to restart, or restarted and not
// ready yet.
func oomKilled(c *appstackv1.Component, cs corev1.ContainerStatus) (string, string, bool) {
	if cs.Ready {
		return "", "", false
	}
	t := cs.State.Terminated
	if t == nil || t.Reason != ReasonOOMKilled {
		t = cs.LastTerminationState.Terminated
	}
	if t == nil || t.Reason != ReasonOOMKilled {
		return "", "", false
	}
	field := containerField(c, cs.Name) + ".resources.limits.memory"
	limit := "none is set, so the node's memory ran out"
	if ctr := specContainer(c, cs.Name); ctr != nil {
		if q, ok := ctr.Resources.Limits[corev1.ResourceMemory]; ok {
			limit = "now " + q.String()
		}
	}
	return ReasonOOMKilled, fmt.Sprintf("container %s was killed for running out of memory (OOMKilled, exit code %d): raise %s (%s)",
		cs.Name, t.ExitCode, field, limit), true
}

// containerField is the stack field of a component's container.
func containerField(c *appstackv1.Component, name string) string {
	list := "containers"
	if slices.ContainsFunc(c.InitContainers, func(ctr corev1.Container) bool { return ctr.Name == name }) {
		list = "initContainers"
	}
	return fmt.Sprintf("spec.components[%s].%s[%s]", c.Name, list, name)
}

func specContainer(c *appstackv1.Component, name string) *corev1.Container {
	for _, list := range [][]corev1.Container{c.InitContainers, c.Containers} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// The kinds of object a container refers to by name, as the kubelet's messages
// spell them (lower-cased).
const (
	refSecret    = "secret"
	refConfigMap = "configmap"
)

// The kubelet's words for a reference it cannot resolve.
var (
	refNotFound = regexp.MustCompile(`(?i)\b(secret|configmap) "([^"]+)" not found`)
	keyNotFound = regexp.MustCompile(`couldn't find key (\S+) in (Secret|ConfigMap) [^/\s]+/(\S+)`)
)

// missingReference names the stack field that refers to the Secret or ConfigMap a
// kubelet message says is missing, and what to do; "" when the message names none
// or no field of the container refers to it.
func missingReference(stack *appstackv1.AppStack, c *appstackv1.Component, container, msg string) string {
	var kind, name, key string
	if m := refNotFound.FindStringSubmatch(msg); m != nil {
		kind, name = strings.ToLower(m[1]), m[2]
	} else if m := keyNotFound.FindStringSubmatch(msg); m != nil {
		kind, name, key = strings.ToLower(m[2]), m[3], m[1]
	} else {
		return ""
	}
	field := referenceField(c, container, kind, name)
	if field == "" {
		return ""
	}
	what := map[string]string{refSecret: "Secret", refConfigMap: "ConfigMap"}[kind]
	ns := render.NamespaceName(stack)
	if key != "" {
		return fmt.Sprintf(" (%s): add key %s to %s %s in namespace %s, or change that field", field, key, what, name, ns)
	}
	return fmt.Sprintf(" (%s): create %s %s in namespace %s, or change that field", field, what, name, ns)
}

// referenceField is the stack field through which a container refers to a Secret
// or ConfigMap ("secret" or "configmap"): an env entry, an envFrom entry, or one of
// the component's volumes.
func referenceField(c *appstackv1.Component, container, kind, name string) string {
	if ctr := specContainer(c, container); ctr != nil {
		base := containerField(c, container)
		for _, e := range ctr.Env {
			if e.ValueFrom == nil {
				continue
			}
			if r := e.ValueFrom.SecretKeyRef; kind == refSecret && r != nil && r.Name == name {
				return fmt.Sprintf("%s.env[%s].valueFrom.secretKeyRef", base, e.Name)
			}
			if r := e.ValueFrom.ConfigMapKeyRef; kind == refConfigMap && r != nil && r.Name == name {
				return fmt.Sprintf("%s.env[%s].valueFrom.configMapKeyRef", base, e.Name)
			}
		}
		for i, e := range ctr.EnvFrom {
			if r := e.SecretRef; kind == refSecret && r != nil && r.Name == name {
				return fmt.Sprintf("%s.envFrom[%d].secretRef", base, i)
			}
			if r := e.ConfigMapRef; kind == refConfigMap && r != nil && r.Name == name {
				return fmt.Sprintf("%s.envFrom[%d].configMapRef", base, i)
			}
		}
	}
	for _, v := range c.Volumes {
		if kind == refSecret && v.Secret == name {
			return fmt.Sprintf("spec.components[%s].volumes[%s].secret", c.Name, v.Name)
		}
	}
	return ""
}

// mountFailure is the kubelet's FailedMount event for one volume.
var mountFailure = regexp.MustCompile(`^MountVolume\.\w+ failed for volume "([^"]+)" : (.*)$`)

// failedMount finds a pod whose containers wait for a volume the kubelet cannot
// mount — a Secret that does not exist, most often — from the kubelet's FailedMount
// events (the pod itself only says ContainerCreating).
func failedMount(stack *appstackv1.AppStack, c *appstackv1.Component, pods []corev1.Pod, events []corev1.Event) (string, string, bool) {
	for _, p := range pods {
		if p.Status.Phase != corev1.PodPending || p.Spec.NodeName == "" && !scheduled(p) {
			continue
		}
		ev := newest(events, func(e *corev1.Event) bool {
			return e.Reason == ReasonFailedMount && e.InvolvedObject.Kind == "Pod" && e.InvolvedObject.Name == p.Name &&
				mountFailure.MatchString(e.Message)
		})
		if ev == nil {
			continue
		}
		m := mountFailure.FindStringSubmatch(ev.Message)
		volume, why := m[1], m[2]
		msg := fmt.Sprintf("volume %s cannot be mounted: %s", volume, why)
		if ref := mountReference(stack, c, volume, why); ref != "" {
			msg += ref
		}
		return ReasonFailedMount, msg, true
	}
	return "", "", false
}

// mountReference names the stack volume that refers to a missing Secret.
func mountReference(stack *appstackv1.AppStack, c *appstackv1.Component, volume, why string) string {
	m := refNotFound.FindStringSubmatch(why)
	if m == nil || !strings.EqualFold(m[1], refSecret) {
		return ""
	}
	for _, v := range c.Volumes {
		if v.Name == volume && v.Secret == m[2] {
			return fmt.Sprintf(" (spec.components[%s].volumes[%s].secret): create Secret %s in namespace %s, or change that field",
				c.Name, v.Name, v.Secret, render.NamespaceName(stack))
		}
	}
	return ""
}

func scheduled(p corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// probeFailure is the kubelet's Unhealthy event for a readiness probe, and
// podIP the address in it that changes with every pod.
var (
	probeFailure = regexp.MustCompile(`^Readiness probe failed: ?(.*)`)
	podIP        = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`)
	fieldPathCtr = regexp.MustCompile(`^spec\.(?:initContainers|containers)\{([^}]+)\}$`)
)

// readinessProbe finds a running pod that is not ready because a readiness probe
// fails, with what the kubelet's Unhealthy event says of it that the stack's
// readers may see (probeMessage).
func readinessProbe(stack *appstackv1.AppStack, c *appstackv1.Component, pods []corev1.Pod, events []corev1.Event) (string, string, bool) {
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning || PodReady(&p) {
			continue
		}
		ev := newest(events, func(e *corev1.Event) bool {
			return e.Reason == "Unhealthy" && e.InvolvedObject.Kind == "Pod" && e.InvolvedObject.Name == p.Name &&
				probeFailure.MatchString(e.Message)
		})
		if ev == nil {
			continue
		}
		container := ""
		if m := fieldPathCtr.FindStringSubmatch(ev.InvolvedObject.FieldPath); m != nil {
			container = m[1]
		}
		for _, cs := range p.Status.ContainerStatuses {
			if container == "" && !cs.Ready {
				container = cs.Name
			}
		}
		var probe *corev1.Probe
		if ctr := specContainer(c, container); ctr != nil {
			probe = ctr.ReadinessProbe
		}
		why := strings.TrimSpace(probeFailure.FindStringSubmatch(ev.Message)[1])
		return ReasonReadinessProbeFailed, fmt.Sprintf("container %s is not ready: %s (%s.readinessProbe)",
			container, probeMessage(stack, c, probe, why), containerField(c, container)), true
	}
	return "", "", false
}

// The kubelet's own words for a failing probe: what it sends and what the
// network answers, never what the container prints. A message of another shape
// is not shown (probeMessage).
var (
	probeStatusCode = regexp.MustCompile(`^HTTP probe failed with statuscode: \d{3}$`)
	// netAddr is an address the kubelet dials: the pod's IP or the probe's host,
	// and a port.
	netAddr  = `[\w.:\[\]%-]+`
	probeNet = regexp.MustCompile(`^(?:dial tcp ` + netAddr + `: (?:connect: )?|read tcp ` + netAddr + `->` + netAddr + `: read: )?` +
		`(?:connection refused|i/o timeout|no route to host|network is unreachable|connection reset by peer|connection timed out)$`)
	probeHTTPGet = regexp.MustCompile(`^Get "([^"]*)": (.*)$`)
	probeHTTPErr = regexp.MustCompile(`^(?:EOF|context deadline exceeded|net/http: request canceled(?: while waiting for connection)?)` +
		`(?: \(Client\.Timeout exceeded while awaiting headers\))?$`)
	probeGRPC = regexp.MustCompile(`^(?:service unhealthy \(responded with "(?:NOT_SERVING|UNKNOWN|SERVICE_UNKNOWN)"\)|` +
		`timeout: health rpc did not complete within \S+)$`)
)

// probeMessage says why a readiness probe fails, for the stack's status — which
// everyone who may read stacks reads, including people who may not read the
// stack's namespace. The kubelet's message for an exec probe is the command's
// output, and an HTTP or gRPC probe's error may quote what the container
// answered (a malformed response, a redirect's path, the server's own error
// text): any of it may be what the container can read, its Secrets and data. So
// the message is kept only when it has one of the shapes the kubelet and the
// network write themselves (an HTTP status code, a refused or timed-out
// connection), with the pod's IP left out; otherwise the status names the kind
// of probe and where to read the kubelet's message, for those who may read the
// pods. The exit code of an exec probe's command is not in any event.
func probeMessage(stack *appstackv1.AppStack, c *appstackv1.Component, probe *corev1.Probe, why string) string {
	if probe == nil || probe.Exec == nil {
		why, _, _ = strings.Cut(why, "\n")
		if kubeletWords(probe, why) {
			return "its readiness probe fails: " + podIP.ReplaceAllString(why, "<pod IP>")
		}
	}
	kind := "readiness probe"
	switch {
	case probe == nil:
	case probe.Exec != nil:
		kind = "exec readiness probe"
	case probe.HTTPGet != nil:
		kind = "httpGet readiness probe"
	case probe.TCPSocket != nil:
		kind = "tcpSocket readiness probe"
	case probe.GRPC != nil:
		kind = "grpc readiness probe"
	}
	what := "the kubelet's message is not shown in status, as it may carry what the container answered"
	if probe != nil && probe.Exec != nil {
		what = "its output is not shown in status"
	}
	return fmt.Sprintf("its %s fails (%s: `kubectl describe pods -n %s -l %s=%s,%s=%s` shows it to those who may read those pods)",
		kind, what, render.NamespaceName(stack), render.LabelStack, stack.Name, render.LabelComponent, c.Name)
}

// kubeletWords tells whether a probe's failure message is one the kubelet and the
// network word themselves. An HTTP request's URL is the probe's own only when
// its path is the probe's: a redirect puts the container's Location there.
func kubeletWords(probe *corev1.Probe, why string) bool {
	if probeStatusCode.MatchString(why) || probeNet.MatchString(why) || probeGRPC.MatchString(why) {
		return true
	}
	m := probeHTTPGet.FindStringSubmatch(why)
	if m == nil || probe == nil || probe.HTTPGet == nil || !probeNet.MatchString(m[2]) && !probeHTTPErr.MatchString(m[2]) {
		return false
	}
	u, err := url.Parse(m[1])
	if err != nil {
		return false
	}
	path := probe.HTTPGet.Path
	if path == "" {
		path = "/"
	}
	return u.RequestURI() == path && u.User == nil && u.Fragment == ""
}

// PodReady tells whether a pod's Ready condition is True.
func PodReady(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// nodeNotReady finds pods on a node whose kubelet has stopped reporting or reports
// the node not Ready: the node lifecycle controller marks them not ready, and evicts
// them once their toleration of the node's taint runs out.
func nodeNotReady(pods []corev1.Pod, nodes []corev1.Node) (string, string, bool) {
	for _, p := range pods {
		if p.Spec.NodeName == "" || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || PodReady(&p) {
			continue
		}
		for _, n := range nodes {
			if n.Name != p.Spec.NodeName {
				continue
			}
			for _, cond := range n.Status.Conditions {
				if cond.Type != corev1.NodeReady || cond.Status == corev1.ConditionTrue {
					continue
				}
				state := "NotReady"
				if cond.Status == corev1.ConditionUnknown {
					state = "unreachable"
				}
				why := ""
				if cond.Reason != "" {
					why = " (" + cond.Reason + ")"
				}
				return ReasonNodeNotReady, fmt.Sprintf("pods are on node %s, which is %s%s: they are replaced once evicted from it "+
					"(after their toleration of node.kubernetes.io/not-ready and /unreachable, 5 minutes by default); "+
					"kubectl describe node %s tells why", n.Name, state, why, n.Name), true
			}
		}
	}
	return "", "", false
}

// evictedBy names the container an eviction message blames.
var evictedBy = regexp.MustCompile(`Container (\S+) was using`)

// evicted finds pods the kubelet evicted from a node short of memory, disk or
// process IDs; only when nothing newer explains the component (evicted pods stay
// until they are garbage-collected).
func evicted(c *appstackv1.Component, pods []corev1.Pod) (string, string, bool) {
	for _, p := range pods {
		if p.Status.Phase != corev1.PodFailed || p.Status.Reason != ReasonEvicted {
			continue
		}
		why, _, _ := strings.Cut(p.Status.Message, ". ")
		why = strings.TrimSuffix(why, ".")
		msg := "pods were evicted from their node"
		if why != "" {
			msg += ": " + why
		}
		if m := evictedBy.FindStringSubmatch(p.Status.Message); m != nil {
			msg += fmt.Sprintf("; container %s used more than it requests: raise %s.resources.requests, pods over their requests are evicted first",
				m[1], containerField(c, m[1]))
		} else {
			msg += "; pods that use more than they request are evicted first: set resources.requests of " + fmt.Sprintf("spec.components[%s].containers", c.Name)
		}
		return ReasonEvicted, msg, true
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
		if classMissing(obs, &pvc) {
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
