/*
Copyright 2026.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// AppStackSpec describes a whole application stack: the namespace it lives in, the
// configs and persistent volumes it shares, and the components (workloads with their
// services and volumes) that run there.
//
// References inside the stack are checked when the stack is applied:
// +kubebuilder:validation:XValidation:rule="self.components.all(c, !has(c.dependsOn) || c.dependsOn.all(d, self.components.exists(o, o.name == d)))",message="spec.components[].dependsOn: every entry must name a component of this stack"
// +kubebuilder:validation:XValidation:rule="self.components.all(c, !has(c.volumes) || c.volumes.all(v, !has(v.config) || (has(self.configs) && self.configs.exists(x, x.name == v.config))))",message="spec.components[].volumes[].config: must name an entry of spec.configs"
// +kubebuilder:validation:XValidation:rule="self.components.all(c, !has(c.volumes) || c.volumes.all(v, !has(v.persistentVolume) || (has(self.volumes) && self.volumes.exists(x, x.name == v.persistentVolume))))",message="spec.components[].volumes[].persistentVolume: must name an entry of spec.volumes"
type AppStackSpec struct {
	// namespace is the namespace the stack's objects live in. The operator creates
	// it when absent and then owns it, or adopts an existing one no other stack owns.
	// Defaults to a namespace named after the stack.
	// +optional
	Namespace *NamespaceSpec `json:"namespace,omitempty"`

	// configs become ConfigMaps in the stack's namespace, named as here. Components
	// mount them with volumes[].config; a change rolls the pods that mount them.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Configs []Config `json:"configs,omitempty"`

	// volumes are persistent volumes of the stack: each becomes a PersistentVolumeClaim
	// named as here, which components mount with volumes[].persistentVolume.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Volumes []StackVolume `json:"volumes,omitempty"`

	// components are the workloads of the stack. Each becomes a native workload
	// named after the component, plus a Service when it exposes ports.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=30
	// +required
	Components []Component `json:"components"`

	// paused stops reconciling: nothing is applied or pruned, and components report
	// the phase Suspended. Objects already on the cluster keep running.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// revisionHistoryLimit is how many revisions of the stack's spec are kept.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=10
	// +optional
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// rollout says what the operator does when a new revision of the spec fails.
	// +optional
	Rollout *RolloutSpec `json:"rollout,omitempty"`
}

// RolloutSpec configures automatic rollback (docs/rollback.md).
type RolloutSpec struct {
	// autoRollback, when true, puts the workloads (and the configs they mount) back
	// to the last revision that was Ready when the pods of a new revision fail —
	// they crash, cannot pull their image, fail readiness, cannot be created, or the
	// Deployment passes its progress deadline — for longer than failAfter. The spec
	// is not changed: the stack reports RolledBack and stays on the old revision
	// until the spec changes again. Services, claims, ingress and autoscalers stay
	// as the spec says; nothing is deleted.
	// +optional
	AutoRollback bool `json:"autoRollback,omitempty"`

	// failAfter is how long the pods of a new revision may fail before the rollback,
	// e.g. "2m". Defaults to 1m.
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('24h')",message="spec.rollout.failAfter: give a duration between 0s and 24h, e.g. 2m"
	// +optional
	FailAfter *metav1.Duration `json:"failAfter,omitempty"`
}

// PodSecurityLevel is a Pod Security Standard enforced on the namespace.
// +kubebuilder:validation:Enum=privileged;baseline;restricted
type PodSecurityLevel string

const (
	PodSecurityPrivileged PodSecurityLevel = "privileged"
	PodSecurityBaseline   PodSecurityLevel = "baseline"
	PodSecurityRestricted PodSecurityLevel = "restricted"
)

// NamespaceSpec names and labels the stack's namespace.
type NamespaceSpec struct {
	// name of the namespace. Defaults to the stack's name.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Name string `json:"name,omitempty"`

	// labels are added to the namespace, except keys the operator or the cluster
	// interpret: pod-security.kubernetes.io/*, apps.appstack.dev/*,
	// app.kubernetes.io/managed-by, and kubernetes.io/*, k8s.io/* and their
	// subdomains (app.kubernetes.io/* aside).
	// +kubebuilder:validation:MaxProperties=64
	// Keys the operator or the cluster interpret are refused: the operator would
	// fight over them, or they would change what the namespace's pods may do.
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('pod-security.kubernetes.io/'))",message="spec.namespace.labels: pod-security.kubernetes.io/* keys are refused: Pod Security is set by the operator from spec.namespace.podSecurity; remove them and set spec.namespace.podSecurity instead",messageExpression="'spec.namespace.labels: ' + self.filter(k, k.startsWith('pod-security.kubernetes.io/'))[0] + ': Pod Security is set by the operator from spec.namespace.podSecurity (with enforce-version latest); remove them and set spec.namespace.podSecurity instead'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('apps.appstack.dev/'))",message="spec.namespace.labels: apps.appstack.dev/* labels are reserved to the operator; remove them",messageExpression="'spec.namespace.labels: ' + self.filter(k, k.startsWith('apps.appstack.dev/'))[0] + ': apps.appstack.dev/* labels are reserved to the operator, which records ownership, adoption and retention there; remove them'"
	// +kubebuilder:validation:XValidation:rule="!('app.kubernetes.io/managed-by' in self)",message="spec.namespace.labels: app.kubernetes.io/managed-by is set by the operator (appstack-operator); remove it"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k.startsWith('kubernetes.io/') || k.startsWith('k8s.io/') || ((k.contains('.kubernetes.io/') || k.contains('.k8s.io/')) && !k.startsWith('app.kubernetes.io/') && !k.startsWith('pod-security.kubernetes.io/'))))",message="spec.namespace.labels: labels under kubernetes.io and k8s.io are interpreted by the cluster; remove them; to place the pods of a component, set spec.components[].nodeSelector",messageExpression="'spec.namespace.labels: ' + self.filter(k, k.startsWith('kubernetes.io/') || k.startsWith('k8s.io/') || ((k.contains('.kubernetes.io/') || k.contains('.k8s.io/')) && !k.startsWith('app.kubernetes.io/') && !k.startsWith('pod-security.kubernetes.io/')))[0] + ': labels under kubernetes.io and k8s.io are interpreted by the cluster (e.g. kubernetes.io/metadata.name); remove them; to place the pods of a component, set spec.components[].nodeSelector'"
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations are added to the namespace, except the keys refused in labels.
	// +kubebuilder:validation:MaxProperties=64
	// Keys the operator or the cluster interpret are refused: the operator would
	// fight over them, or they would change what the namespace's pods may do.
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('pod-security.kubernetes.io/'))",message="spec.namespace.annotations: pod-security.kubernetes.io/* keys are refused: Pod Security is set by the operator from spec.namespace.podSecurity; remove them and set spec.namespace.podSecurity instead",messageExpression="'spec.namespace.annotations: ' + self.filter(k, k.startsWith('pod-security.kubernetes.io/'))[0] + ': Pod Security is set by the operator from spec.namespace.podSecurity (with enforce-version latest); remove them and set spec.namespace.podSecurity instead'"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('apps.appstack.dev/'))",message="spec.namespace.annotations: apps.appstack.dev/* annotations are reserved to the operator; remove them",messageExpression="'spec.namespace.annotations: ' + self.filter(k, k.startsWith('apps.appstack.dev/'))[0] + ': apps.appstack.dev/* annotations are reserved to the operator, which records ownership, adoption and retention there; remove them'"
	// +kubebuilder:validation:XValidation:rule="!('app.kubernetes.io/managed-by' in self)",message="spec.namespace.annotations: app.kubernetes.io/managed-by is set by the operator (appstack-operator); remove it"
	// +kubebuilder:validation:XValidation:rule="self.all(k, !(k.startsWith('kubernetes.io/') || k.startsWith('k8s.io/') || ((k.contains('.kubernetes.io/') || k.contains('.k8s.io/')) && !k.startsWith('app.kubernetes.io/') && !k.startsWith('pod-security.kubernetes.io/'))))",message="spec.namespace.annotations: annotations under kubernetes.io and k8s.io are interpreted by the cluster; remove them; to place or tolerate the pods of a component, set spec.components[].nodeSelector and tolerations",messageExpression="'spec.namespace.annotations: ' + self.filter(k, k.startsWith('kubernetes.io/') || k.startsWith('k8s.io/') || ((k.contains('.kubernetes.io/') || k.contains('.k8s.io/')) && !k.startsWith('app.kubernetes.io/') && !k.startsWith('pod-security.kubernetes.io/')))[0] + ': annotations under kubernetes.io and k8s.io are interpreted by the cluster (e.g. scheduler.alpha.kubernetes.io/node-selector, scheduler.alpha.kubernetes.io/defaultTolerations); remove them; to place or tolerate the pods of a component, set spec.components[].nodeSelector and tolerations'"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// podSecurity is the Pod Security Standard enforced on the namespace (the
	// pod-security.kubernetes.io/enforce label; at restricted also warn and audit).
	// +kubebuilder:default=baseline
	// +optional
	PodSecurity PodSecurityLevel `json:"podSecurity,omitempty"`

	// adopt lets the stack take over a namespace that already exists instead of
	// creating its own. The namespace's owner must agree too, by annotating it
	// apps.appstack.dev/adopt=<stack name>. An adopted namespace is never deleted
	// or owned; objects already in it are never touched; releasing it restores
	// the labels and annotations the operator changed. The admission policy
	// (README.md, "Who may do what") asks its author for update on the namespace
	// when the stack sets its podSecurity (other than baseline), labels or
	// annotations.
	// +optional
	Adopt bool `json:"adopt,omitempty"`
}

// Config is a set of files or values shared by the stack's components: a ConfigMap.
type Config struct {
	// name of the config and of its ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`

	// data maps file names (keys) to contents.
	// +kubebuilder:validation:MaxProperties=100
	// +optional
	Data map[string]string `json:"data,omitempty"`
}

// StackVolume is a persistent volume of the stack: a PersistentVolumeClaim.
type StackVolume struct {
	// name of the volume and of its PersistentVolumeClaim.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`

	// size requested, e.g. 1Gi. It can grow later; it cannot shrink.
	// +required
	Size resource.Quantity `json:"size"`

	// accessModes of the claim. Defaults to [ReadWriteOnce].
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:items:Enum=ReadWriteOnce;ReadOnlyMany;ReadWriteMany;ReadWriteOncePod
	// +kubebuilder:default={ReadWriteOnce}
	// +listType=set
	// +optional
	AccessModes []corev1.PersistentVolumeAccessMode `json:"accessModes,omitempty"`

	// storageClassName of the claim. Defaults to the cluster's default class.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`

	// retain keeps the claim, and its data, when the volume, its components or the
	// whole stack are deleted. Defaults to true; false deletes the claim with them.
	// +kubebuilder:default=true
	// +optional
	Retain *bool `json:"retain,omitempty"`
}

// ComponentKind is the native workload a component becomes.
// +kubebuilder:validation:Enum=Deployment;StatefulSet;DaemonSet;Job;CronJob;Pod
type ComponentKind string

const (
	KindDeployment  ComponentKind = "Deployment"
	KindStatefulSet ComponentKind = "StatefulSet"
	KindDaemonSet   ComponentKind = "DaemonSet"
	KindJob         ComponentKind = "Job"
	KindCronJob     ComponentKind = "CronJob"
	KindPod         ComponentKind = "Pod"
)

// Component is one workload of the stack: a pod template (one or more containers
// sharing network and volumes), how it runs, and how it is reached.
// +kubebuilder:validation:XValidation:rule="!has(self.dependsOn) || !(self.name in self.dependsOn)",message="dependsOn: a component cannot depend on itself"
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || !has(self.kind) || self.kind in ['Deployment', 'StatefulSet']",message="replicas: only a Deployment or StatefulSet has replicas; remove it for this kind"
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || !has(self.autoscaling)",message="replicas: the autoscaler owns the replica count when autoscaling is set; use autoscaling.minReplicas instead"
// +kubebuilder:validation:XValidation:rule="!has(self.autoscaling) || !has(self.kind) || self.kind in ['Deployment', 'StatefulSet']",message="autoscaling: only a Deployment or StatefulSet can be autoscaled"
// +kubebuilder:validation:XValidation:rule="has(self.kind) && self.kind == 'CronJob' ? has(self.schedule) : !has(self.schedule)",message="schedule: required for kind CronJob, and only allowed there"
// +kubebuilder:validation:XValidation:rule="!has(self.concurrencyPolicy) || (has(self.kind) && self.kind == 'CronJob')",message="concurrencyPolicy: only allowed for kind CronJob"
// +kubebuilder:validation:XValidation:rule="(!has(self.completions) && !has(self.parallelism) && !has(self.backoffLimit)) || (has(self.kind) && self.kind in ['Job', 'CronJob'])",message="completions, parallelism and backoffLimit: only allowed for kind Job or CronJob"
// +kubebuilder:validation:XValidation:rule="!has(self.volumeClaimTemplates) || (has(self.kind) && self.kind == 'StatefulSet')",message="volumeClaimTemplates: only allowed for kind StatefulSet; use spec.volumes for a volume shared by other kinds"
// +kubebuilder:validation:XValidation:rule="!has(self.progressDeadlineSeconds) || !has(self.kind) || self.kind == 'Deployment'",message="progressDeadlineSeconds: only allowed for kind Deployment"
// +kubebuilder:validation:XValidation:rule="!has(self.podDisruptionBudget) || !has(self.kind) || self.kind in ['Deployment', 'StatefulSet']",message="podDisruptionBudget: only allowed for kind Deployment or StatefulSet"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy) || !has(self.kind) || self.kind in ['Deployment', 'StatefulSet', 'DaemonSet']",message="strategy: only allowed for kind Deployment, StatefulSet or DaemonSet"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy) || !has(self.strategy.type) || self.strategy.type != 'Recreate' || !has(self.kind) || self.kind == 'Deployment'",message="strategy.type: Recreate is only allowed for kind Deployment"
// +kubebuilder:validation:XValidation:rule="!has(self.strategy) || !has(self.strategy.type) || self.strategy.type != 'OnDelete' || (has(self.kind) && self.kind in ['StatefulSet', 'DaemonSet'])",message="strategy.type: OnDelete is only allowed for kind StatefulSet or DaemonSet"
// +kubebuilder:validation:XValidation:rule="!has(self.restartPolicy) || self.restartPolicy != 'Always' || !has(self.kind) || !(self.kind in ['Job', 'CronJob'])",message="restartPolicy: a Job or CronJob needs OnFailure or Never"
// +kubebuilder:validation:XValidation:rule="!has(self.restartPolicy) || self.restartPolicy == 'Always' || (has(self.kind) && self.kind in ['Job', 'CronJob', 'Pod'])",message="restartPolicy: a Deployment, StatefulSet or DaemonSet always restarts its containers; remove restartPolicy"
// +kubebuilder:validation:XValidation:rule="!has(self.ingress) || !has(self.service) || self.service.type != 'None'",message="ingress: needs the component's Service; remove service.type: None"
// +kubebuilder:validation:XValidation:rule="self.containers.all(c, !has(c.ports) || c.ports.all(p, p.containerPort >= 1 && p.containerPort <= 65535))",message="containers[].ports[].containerPort: must be between 1 and 65535"
// +kubebuilder:validation:XValidation:rule="self.containers.all(c, !has(c.volumeMounts) || c.volumeMounts.all(m, (has(self.volumes) && self.volumes.exists(v, v.name == m.name)) || (has(self.volumeClaimTemplates) && self.volumeClaimTemplates.exists(v, v.name == m.name))))",message="containers[].volumeMounts[].name: must name an entry of this component's volumes (or volumeClaimTemplates)"
// +kubebuilder:validation:XValidation:rule="!has(self.initContainers) || self.initContainers.all(c, !has(c.volumeMounts) || c.volumeMounts.all(m, (has(self.volumes) && self.volumes.exists(v, v.name == m.name)) || (has(self.volumeClaimTemplates) && self.volumeClaimTemplates.exists(v, v.name == m.name))))",message="initContainers[].volumeMounts[].name: must name an entry of this component's volumes (or volumeClaimTemplates)"
// +kubebuilder:validation:XValidation:rule="!has(self.service) || !has(self.service.ports) || self.service.ports.all(p, !has(p.targetPort) || type(p.targetPort) == int || self.containers.exists(c, has(c.ports) && c.ports.exists(cp, has(cp.name) && cp.name == p.targetPort)))",message="service.ports[].targetPort: a named targetPort must be the name of a containers[].ports[] entry"
// +kubebuilder:validation:XValidation:rule="!has(self.volumeClaimTemplates) || self.volumeClaimTemplates.all(t, !has(self.volumes) || !self.volumes.exists(v, v.name == t.name))",message="volumeClaimTemplates[].name: must differ from every volumes[].name"
type Component struct {
	// name of the component; the workload and its Service carry this name, so it is
	// reachable as <name>.<namespace>.svc.cluster.local.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=50
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`

	// kind of workload. Defaults to Deployment.
	// +kubebuilder:default=Deployment
	// +optional
	Kind ComponentKind `json:"kind,omitempty"`

	// replicas is the desired number of pods (Deployment, StatefulSet). Defaults to 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// labels are added to the workload and its pods. The operator's own labels win.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Labels map[string]string `json:"labels,omitempty"`

	// annotations are added to the pods.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// initContainers run to completion, in order, before the containers start.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=5
	// +optional
	InitContainers []corev1.Container `json:"initContainers,omitempty"`

	// containers of the pod. More than one container makes sidecars: they share the
	// pod's network and volumes.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +required
	Containers []corev1.Container `json:"containers"`

	// volumes of the pod, mounted by name from containers[].volumeMounts.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Volumes []ComponentVolume `json:"volumes,omitempty"`

	// volumeClaimTemplates give each StatefulSet replica a volume of its own.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=5
	// +kubebuilder:validation:XValidation:rule="self.all(t, (has(t.retain) ? t.retain : true) == (has(self[0].retain) ? self[0].retain : true))",message="volumeClaimTemplates[].retain: must be the same for every template (it sets the StatefulSet's one claim retention policy)"
	// +optional
	VolumeClaimTemplates []VolumeClaimTemplate `json:"volumeClaimTemplates,omitempty"`

	// service exposes the component. Without it, a component whose containers
	// declare ports gets a ClusterIP Service with one port per container port; a
	// StatefulSet gets a headless one.
	// +optional
	Service *ServiceSpec `json:"service,omitempty"`

	// ingress routes HTTP from outside the cluster to the component's Service.
	// +optional
	Ingress *IngressSpec `json:"ingress,omitempty"`

	// autoscaling adds a HorizontalPodAutoscaler; the operator then leaves the
	// replica count to it.
	// +optional
	Autoscaling *AutoscalingSpec `json:"autoscaling,omitempty"`

	// podDisruptionBudget limits voluntary disruptions of the component's pods.
	// +optional
	PodDisruptionBudget *PodDisruptionBudgetSpec `json:"podDisruptionBudget,omitempty"`

	// dependsOn names components that must be Ready before this one's workload is
	// created. Each container gets <DEP>_HOST and <DEP>_PORT for each dependency.
	// +listType=set
	// +kubebuilder:validation:MaxItems=20
	// +optional
	DependsOn []string `json:"dependsOn,omitempty"`

	// nodeSelector constrains the pods to nodes with these labels.
	// +kubebuilder:validation:MaxProperties=32
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations of the pods.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity of the pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// serviceAccountName the pods run as.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// securityContext of the pods.
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`

	// restartPolicy of the pods: Always for Deployment, StatefulSet and DaemonSet;
	// OnFailure (the default) or Never for Job and CronJob; any for Pod (default Always).
	// +kubebuilder:validation:Enum=Always;OnFailure;Never
	// +optional
	RestartPolicy corev1.RestartPolicy `json:"restartPolicy,omitempty"`

	// strategy is how a Deployment, StatefulSet or DaemonSet replaces its pods.
	// +optional
	Strategy *StrategySpec `json:"strategy,omitempty"`

	// progressDeadlineSeconds after which a Deployment rollout that makes no progress
	// is reported Failed. Defaults to 600.
	// +kubebuilder:validation:Minimum=1
	// +optional
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`

	// schedule of a CronJob, in cron syntax (e.g. "*/5 * * * *").
	// +kubebuilder:validation:MinLength=9
	// +kubebuilder:validation:MaxLength=100
	// +optional
	Schedule string `json:"schedule,omitempty"`

	// concurrencyPolicy of a CronJob.
	// +kubebuilder:validation:Enum=Allow;Forbid;Replace
	// +optional
	ConcurrencyPolicy batchv1.ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`

	// completions a Job needs.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Completions *int32 `json:"completions,omitempty"`

	// parallelism of a Job.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Parallelism *int32 `json:"parallelism,omitempty"`

	// backoffLimit is how many retries a Job gets before it is Failed.
	// +kubebuilder:validation:Minimum=0
	// +optional
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`
}

