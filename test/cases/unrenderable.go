package cases

// Unrenderable are stacks the CRD schema accepts but the renderer refuses
// (render.Validate), because two parts of the spec would make objects of one kind
// and one name: the apiserver stores them, the operator reports Ready=False with
// reason InvalidSpec and applies nothing, and `kubectl appstack render` exits 1.
// Want names both fields. They are kept apart from InvalidStacks, which the envtest
// suite expects the apiserver itself to refuse; a case the CRD comes to refuse
// belongs there instead.
var Unrenderable = []Invalid{
	{Name: "component named like a StatefulSet's governing headless Service", Spec: `components:
  - name: db
    kind: StatefulSet
    service: {type: ClusterIP}
    containers: [{name: pg, image: postgres, ports: [{containerPort: 5432}]}]
  - name: db-headless
    containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]`,
		Want: `spec.components[1].name: Duplicate value: "db-headless": renders Service db-headless, which spec.components[0] (StatefulSet db) already renders as its governing headless Service; rename one of them`},
	{Name: "StatefulSet whose governing headless Service another component's Service already is", Spec: `components:
  - name: db-headless
    containers: [{name: app, image: nginx, ports: [{containerPort: 80}]}]
  - name: db
    kind: StatefulSet
    service: {type: NodePort}
    containers: [{name: pg, image: postgres, ports: [{containerPort: 5432}]}]`,
		Want: `spec.components[1].name: Invalid value: "db": renders Service db-headless as its governing headless Service, which spec.components[0] (Deployment db-headless) already renders as its Service; rename one of them`},
	{Name: "stack volume named like a StatefulSet's claim", Spec: `volumes: [{name: data-db-0, size: 1Gi}]
components:
  - name: db
    kind: StatefulSet
    containers: [{name: pg, image: postgres}]
    volumeClaimTemplates: [{name: data, size: 1Gi}]`,
		Want: `spec.volumes[0].name: Invalid value: "data-db-0": renders PersistentVolumeClaim data-db-0, the name the StatefulSet controller gives the claim of pod 0 from spec.components[0].volumeClaimTemplates[0] (template data of StatefulSet db); rename one of them`},
	{Name: "two StatefulSets whose claims are named alike", Spec: `components:
  - name: db-x
    kind: StatefulSet
    containers: [{name: pg, image: postgres}]
    volumeClaimTemplates: [{name: data, size: 1Gi}]
  - name: x
    kind: StatefulSet
    containers: [{name: pg, image: postgres}]
    volumeClaimTemplates: [{name: data-db, size: 1Gi}]`,
		Want: `spec.components[1].volumeClaimTemplates[0].name: Invalid value: "data-db": the StatefulSet controller names the claims from spec.components[1].volumeClaimTemplates[0] (template data-db of StatefulSet x) data-db-x-<ordinal>, as it names the claims from spec.components[0].volumeClaimTemplates[0] (template data of StatefulSet db-x); rename one of them`},
	{Name: "Pod component named like a StatefulSet's pod", Spec: `components:
  - name: db
    kind: StatefulSet
    containers: [{name: pg, image: postgres}]
  - name: db-0
    kind: Pod
    containers: [{name: debug, image: busybox}]`,
		Want: `spec.components[1].name: Invalid value: "db-0": renders Pod db-0, the name the StatefulSet controller gives pod 0 of spec.components[0] (StatefulSet db); rename one of them`},
	{Name: "Job component named like a CronJob's Job", Spec: `components:
  - name: backup
    kind: CronJob
    schedule: "*/5 * * * *"
    containers: [{name: app, image: busybox}]
  - name: backup-29000000
    kind: Job
    containers: [{name: app, image: busybox}]`,
		Want: `spec.components[1].name: Invalid value: "backup-29000000": renders Job backup-29000000, the name the CronJob controller gives the Job of spec.components[0] (CronJob backup) scheduled at minute 29000000; rename one of them`},
}
