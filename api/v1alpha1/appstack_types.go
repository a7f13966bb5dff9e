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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// AppStackSpec describes a whole application stack: the namespace it lives in and
// the components (workloads with their services and volumes) that run there.
type AppStackSpec struct {
	// namespace is the namespace the stack's objects live in. The operator creates
	// it when absent and then owns it. Defaults to a namespace named after the stack.
	// +optional
	Namespace *NamespaceSpec `json:"namespace,omitempty"`

	// components are the workloads of the stack. Each becomes a native workload
	// named after the component, plus a Service when it exposes ports.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +required
	Components []Component `json:"components"`
}

// NamespaceSpec names and labels the stack's namespace.
type NamespaceSpec struct {
	// name of the namespace. Defaults to the stack's name.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Name string `json:"name,omitempty"`

	// labels are added to the namespace.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// ComponentKind is the native workload a component becomes.
// +kubebuilder:validation:Enum=Deployment
type ComponentKind string

const (
	// KindDeployment runs the component as an apps/v1 Deployment.
	KindDeployment ComponentKind = "Deployment"
)

// Component is one workload of the stack: a pod template (one or more containers
// sharing network and volumes), how many replicas run, and how it is reached.
type Component struct {
	// name of the component; the workload and its Service carry this name, so it is
	// reachable as <name>.<namespace>.svc.cluster.local.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=50
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`

	// kind of workload. Only Deployment is supported in this release.
	// +kubebuilder:default=Deployment
	// +optional
	Kind ComponentKind `json:"kind,omitempty"`

	// replicas is the desired number of pods. Defaults to 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// containers of the pod. More than one container makes sidecars: they share the
	// pod's network and volumes.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +required
	Containers []corev1.Container `json:"containers"`

	// volumes of the pod, mounted by name from containers[].volumeMounts.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=50
	// +optional
	Volumes []ComponentVolume `json:"volumes,omitempty"`

	// service exposes the component. Without it, a component whose containers
	// declare ports gets a ClusterIP Service with one port per container port.
	// +optional
	Service *ServiceSpec `json:"service,omitempty"`
}

// ComponentVolume is a pod volume. Exactly one source is set.
// +kubebuilder:validation:XValidation:rule="has(self.emptyDir)",message="a volume needs a source: set emptyDir"
type ComponentVolume struct {
	// name of the volume, referenced by containers[].volumeMounts[].name.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +required
	Name string `json:"name"`

	// emptyDir is scratch space that lives as long as the pod.
	// +optional
	EmptyDir *corev1.EmptyDirVolumeSource `json:"emptyDir,omitempty"`
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
type ServiceSpec struct {
	// type of the Service. Defaults to ClusterIP.
	// +kubebuilder:default=ClusterIP
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
	// +optional
	Name string `json:"name,omitempty"`

	// port the Service listens on.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +required
	Port int32 `json:"port"`

	// targetPort is the container port, by number or by a container port's name.
	// Defaults to port.
	// +optional
	TargetPort *intstr.IntOrString `json:"targetPort,omitempty"`

	// protocol of the port. Defaults to TCP.
	// +kubebuilder:validation:Enum=TCP;UDP;SCTP
	// +kubebuilder:default=TCP
	// +optional
	Protocol corev1.Protocol `json:"protocol,omitempty"`
}

// ComponentPhase is where a component is in its life.
// +kubebuilder:validation:Enum=Waiting;Progressing;Ready;Failed;Suspended
type ComponentPhase string

const (
	PhaseWaiting     ComponentPhase = "Waiting"
	PhaseProgressing ComponentPhase = "Progressing"
	PhaseReady       ComponentPhase = "Ready"
	PhaseFailed      ComponentPhase = "Failed"
	PhaseSuspended   ComponentPhase = "Suspended"
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
	// message says why the component is not Ready; empty when it is.
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

// AppStackStatus is written only by the operator.
type AppStackStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// namespace the stack's objects live in.
	// +optional
	Namespace string `json:"namespace,omitempty"`
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
}

// Condition types and reasons of an AppStack.
const (
	// ConditionReady is True when every component is Ready.
	ConditionReady = "Ready"

	ReasonReady             = "Ready"
	ReasonProgressing       = "Progressing"
	ReasonNamespaceConflict = "NamespaceConflict"
	ReasonApplyFailed       = "ApplyFailed"
	ReasonInvalidSpec       = "InvalidSpec"
)

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=stack;stacks,categories=appstack
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63",message="metadata.name: a stack name is at most 63 characters, because it is the default namespace name"
// +kubebuilder:validation:XValidation:rule="!((has(self.spec.__namespace__) && has(self.spec.__namespace__.name) ? self.spec.__namespace__.name : self.metadata.name) in ['kube-system', 'kube-public', 'kube-node-lease', 'appstack-system'])",message="spec.namespace.name: kube-system, kube-public, kube-node-lease and appstack-system are protected (a stack named like one of them needs spec.namespace.name); choose a namespace of your own"

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

	// status is the observed state of the stack.
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

func init() {
	SchemeBuilder.Register(&AppStack{}, &AppStackList{})
}