// ComponentVolume is a pod volume. Exactly one source is set.
// +kubebuilder:validation:XValidation:rule="[has(self.emptyDir), has(self.config), has(self.secret), has(self.persistentVolume), has(self.hostPath)].filter(x, x).size() == 1",message="volumes[]: set exactly one of emptyDir, config, secret, persistentVolume, hostPath"
type ComponentVolume struct {
	// name of the volume, referenced by containers[].volumeMounts[].name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`

	// emptyDir is scratch space that lives as long as the pod.
	// +optional
	EmptyDir *corev1.EmptyDirVolumeSource `json:"emptyDir,omitempty"`

	// config names an entry of spec.configs; its data appear as files.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Config string `json:"config,omitempty"`

	// secret names an existing Secret in the stack's namespace; its data appear as
	// files. Stacks never carry secret values.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Secret string `json:"secret,omitempty"`

	// persistentVolume names an entry of spec.volumes.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	PersistentVolume string `json:"persistentVolume,omitempty"`

	// hostPath mounts a path of the node. The namespace's Pod Security level decides
	// whether pods may use it (baseline and restricted refuse it).
	// +optional
	HostPath *corev1.HostPathVolumeSource `json:"hostPath,omitempty"`
}

// VolumeClaimTemplate is a per-replica volume of a StatefulSet.
type VolumeClaimTemplate struct {
	// name of the template, mounted by containers[].volumeMounts[].name. Each replica
	// gets a claim <name>-<component>-<ordinal>.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`

	// size requested per replica.
	// +required
	Size resource.Quantity `json:"size"`

	// accessModes of each claim. Defaults to [ReadWriteOnce].
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:items:Enum=ReadWriteOnce;ReadOnlyMany;ReadWriteMany;ReadWriteOncePod
	// +kubebuilder:default={ReadWriteOnce}
	// +listType=set
	// +optional
	AccessModes []corev1.PersistentVolumeAccessMode `json:"accessModes,omitempty"`

	// storageClassName of each claim.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`

	// retain keeps the claims when the StatefulSet is deleted or scaled down
	// (persistentVolumeClaimRetentionPolicy Retain). Defaults to true.
	// +kubebuilder:default=true
	// +optional
	Retain *bool `json:"retain,omitempty"`
}

