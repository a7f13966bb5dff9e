// Package cases holds stacks that must be refused, with the message a user sees.
// The envtest suite applies each to a real apiserver; the offline validator (the
// kubectl plugin) must refuse each with the same message.
package cases

// Invalid is one stack that must be refused at apply time.
type Invalid struct {
	// Name says what is wrong.
	Name string
	// StackName is metadata.name.
	StackName string
	// Spec is the stack's spec, in YAML.
	Spec string
	// Want is a fragment of the rejection message that names the field and says
	// what to do.
	Want string
}

const web = `
  - name: web
    containers:
    - name: app
      image: nginx
      ports: [{name: http, containerPort: 80}]`

// InvalidStacks are the refused stacks, one per validation rule.
var InvalidStacks = []Invalid{
	{Name: "stack name longer than 63", StackName: "a-very-long-stack-name-that-cannot-be-a-namespace-name-because-it-is-too-long",
		Spec: "components:" + web, Want: "a stack name is at most 63 characters"},
	{Name: "protected namespace", Spec: "namespace: {name: kube-system}\ncomponents:" + web,
		Want: "kube-system, kube-public, kube-node-lease and appstack-system are protected"},
	{Name: "the default namespace", Spec: "namespace: {name: default}\ncomponents:" + web,
		Want: "spec.namespace.name: default, kube-system"},
	{Name: "stack named default", StackName: "default", Spec: "components:" + web,
		Want: "are protected (a stack named like one of them needs spec.namespace.name)"},
	{Name: "stack named like a protected namespace", StackName: "kube-public", Spec: "components:" + web,
		Want: "are protected (a stack named like one of them needs spec.namespace.name)"},
	{Name: "namespace name not DNS-1123", Spec: "namespace: {name: Shop_NS}\ncomponents:" + web,
		Want: "spec.namespace.name: Invalid value"},
	{Name: "no components", Spec: "components: []", Want: "spec.components: Invalid value"},
	{Name: "component name not DNS-1123", Spec: `components:
  - name: Web_1
    containers: [{name: app, image: nginx}]`, Want: "spec.components[0].name: Invalid value"},
	{Name: "component name too long", Spec: `components:
  - name: a-component-name-that-leaves-no-room-for-generated-pod-names
    containers: [{name: app, image: nginx}]`, Want: "spec.components[0].name: Too long"},
	{Name: "duplicate component names", Spec: "components:" + web + web, Want: "spec.components[1]: Duplicate value"},
	{Name: "duplicate container names", Spec: `components:
  - name: web
    containers: [{name: app, image: nginx}, {name: app, image: busybox}]`, Want: "spec.components[0].containers[1]: Duplicate value"},
	{Name: "unknown kind", Spec: `components:
  - name: web
    kind: ReplicaSet
    containers: [{name: app, image: nginx}]`, Want: `spec.components[0].kind: Unsupported value: "ReplicaSet"`},
	{Name: "dependsOn names no component", Spec: "components:" + web + "\n    dependsOn: [db]",
		Want: "spec.components[].dependsOn: every entry must name a component of this stack"},
	{Name: "depends on itself", Spec: "components:" + web + "\n    dependsOn: [web]",
		Want: "dependsOn: a component cannot depend on itself"},
	{Name: "volume mount names no volume", Spec: `components:
  - name: web
    containers:
    - name: app
      image: nginx
      volumeMounts: [{name: html, mountPath: /usr/share/nginx/html}]`,
		Want: "containers[].volumeMounts[].name: must name an entry of this component's volumes"},
	{Name: "config volume names no config", Spec: `components:
  - name: web
    containers: [{name: app, image: nginx}]
    volumes: [{name: html, config: web-config}]`, Want: "spec.components[].volumes[].config: must name an entry of spec.configs"},
	{Name: "persistentVolume names no stack volume", Spec: `components:
  - name: db
    kind: StatefulSet
    containers: [{name: pg, image: postgres}]
    volumes: [{name: data, persistentVolume: db-data}]`, Want: "spec.components[].volumes[].persistentVolume: must name an entry of spec.volumes"},
	{Name: "volume with two sources", Spec: `configs: [{name: c, data: {a: b}}]
components:
  - name: web
    containers: [{name: app, image: nginx}]
    volumes: [{name: v, emptyDir: {}, config: c}]`, Want: "volumes[]: set exactly one of emptyDir, config, secret, persistentVolume, hostPath"},
	{Name: "container port out of range", Spec: `components:
  - name: web
    containers: [{name: app, image: nginx, ports: [{containerPort: 70000}]}]`, Want: "containers[].ports[].containerPort: must be between 1 and 65535"},
	{Name: "service port out of range", Spec: "components:" + web + "\n    service: {ports: [{port: 0}]}",
		Want: "spec.components[0].service.ports[0].port: Invalid value: 0: spec.components[0].service.ports[0].port in body should be greater than or equal to 1"},
	{Name: "service targetPort names no container port", Spec: "components:" + web + "\n    service: {ports: [{port: 80, targetPort: htpp}]}",
		Want: "service.ports[].targetPort: a named targetPort must be the name of a containers[].ports[] entry"},
	{Name: "nodePort on a ClusterIP service", Spec: "components:" + web + "\n    service: {type: ClusterIP, ports: [{port: 80, nodePort: 30080}]}",
		Want: "service.ports[].nodePort: only allowed when service.type is NodePort or LoadBalancer"},
	{Name: "unknown service type", Spec: "components:" + web + "\n    service: {type: External}",
		Want: `spec.components[0].service.type: Unsupported value: "External"`},
	{Name: "autoscaling min above max", Spec: "components:" + web + "\n    autoscaling: {minReplicas: 5, maxReplicas: 2, targetCPUUtilizationPercentage: 50}",
		Want: "autoscaling.minReplicas: must not exceed autoscaling.maxReplicas"},
	{Name: "autoscaling and replicas together", Spec: "components:" + web + "\n    replicas: 3\n    autoscaling: {maxReplicas: 5, targetCPUUtilizationPercentage: 50}",
		Want: "replicas: the autoscaler owns the replica count when autoscaling is set"},
	{Name: "schedule on a Deployment", Spec: "components:" + web + "\n    schedule: \"*/5 * * * *\"",
		Want: "schedule: required for kind CronJob, and only allowed there"},
	{Name: "CronJob without schedule", Spec: `components:
  - name: backup
    kind: CronJob
    containers: [{name: app, image: busybox}]`, Want: "schedule: required for kind CronJob, and only allowed there"},
	{Name: "replicas on a DaemonSet", Spec: `components:
  - name: agent
    kind: DaemonSet
    replicas: 2
    containers: [{name: app, image: busybox}]`, Want: "replicas: only a Deployment or StatefulSet has replicas"},
	{Name: "backoffLimit on a Deployment", Spec: "components:" + web + "\n    backoffLimit: 3",
		Want: "completions, parallelism and backoffLimit: only allowed for kind Job or CronJob"},
	{Name: "volumeClaimTemplates on a Deployment", Spec: "components:" + web + "\n    volumeClaimTemplates: [{name: data, size: 1Gi}]",
		Want: "volumeClaimTemplates: only allowed for kind StatefulSet"},
	{Name: "Recreate strategy on a StatefulSet", Spec: `components:
  - name: db
    kind: StatefulSet
    strategy: {type: Recreate}
    containers: [{name: pg, image: postgres}]`, Want: "strategy.type: Recreate is only allowed for kind Deployment"},
	{Name: "restartPolicy Always on a Job", Spec: `components:
  - name: migrate
    kind: Job
    restartPolicy: Always
    containers: [{name: app, image: busybox}]`, Want: "restartPolicy: a Job or CronJob needs OnFailure or Never"},
	{Name: "PDB with both bounds", Spec: "components:" + web + "\n    podDisruptionBudget: {minAvailable: 1, maxUnavailable: 1}",
		Want: "podDisruptionBudget: set exactly one of minAvailable and maxUnavailable"},
	{Name: "ingress without a Service", Spec: "components:" + web + "\n    service: {type: None}\n    ingress: {host: shop.example.com}",
		Want: "ingress: needs the component's Service; remove service.type: None"},
	{Name: "unknown podSecurity level", Spec: "namespace: {podSecurity: strict}\ncomponents:" + web,
		Want: `spec.namespace.podSecurity: Unsupported value: "strict"`},
	{Name: "stack volume without size", Spec: "volumes: [{name: data}]\ncomponents:" + web,
		Want: "spec.volumes[0].size: Required value"},
	{Name: "unknown access mode", Spec: "volumes: [{name: data, size: 1Gi, accessModes: [ReadWriteSometimes]}]\ncomponents:" + web,
		Want: `spec.volumes[0].accessModes[0]: Unsupported value: "ReadWriteSometimes"`},
	{Name: "progressDeadlineSeconds on a Job", Spec: `components:
  - name: migrate
    kind: Job
    progressDeadlineSeconds: 60
    containers: [{name: app, image: busybox}]`, Want: "progressDeadlineSeconds: only allowed for kind Deployment"},
	// Namespace keys the operator or the cluster interpret (issue 19), and kube-*.
	{Name: "a Pod Security label on the namespace", Spec: "namespace: {labels: {pod-security.kubernetes.io/enforce-version: v1.18}}\ncomponents:" + web,
		Want: "spec.namespace.labels: pod-security.kubernetes.io/enforce-version: Pod Security is set by the operator from spec.namespace.podSecurity"},
	{Name: "a Pod Security annotation on the namespace", Spec: "namespace: {annotations: {pod-security.kubernetes.io/exempt: x}}\ncomponents:" + web,
		Want: "spec.namespace.annotations: pod-security.kubernetes.io/exempt: Pod Security is set by the operator"},
	{Name: "an operator label on the namespace", Spec: "namespace: {labels: {apps.appstack.dev/retained: \"true\"}}\ncomponents:" + web,
		Want: "spec.namespace.labels: apps.appstack.dev/retained: apps.appstack.dev/* labels are reserved to the operator"},
	{Name: "an operator annotation on the namespace", Spec: "namespace: {annotations: {apps.appstack.dev/adopt: other}}\ncomponents:" + web,
		Want: "spec.namespace.annotations: apps.appstack.dev/adopt: apps.appstack.dev/* annotations are reserved to the operator"},
	{Name: "managed-by on the namespace", Spec: "namespace: {labels: {app.kubernetes.io/managed-by: helm}}\ncomponents:" + web,
		Want: "spec.namespace.labels: app.kubernetes.io/managed-by is set by the operator"},
	{Name: "a kubernetes.io label on the namespace", Spec: "namespace: {labels: {kubernetes.io/metadata.name: other, team: web}}\ncomponents:" + web,
		Want: "spec.namespace.labels: kubernetes.io/metadata.name: labels under kubernetes.io and k8s.io are interpreted by the cluster"},
	{Name: "a scheduler annotation on the namespace", Spec: "namespace: {annotations: {scheduler.alpha.kubernetes.io/defaultTolerations: '[]'}}\ncomponents:" + web,
		Want: "spec.namespace.annotations: scheduler.alpha.kubernetes.io/defaultTolerations: annotations under kubernetes.io and k8s.io are interpreted by the cluster"},
	{Name: "a k8s.io subdomain label on the namespace", Spec: "namespace: {labels: {node.k8s.io/pool: gpu}}\ncomponents:" + web,
		Want: "set spec.components[].nodeSelector"},
	{Name: "stack named kube-*", StackName: "kube-flannel", Spec: "components:" + web,
		Want: "spec.namespace.name: namespaces whose name starts with kube- are reserved to Kubernetes"},
	{Name: "namespace named kube-*", Spec: "namespace: {name: kube-mine}\ncomponents:" + web,
		Want: "namespaces whose name starts with kube- are reserved to Kubernetes"},
}