// ServiceType is how a component's Service is exposed.
// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer;Headless;None
type ServiceType string

const (
	ServiceTypeClusterIP    ServiceType = "ClusterIP"
	ServiceTypeNodePort     ServiceType = "NodePort"
	ServiceTypeLoadBalancer ServiceType = "LoadBalancer"
	// ServiceTypeHeadless makes a Service with clusterIP: None.
	ServiceTypeHeadless ServiceType = "Headless"
	// ServiceTypeNone suppresses the Service a component would otherwise get.
	ServiceTypeNone ServiceType = "None"
)

// ServiceSpec is the Service of a component.
// +kubebuilder:validation:XValidation:rule="!has(self.ports) || self.ports.all(p, !has(p.nodePort) || (has(self.type) && self.type in ['NodePort', 'LoadBalancer']))",message="service.ports[].nodePort: only allowed when service.type is NodePort or LoadBalancer"
// +kubebuilder:validation:XValidation:rule="!has(self.ports) || size(self.ports) < 2 || self.ports.all(p, has(p.name))",message="service.ports[].name: required on every port when there is more than one"
type ServiceSpec struct {
	// type of the Service. Defaults to ClusterIP (Headless for a StatefulSet).
	// +optional
	Type ServiceType `json:"type,omitempty"`

	// ports of the Service. Defaults to one port per container port.
	// +listType=map
	// +listMapKey=port
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Ports []ServicePort `json:"ports,omitempty"`
}

// ServicePort is one port of a component's Service.
type ServicePort struct {
	// name of the port; required when the Service has more than one port.
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Name string `json:"name,omitempty"`

	// port the Service listens on.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	Port int32 `json:"port"`

	// targetPort is the container port, by number or by a container port's name.
	// Defaults to port.
	// +kubebuilder:validation:XIntOrString
	// +optional
	TargetPort *intstr.IntOrString `json:"targetPort,omitempty"`

	// protocol of the port. Defaults to TCP.
	// +kubebuilder:validation:Enum=TCP;UDP;SCTP
	// +kubebuilder:default=TCP
	// +optional
	Protocol corev1.Protocol `json:"protocol,omitempty"`

	// nodePort to expose on every node (NodePort and LoadBalancer only). Chosen by
	// the cluster when unset.
	// +kubebuilder:validation:Minimum=30000
	// +kubebuilder:validation:Maximum=32767
	// +optional
	NodePort int32 `json:"nodePort,omitempty"`
}

// IngressSpec routes HTTP traffic for a host and path to the component's Service.
type IngressSpec struct {
	// host name to route, e.g. shop.example.com. Empty routes every host.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	Host string `json:"host,omitempty"`

	// path to route. Defaults to /.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	// +kubebuilder:default=/
	// +optional
	Path string `json:"path,omitempty"`

	// pathType: Prefix (default), Exact or ImplementationSpecific.
	// +kubebuilder:validation:Enum=Prefix;Exact;ImplementationSpecific
	// +kubebuilder:default=Prefix
	// +optional
	PathType networkingv1.PathType `json:"pathType,omitempty"`

	// className is the IngressClass; the cluster's default class when unset.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClassName *string `json:"className,omitempty"`

	// port of the Service to route to. Defaults to its first port.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`

	// tlsSecretName names an existing TLS Secret for host; set it to serve HTTPS.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	TLSSecretName string `json:"tlsSecretName,omitempty"`
}

// AutoscalingSpec is a HorizontalPodAutoscaler for the component.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="autoscaling.minReplicas: must not exceed autoscaling.maxReplicas"
// +kubebuilder:validation:XValidation:rule="has(self.targetCPUUtilizationPercentage) || has(self.targetMemoryUtilizationPercentage)",message="autoscaling: set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage"
type AutoscalingSpec struct {
	// minReplicas. Defaults to 1.
	// +kubebuilder:validation:Minimum=1
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// maxReplicas.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +required
	MaxReplicas int32 `json:"maxReplicas"`

	// targetCPUUtilizationPercentage of the pods' CPU requests.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`

	// targetMemoryUtilizationPercentage of the pods' memory requests.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	// +optional
	TargetMemoryUtilizationPercentage *int32 `json:"targetMemoryUtilizationPercentage,omitempty"`
}

// PodDisruptionBudgetSpec sets exactly one of minAvailable and maxUnavailable.
// +kubebuilder:validation:XValidation:rule="has(self.minAvailable) != has(self.maxUnavailable)",message="podDisruptionBudget: set exactly one of minAvailable and maxUnavailable"
type PodDisruptionBudgetSpec struct {
	// minAvailable pods, as a number or a percentage.
	// +kubebuilder:validation:XIntOrString
	// +optional
	MinAvailable *intstr.IntOrString `json:"minAvailable,omitempty"`

	// maxUnavailable pods, as a number or a percentage.
	// +kubebuilder:validation:XIntOrString
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// StrategyType is how pods are replaced.
// +kubebuilder:validation:Enum=RollingUpdate;Recreate;OnDelete
type StrategyType string

const (
	StrategyRollingUpdate StrategyType = "RollingUpdate"
	StrategyRecreate      StrategyType = "Recreate"
	StrategyOnDelete      StrategyType = "OnDelete"
)

// StrategySpec holds the rolling-update knobs of Deployment, StatefulSet and DaemonSet.
type StrategySpec struct {
	// type: RollingUpdate (default), Recreate (Deployment) or OnDelete
	// (StatefulSet, DaemonSet).
	// +optional
	Type StrategyType `json:"type,omitempty"`

	// maxSurge during a rolling update (Deployment, DaemonSet).
	// +kubebuilder:validation:XIntOrString
	// +optional
	MaxSurge *intstr.IntOrString `json:"maxSurge,omitempty"`

	// maxUnavailable during a rolling update.
	// +kubebuilder:validation:XIntOrString
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// partition of a StatefulSet rolling update: ordinals below it keep the old spec.
	// +kubebuilder:validation:Minimum=0
	// +optional
	Partition *int32 `json:"partition,omitempty"`
}

// ComponentPhase is where a component is in its life.
// +kubebuilder:validation:Enum=Waiting;Progressing;Ready;Failed;Suspended
type ComponentPhase string

const (
	PhaseWaiting     ComponentPhase = "Waiting"
	PhaseProgressing ComponentPhase = "Progressing"
	PhaseReady       ComponentPhase = "Ready"
	// PhaseFailed: the component cannot become Ready without a change from
	// someone (pods refused, a storage class that does not exist, an image that
	// cannot be pulled or a container that cannot be created past a grace, a
	// rollout past its deadline, a failed Job, a name conflict); the stack is
	// Stalled.
	PhaseFailed    ComponentPhase = "Failed"
	PhaseSuspended ComponentPhase = "Suspended"
)

// ComponentStatus is what the operator observed of one component on the cluster.
type ComponentStatus struct {
	// name of the component.
	// +required
	Name string `json:"name"`
	// kind of workload the component runs as.
	// +optional
	Kind ComponentKind `json:"kind,omitempty"`
	// phase summarises the component: Ready when its workload has rolled out.
	// +optional
	Phase ComponentPhase `json:"phase,omitempty"`
	// replicas the workload wants.
	// +optional
	Replicas int32 `json:"replicas"`
	// readyReplicas the workload has.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
	// reason is why the component is not Ready, in one word (ImagePullBackOff,
	// Unschedulable, FailedCreate, Waiting, ...); on a Ready component, a warning
	// that does not stop it serving (MetricsUnavailable, the reason of an
	// autoscaler that cannot compute a replica count such as
	// FailedGetResourceMetric, LoadBalancerPending, IngressClassNotFound,
	// IngressPending); else empty.
	// +optional
	Reason string `json:"reason,omitempty"`
	// message says why the component is not Ready (or what its warning is), naming
	// the object or container at fault.
	// +optional
	Message string `json:"message,omitempty"`
	// service is how the component is reached in the cluster.
	// +optional
	Service *ServiceStatus `json:"service,omitempty"`
}

// ServiceStatus is the observed address of a component's Service.
type ServiceStatus struct {
	// clusterIP of the Service ("None" for headless).
	// +optional
	ClusterIP string `json:"clusterIP,omitempty"`
	// ports of the Service as port/protocol.
	// +optional
	Ports []string `json:"ports,omitempty"`
	// url is the in-cluster DNS name and first port.
	// +optional
	URL string `json:"url,omitempty"`
}

// VolumeStatus is the observed state of a stack volume's claim.
type VolumeStatus struct {
	// name of the volume.
	// +required
	Name string `json:"name"`
	// phase of the claim: Pending, Bound or Lost.
	// +optional
	Phase corev1.PersistentVolumeClaimPhase `json:"phase,omitempty"`
	// capacity of the bound volume.
	// +optional
	Capacity string `json:"capacity,omitempty"`
}

// AppStackStatus is written only by the operator.
type AppStackStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// namespace the stack's objects live in.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// revision is the number of the ControllerRevision that records the spec this
	// status describes; `kubectl appstack history` lists them.
	// +optional
	Revision int64 `json:"revision,omitempty"`
	// readyRevision is the newest revision the stack was Ready at: where an
	// automatic rollback returns to.
	// +optional
	ReadyRevision int64 `json:"readyRevision,omitempty"`
	// rollback is set while the workloads run an earlier revision than the spec's,
	// because the spec's revision failed (spec.rollout.autoRollback).
	// +optional
	Rollback *RollbackStatus `json:"rollback,omitempty"`
	// failingSince is since when the spec's revision has been failing in a way an
	// automatic rollback mends: set only with spec.rollout.autoRollback, counted
	// from the first pass that saw the failure, and cleared when it stops failing
	// or the spec changes. A rollback starts once spec.rollout.failAfter has
	// passed since.
	// +optional
	FailingSince *metav1.Time `json:"failingSince,omitempty"`
	// ready counts ready components out of all, e.g. "2/3".
	// +optional
	Ready string `json:"ready,omitempty"`
	// summary says in one line how the stack is doing.
	// +optional
	Summary string `json:"summary,omitempty"`
	// conditions: Ready summarises the stack.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// components is the observed state of each component, in spec order.
	// +listType=map
	// +listMapKey=name
	// +optional
	Components []ComponentStatus `json:"components,omitempty"`
	// volumes is the observed state of each stack volume, in spec order.
	// +listType=map
	// +listMapKey=name
	// +optional
	Volumes []VolumeStatus `json:"volumes,omitempty"`
	// inventory lists every object the operator created for this stack, by
	// identity. Only these objects are ever changed, pruned or deleted; an object
	// that merely carries the stack's labels is left alone.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2048
	// +optional
	Inventory []InventoryEntry `json:"inventory,omitempty"`
}

// RollbackStatus records an automatic rollback.
type RollbackStatus struct {
	// failedRevision is the revision of the spec whose pods failed.
	// +required
	FailedRevision int64 `json:"failedRevision"`
	// revision is the revision whose workloads run instead.
	// +required
	Revision int64 `json:"revision"`
	// reason is the failure's reason, as a component's status names it (e.g.
	// CrashLoopBackOff).
	// +kubebuilder:validation:MaxLength=128
	// +required
	Reason string `json:"reason"`
	// message says which component failed and how.
	// +kubebuilder:validation:MaxLength=32768
	// +optional
	Message string `json:"message,omitempty"`
	// time the operator rolled back.
	// +required
	Time metav1.Time `json:"time"`
}

// InventoryEntry identifies one object the operator created for a stack.
type InventoryEntry struct {
	// apiVersion of the object, e.g. apps/v1.
	// +kubebuilder:validation:MaxLength=253
	// +required
	APIVersion string `json:"apiVersion"`
	// kind of the object, e.g. Deployment.
	// +kubebuilder:validation:MaxLength=63
	// +required
	Kind string `json:"kind"`
	// namespace of the object; empty for the stack's Namespace itself.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// name of the object.
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
	// uid the apiserver gave the object when the operator created it; an object
	// of the same name with another uid is not the stack's.
	// +required
	UID types.UID `json:"uid"`
}

// Condition types and reasons of an AppStack.
const (
	// ConditionReady is True when every component is Ready.
	ConditionReady = "Ready"
	// ConditionReconciling is present, True, while the operator still works
	// toward the current generation (applying, waiting for a rollout or a
	// dependency, retrying a refused write, deleting); its reason is Ready's. It
	// is the condition kstatus (Flux, Helm 4) reads as InProgress.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is present, True, when the stack cannot make progress
	// without a change from someone: a spec the operator refuses, a conflict, a
	// component that has failed, a rollback done, a pause. kstatus reads it as
	// Failed. Neither condition is present on a Ready stack.
	ConditionStalled = "Stalled"

	ReasonReady             = "Ready"
	ReasonProgressing       = "Progressing"
	ReasonNamespaceConflict = "NamespaceConflict"
	// ReasonConflict: an object the stack would create already exists and is not
	// the stack's; the operator leaves it untouched.
	ReasonConflict = "Conflict"
	// ReasonDeleting: the stack is being deleted and waits for its children to go.
	ReasonDeleting    = "Deleting"
	ReasonApplyFailed = "ApplyFailed"
	ReasonInvalidSpec = "InvalidSpec"
	ReasonSuspended   = "Suspended"
	// ReasonRolledBack: the spec's revision failed and the workloads run the last
	// revision that was Ready (spec.rollout.autoRollback); status.rollback says why.
	ReasonRolledBack = "RolledBack"
	// ReasonUnsafeChange refuses a change that would lose data or needs a
	// replacement the operator will not make on its own.
	ReasonUnsafeChange = "UnsafeChange"

	// Finalizer lets the operator delete a stack's children in reverse dependency
	// order and keep retained volumes before the stack goes.
	Finalizer = "apps.appstack.dev/finalizer"

	// AnnotationAdopt on a namespace that already exists names the one stack that
	// may adopt it (with spec.namespace.adopt: true).
	AnnotationAdopt = "apps.appstack.dev/adopt"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=stack;stacks,categories=appstack
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Revision",type=integer,JSONPath=`.status.revision`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="metadata.name: a stack name is at most 63 characters, because it is the default namespace name"
// The protected namespaces are refused when a stack is created; an update is
// never refused for them (oldSelf is set), so a stack stored before `default`
// joined the list still takes labels, status, spec changes and the removal of its
// finalizer (docs/api-evolution.md). The namespace cannot change anyway (below).
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || !((has(self.spec.__namespace__) && has(self.spec.__namespace__.name) ? self.spec.__namespace__.name : self.metadata.name) in ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'appstack-system'])",message="spec.namespace.name: default, kube-system, kube-public, kube-node-lease and appstack-system are protected (a stack named like one of them needs spec.namespace.name); choose a namespace of your own",optionalOldSelf=true
// Names that start with kube- are Kubernetes' own; a creation-only rule too.
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || !(has(self.spec.__namespace__) && has(self.spec.__namespace__.name) ? self.spec.__namespace__.name : self.metadata.name).startsWith('kube-')",message="spec.namespace.name: namespaces whose name starts with kube- are reserved to Kubernetes (a stack named kube-... needs spec.namespace.name); choose a namespace of your own",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="(has(self.spec.__namespace__) && has(self.spec.__namespace__.name) ? self.spec.__namespace__.name : self.metadata.name) == (has(oldSelf.spec.__namespace__) && has(oldSelf.spec.__namespace__.name) ? oldSelf.spec.__namespace__.name : oldSelf.metadata.name)",message="spec.namespace.name: cannot change; a stack lives in one namespace for life. To move it, delete the stack (its retained volumes stay in the old namespace) and create it again with the new name"

// AppStack is a whole application stack — namespace, workloads, services and
// volumes — reconciled into native Kubernetes objects.
type AppStack struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata. The name is limited to 63 characters
	// because it names the default namespace.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired stack.
	// +required
	Spec AppStackSpec `json:"spec"`

	// status is the observed state of the stack. Until the operator first writes
	// it, the apiserver serves it as observedGeneration 0, below the stack's
	// generation, so that kstatus (Helm 4's --wait, Flux's health checks) reads a
	// stack just created as InProgress; an absent status would read as Current
	// (docs/gitops.md).
	// +kubebuilder:default={observedGeneration: 0}
	// +optional
	Status AppStackStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// AppStackList contains a list of AppStack.
type AppStackList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AppStack `json:"items"`
}
