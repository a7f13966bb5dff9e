//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The seeds on live containers: every stack here is pinned to the real node (pin),
// runs the project's test image (docs/images.md) and is applied with kubectl as a
// user would; each spec prints what it saw (EVIDENCE lines). docs/real-node.md
// lists them with the figures of a run.

// pin places a component on the real node; it is indented for a component entry.
const pin = `    nodeSelector: {appstack.dev/real-node: "true"}
    tolerations: [{key: appstack.dev/real-node, operator: Exists, effect: NoSchedule}]
`

// client is a component that only sleeps: the pod requests are made from.
const client = `  - name: client
    containers:
    - name: client
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
` + pin

// header starts a stack named stack in a namespace of the same name; its
// components follow.
func header(stack string) string {
	return "apiVersion: apps.appstack.dev/v1alpha1\nkind: AppStack\nmetadata: {name: " + stack +
		"}\nspec:\n  namespace: {name: " + stack + "}\n  components:\n"
}

// webServer is component "web": the test server on 8080 (named http) with a
// readiness probe, pinned to the real node; container (fields of the container,
// indented by six) and component (fields of the component, indented by four) are
// added to it.
func webServer(container, component string) string {
	return `  - name: web
    containers:
    - name: web
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      args: [-quiet]
      ports: [{name: http, containerPort: 8080}]
      readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
` + container + component + pin
}

// dataServer is the security context and the one container, named name, of a
// component that serves the files of the claim mounted at /data: the test server on
// 8080 (named http) with a readiness probe, run as root, since the pool's hostPath
// directories belong to root (the test server runs as 65532).
func dataServer(name string) string {
	return `    securityContext: {runAsUser: 0}
    containers:
    - name: ` + name + `
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      args: [-quiet, -dir, /data]
      ports: [{name: http, containerPort: 8080}]
      readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
      volumeMounts: [{name: data, mountPath: /data}]
`
}

// manifests holds the files the specs apply.
var manifests string

// applyStack writes yaml to a file and applies it with kubectl apply -f, as a user would.
func applyStack(name, yaml string) {
	GinkgoHelper()
	path := filepath.Join(manifests, name+".yaml")
	GinkgoWriter.Printf("---- %s ----\n%s", path, yaml)
	Expect(cluster.ApplyFile(path, yaml)).NotTo(HaveOccurred())
}

func waitStack(stack string) { GinkgoHelper(); waitReady("stack/" + stack) }

// deleteStack removes a stack and waits for its namespace to go.
func deleteStack(stack, ns string) {
	_, _ = kubectl("delete", "stack", stack, "--ignore-not-found", "--wait=true", "--timeout=60s")
	_, _ = kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=60s")
}

// podOf is the name of a Running pod of a component on the real node.
func podOf(ns, component string) string {
	GinkgoHelper()
	var pod string
	Eventually(func() error {
		out, err := cluster.KubectlQuiet("get", "pods", "-n", ns, "-l", "apps.appstack.dev/component="+component,
			"--field-selector=status.phase=Running", "-o",
			`jsonpath={range .items[*]}{.metadata.deletionTimestamp}|{.metadata.name}|{.spec.nodeName}{"\n"}{end}`)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(out, "\n") {
			f := strings.Split(l, "|")
			if len(f) == 3 && f[0] == "" && f[2] == realNode {
				pod = f[1]
				return nil
			}
		}
		return fmt.Errorf("no running pod of %s/%s on %s yet: %q", ns, component, realNode, out)
	}, 90*time.Second, 500*time.Millisecond).Should(Succeed())
	return pod
}

// sh runs a shell command in a container of a pod with kubectl exec.
func sh(ns, pod, container, script string) (string, error) {
	return kubectl("exec", "-n", ns, pod, "-c", container, "--", "sh", "-c", script)
}

// fetch retries a shell command in a pod until it succeeds (a Service's endpoints
// and DNS record follow a pod becoming Ready by a moment) and returns its output.
func fetch(ns, pod, container, script string) string {
	GinkgoHelper()
	var out string
	Eventually(func() error {
		var err error
		out, err = sh(ns, pod, container, script)
		return err
	}, 60*time.Second, time.Second).Should(Succeed())
	return out
}

// say prints evidence.
func say(format string, args ...any) {
	GinkgoWriter.Printf("EVIDENCE: "+format+"\n", args...)
}

// line is the first "key: value" line of an /echo answer for key.
func line(echo, key string) string {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `: (.*)$`).FindStringSubmatch(echo)
	if m == nil {
		return ""
	}
	return m[1]
}

var _ = Describe("stacks on the real node", Ordered, Label("real-node"), func() {
	BeforeAll(func() {
		if realNode == "" {
			Skip("the cluster has no real node (hack/dev-cluster.sh says why)")
		}
		manifests = GinkgoT().TempDir()
	})

	It("shares an emptyDir between a sidecar that writes and a web container that serves it", func() {
		const stack, ns = "rn-shared", "rn-shared"
		DeferCleanup(deleteStack, stack, ns)
		applyStack(stack, header(stack)+`  - name: web
    containers:
    - name: writer
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "trap 'exit 0' TERM; n=0; while true; do n=$((n+1)); echo \"written by the writer sidecar of $(hostname), round $n\" >/data/index.html; sleep 1; done"]
      volumeMounts: [{name: shared, mountPath: /data}]
    - name: web
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      args: [-dir, /data]
      ports: [{name: http, containerPort: 8080}]
      volumeMounts: [{name: shared, mountPath: /data, readOnly: true}]
    volumes: [{name: shared, emptyDir: {}}]
`+pin+client)
		t0 := time.Now()
		waitStack(stack)
		say("stack %s Ready %s after apply", stack, since(t0))
		web := podOf(ns, "web")
		cl := podOf(ns, "client")
		out := fetch(ns, cl, "client", "wget -qO- http://web."+ns+":8080/")
		say("client pod %s fetched http://web.%s:8080/ (index.html of the emptyDir): %q", cl, ns, out)
		Expect(out).To(ContainSubstring("written by the writer sidecar of " + web))
		files, err := sh(ns, web, "web", "ls -l /data")
		Expect(err).NotTo(HaveOccurred())
		say("ls -l /data in the web container of %s: %s", web, strings.TrimSpace(files))
	})

	It("sends Service port 80 to container port 8080, by number and by name", func() {
		const stack, ns = "rn-ports", "rn-ports"
		DeferCleanup(deleteStack, stack, ns)
		// Component numeric's Service sends port 80 to targetPort 8080, named's to http.
		components := ""
		for name, target := range map[string]string{"numeric": "8080", "named": "http"} {
			components += `  - name: ` + name + `
    containers:
    - name: web
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      ports: [{name: http, containerPort: 8080}]
    service:
      ports: [{port: 80, targetPort: ` + target + `}]
` + pin
		}
		applyStack(stack, header(stack)+components+client)
		waitStack(stack)
		cl := podOf(ns, "client")
		for _, svc := range []string{"numeric", "named"} {
			tp, err := kubectl("get", "service", "-n", ns, svc, "-o", `jsonpath={.spec.ports[0].port} -> {.spec.ports[0].targetPort}`)
			Expect(err).NotTo(HaveOccurred())
			out := fetch(ns, cl, "client", "wget -qO- http://"+svc+"."+ns+"/echo")
			say("Service %s (port %s): GET http://%s.%s/echo (port 80) answered hostname=%s port=%s local=%s host=%s",
				svc, tp, svc, ns, line(out, "hostname"), line(out, "port"), line(out, "local"), line(out, "host"))
			Expect(line(out, "port")).To(Equal("8080"))
			Expect(line(out, "local")).To(HaveSuffix(":8080"))
			Expect(line(out, "hostname")).To(HavePrefix(svc + "-"))
		}
	})

	It("resolves <svc>.<ns> and <svc>.<ns>.svc.cluster.local, and leads a dependent to its dependency with <DEP>_HOST/<DEP>_PORT", func() {
		const stack, ns = "rn-dns", "rn-dns"
		DeferCleanup(deleteStack, stack, ns)
		applyStack(stack, header(stack)+`  - name: db
    containers:
    - name: db
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      ports: [{name: http, containerPort: 8080}]
      readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
    service:
      ports: [{port: 5432, targetPort: http}]
`+pin+`  - name: app
    dependsOn: [db]
    containers:
    - name: app
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"]
`+pin)
		waitStack(stack)
		app := podOf(ns, "app")
		clusterIP, err := kubectl("get", "service", "-n", ns, "db", "-o", "jsonpath={.spec.clusterIP}")
		Expect(err).NotTo(HaveOccurred())
		for _, name := range []string{"db." + ns, "db." + ns + ".svc.cluster.local"} {
			ns1 := fetch(ns, app, "app", "wget -qO- http://"+name+":5432/echo")
			say("from %s: GET http://%s:5432/echo (Service ClusterIP %s) answered by hostname=%s host=%s",
				app, name, clusterIP, line(ns1, "hostname"), line(ns1, "host"))
			Expect(line(ns1, "hostname")).To(HavePrefix("db-"))
		}
		// busybox nslookup does not apply the search list, so only the full name is looked up.
		look := fetch(ns, app, "app", "nslookup db."+ns+".svc.cluster.local")
		say("nslookup db.%s.svc.cluster.local in %s: %s", ns, app, strings.Join(strings.Fields(look), " "))
		Expect(look).To(ContainSubstring(clusterIP))
		out := fetch(ns, app, "app", `echo "DB_HOST=$DB_HOST DB_PORT=$DB_PORT"; wget -qO- http://$DB_HOST:$DB_PORT/echo`)
		say("in %s: %s", app, strings.SplitN(out, "\n", 2)[0])
		say("GET http://$DB_HOST:$DB_PORT/echo answered by hostname=%s port=%s host=%s", line(out, "hostname"), line(out, "port"), line(out, "host"))
		Expect(out).To(HavePrefix("DB_HOST=db." + ns + ".svc.cluster.local DB_PORT=5432"))
		Expect(line(out, "hostname")).To(HavePrefix("db-"))
	})

	// rn-client is a stack of one sleeping pod on the real node, the client of the
	// specs below (a separate stack, so their own stacks can change or go while it runs).
	const clientNS = "rn-client"
	var cl string
	BeforeAll(func() {
		applyStack("rn-client", `apiVersion: apps.appstack.dev/v1alpha1
kind: AppStack
metadata: {name: rn-client}
spec:
  namespace: {name: `+clientNS+`}
  components:
`+client)
		DeferCleanup(deleteStack, "rn-client", clientNS)
		waitStack("rn-client")
		cl = podOf(clientNS, "client")
	})

	It("heals: a killed web container restarts and a deleted pod is replaced, serving again each time", func() {
		const stack, ns = "rn-heal", "rn-heal"
		DeferCleanup(deleteStack, stack, ns)
		applyStack(stack, header(stack)+webServer("", ""))
		waitStack(stack)
		web := podOf(ns, "web")
		url := "http://web." + ns + ":8080/"
		say("before: %s", strings.TrimSpace(fetch(clientNS, cl, "client", "wget -qO- "+url)))

		t0 := time.Now()
		_, _ = sh(ns, web, "web", "kill 1")
		var down string
		Eventually(func() error {
			rc, err := cluster.KubectlQuiet("get", "pod", "-n", ns, web, "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
			if err != nil || rc == "0" || rc == "" {
				if down == "" {
					if _, err := cluster.KubectlQuiet("exec", "-n", clientNS, cl, "--", "wget", "-qO-", url); err != nil {
						down = since(t0)
					}
				}
				return fmt.Errorf("restartCount %q", rc)
			}
			_, err = cluster.KubectlQuiet("exec", "-n", clientNS, cl, "--", "wget", "-qO-", url)
			return err
		}, 90*time.Second, 200*time.Millisecond).Should(Succeed())
		rc, _ := kubectl("get", "pod", "-n", ns, web, "-o", "jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.reason} exit {.status.containerStatuses[0].lastState.terminated.exitCode}")
		say("kill 1 in %s: first failed request seen after %s; restartCount/last state %q; serving again %s after the kill", web, down, rc, since(t0))

		t1 := time.Now()
		Expect(kubectl("delete", "pod", "-n", ns, web, "--wait=false")).Error().NotTo(HaveOccurred())
		var answer string
		Eventually(func() error {
			out, err := cluster.KubectlQuiet("exec", "-n", clientNS, cl, "--", "wget", "-qO-", url)
			if err != nil {
				return err
			}
			if strings.Contains(out, web) {
				return fmt.Errorf("still the old pod: %s", out)
			}
			answer = strings.TrimSpace(out)
			return nil
		}, 90*time.Second, 200*time.Millisecond).Should(Succeed())
		say("kubectl delete pod %s: a new pod answered %s later: %q", web, since(t1), answer)
	})

	It("rolls out a new image and rolls back with a readiness probe while a client loop sees no failed request", func() {
		const stack, ns = "rn-roll", "rn-roll"
		DeferCleanup(deleteStack, stack, ns)
		spec := func(version string) string {
			return header(stack) + `  - name: web
    replicas: 2
    strategy: {type: RollingUpdate, maxSurge: 1, maxUnavailable: 0}
    containers:
    - name: web
      image: appstack.dev/testserver:` + version + `
      imagePullPolicy: IfNotPresent
      args: [-quiet, -drain-delay, 3s]
      ports: [{name: http, containerPort: 8080}]
      readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
` + pin
		}
		applyStack(stack, spec("0.1.0"))
		waitStack(stack)
		image := func(want string) {
			GinkgoHelper()
			Eventually(func() (string, error) {
				return cluster.KubectlQuiet("get", "deployment", "-n", ns, "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
			}, 60*time.Second, 200*time.Millisecond).Should(Equal(want))
			Expect(kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=120s")).Error().NotTo(HaveOccurred())
		}

		// At most 600 requests or 60 s; it stops early once /tmp/stop exists.
		loop := `rm -f /tmp/stop /tmp/log; i=0; f=0; end=$(($(date +%s)+60))
while [ $i -lt 600 ] && [ $(date +%s) -lt $end ] && [ ! -f /tmp/stop ]; do
  i=$((i+1))
  if r=$(timeout 5 wget -qO- http://web.` + ns + `:8080/echo 2>&1); then echo "$r" | grep '^version:' >>/tmp/log
  else f=$((f+1)); echo "FAILED request $i at $(date +%T): $r"; fi
  sleep 0.1
done
echo "requests=$i failed=$f"; echo "versions in order:"; uniq -c /tmp/log | head -40`
		result := make(chan string, 1)
		go func() {
			defer GinkgoRecover()
			out, err := cluster.KubectlQuiet("exec", "-n", clientNS, cl, "--", "sh", "-c", loop)
			if err != nil {
				out += "\nexec: " + err.Error()
			}
			result <- out
		}()
		time.Sleep(3 * time.Second)

		t0 := time.Now()
		applyStack(stack, spec("0.2.0"))
		image("appstack.dev/testserver:0.2.0")
		say("kubectl apply of testserver:0.2.0: rollout complete %s after apply", since(t0))
		_, _ = kubectl("appstack", "history", stack)
		t1 := time.Now()
		Expect(kubectl("appstack", "rollback", stack, "--to-revision", "1")).Error().NotTo(HaveOccurred())
		image("appstack.dev/testserver:0.1.0")
		say("kubectl appstack rollback %s --to-revision 1: rollout complete %s after the command", stack, since(t1))
		time.Sleep(2 * time.Second)
		_, _ = cluster.KubectlQuiet("exec", "-n", clientNS, cl, "--", "touch", "/tmp/stop")
		var out string
		Eventually(result, 90*time.Second).Should(Receive(&out))
		say("client loop in %s:\n%s", cl, out)
		m := regexp.MustCompile(`requests=(\d+) failed=(\d+)`).FindStringSubmatch(out)
		Expect(m).NotTo(BeNil())
		Expect(m[2]).To(Equal("0"), "failed requests")
		Expect(out).To(ContainSubstring("version: 0.2.0"))
		Expect(strings.TrimSpace(out)).To(HaveSuffix("version: 0.1.0"))
	})

	It("keeps a StatefulSet's file on its retained claim across pod deletion, stack deletion and re-creation", func() {
		const stack, ns = "rn-sts", "rn-sts"
		DeferCleanup(func() {
			_, _ = kubectl("exec", "-n", ns, "db-0", "--", "rm", "-f", "/data/proof.txt")
			deleteStack(stack, ns)
		})
		yaml := header(stack) + "  - name: db\n    kind: StatefulSet\n" + dataServer("db") +
			"    volumeClaimTemplates: [{name: data, size: 1Gi}]\n" + pin
		applyStack(stack, yaml)
		waitStack(stack)
		token := fmt.Sprintf("written through claim data-db-0 at %s", time.Now().UTC().Format(time.RFC3339Nano))
		Expect(sh(ns, "db-0", "db", `echo "`+token+`" >/data/proof.txt && ls -ln /data`)).Error().NotTo(HaveOccurred())
		pv, err := kubectl("get", "pvc", "-n", ns, "data-db-0", "-o", "jsonpath={.spec.volumeName}")
		Expect(err).NotTo(HaveOccurred())
		hostPath, err := kubectl("get", "pv", pv, "-o", "jsonpath={.spec.hostPath.path}")
		Expect(err).NotTo(HaveOccurred())
		onHost, err := os.ReadFile(filepath.Join(hostPath, "proof.txt"))
		Expect(err).NotTo(HaveOccurred())
		say("wrote %q in db-0; claim data-db-0 is bound to PV %s (hostPath %s); the file on this machine says %q", token, pv, hostPath, strings.TrimSpace(string(onHost)))
		// Read back over HTTP from the client pod, at the IP the API gives the current
		// db-0: its DNS name db-0.db.<ns> was seen to keep answering with the replaced
		// pod's IP for over a minute (printed below, not relied on).
		read := func(when string) {
			GinkgoHelper()
			ip, err := cluster.KubectlQuiet("get", "pod", "-n", ns, "db-0", "-o", "jsonpath={.status.podIP}")
			Expect(err).NotTo(HaveOccurred())
			url := "http://" + ip + ":8080/proof.txt"
			out := fetch(clientNS, cl, "client", "wget -qO- "+url)
			say("%s: GET %s (db-0) from %s: %q", when, url, cl, strings.TrimSpace(out))
			Expect(strings.TrimSpace(out)).To(Equal(token))
			dns, _ := cluster.KubectlQuiet("exec", "-n", clientNS, cl, "--", "nslookup", "db-0.db."+ns+".svc.cluster.local")
			say("%s: nslookup db-0.db.%s.svc.cluster.local: %s", when, ns, strings.Join(strings.Fields(dns), " "))
		}
		read("before anything")
		uid := func() string {
			out, _ := cluster.KubectlQuiet("get", "pod", "-n", ns, "db-0", "-o", "jsonpath={.metadata.uid}")
			return out
		}
		uid1 := uid()
		Expect(kubectl("delete", "pod", "-n", ns, "db-0", "--wait=false")).Error().NotTo(HaveOccurred())
		Eventually(func() error {
			if u := uid(); u == uid1 || u == "" {
				return fmt.Errorf("db-0 not replaced yet")
			}
			_, err := cluster.KubectlQuiet("wait", "-n", ns, "--for=condition=Ready", "pod/db-0", "--timeout=5s")
			return err
		}, 2*time.Minute, time.Second).Should(Succeed())
		say("pod db-0 deleted and re-created (uid %s -> %s)", uid1, uid())
		read("after pod deletion")

		Expect(kubectl("delete", "stack", stack, "--wait=true", "--timeout=60s")).Error().NotTo(HaveOccurred())
		Eventually(func() (string, error) {
			return cluster.KubectlQuiet("get", "statefulsets,pods", "-n", ns, "-o", "name")
		}, 90*time.Second, time.Second).Should(BeEmpty())
		pvcs, err := kubectl("get", "pvc", "-n", ns, "-o", "custom-columns=NAME:.metadata.name,STATUS:.status.phase,VOLUME:.spec.volumeName,UID:.metadata.uid")
		Expect(err).NotTo(HaveOccurred())
		say("stack deleted; no StatefulSet or pod left; the retained claim:\n%s", pvcs)
		applyStack(stack, yaml)
		waitStack(stack)
		say("stack re-created; db-0 uid %s", uid())
		read("after stack deletion and re-creation")
	})

	It("runs a Job to completion with its exit code, a failing Job with its own, and a CronJob's job on demand", func() {
		const stack, ns = "rn-jobs", "rn-jobs"
		DeferCleanup(deleteStack, stack, ns)
		applyStack(stack, header(stack)+`  - name: ok
    kind: Job
    backoffLimit: 0
    restartPolicy: Never
    containers:
    - name: ok
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "echo computing on $(hostname); echo answer=42; exit 0"]
`+pin+`  - name: fails
    kind: Job
    backoffLimit: 0
    restartPolicy: Never
    containers:
    - name: fails
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "echo about to exit 3; exit 3"]
`+pin+`  - name: tick
    kind: CronJob
    schedule: "0 0 1 1 *"
    containers:
    - name: tick
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "echo tick from $(hostname) at $(date -u +%T)"]
`+pin)
		waitJob := func(job, cond string) {
			GinkgoHelper()
			Eventually(func() error {
				_, err := kubectl("wait", "-n", ns, "--for=condition="+cond, "job/"+job, "--timeout=10s")
				return err
			}, 2*time.Minute, time.Second).Should(Succeed())
		}
		exit := func(job string) string {
			out, err := kubectl("get", "pods", "-n", ns, "-l", "job-name="+job, "-o", "jsonpath={.items[0].spec.nodeName} {.items[0].status.containerStatuses[0].state.terminated.exitCode}")
			Expect(err).NotTo(HaveOccurred())
			Expect(strings.Fields(out)[0]).To(Equal(realNode))
			return out
		}
		waitJob("ok", "Complete")
		logs, _ := kubectl("logs", "-n", ns, "job/ok")
		e := exit("ok")
		say("job ok Complete; pod on node/exit code: %s; logs: %q", e, logs)
		Expect(e).To(HaveSuffix(" 0"))
		Expect(logs).To(ContainSubstring("answer=42"))

		waitJob("fails", "Failed")
		logs, _ = kubectl("logs", "-n", ns, "job/fails")
		e = exit("fails")
		say("job fails Failed; pod on node/exit code: %s; logs: %q", e, logs)
		Expect(e).To(HaveSuffix(" 3"))

		Eventually(func() error {
			_, err := cluster.KubectlQuiet("get", "cronjob", "-n", ns, "tick")
			return err
		}, time.Minute, time.Second).Should(Succeed())
		Expect(kubectl("create", "job", "-n", ns, "--from=cronjob/tick", "tick-by-hand")).Error().NotTo(HaveOccurred())
		waitJob("tick-by-hand", "Complete")
		logs, _ = kubectl("logs", "-n", ns, "job/tick-by-hand")
		e = exit("tick-by-hand")
		say("kubectl create job --from=cronjob/tick tick-by-hand: Complete; pod on node/exit code: %s; logs: %q", e, logs)
		Expect(e).To(HaveSuffix(" 0"))
		Expect(logs).To(ContainSubstring("tick from tick-by-hand-"))
	})

	It("answers on the NodePort at the node's IP inside the node's network namespace", func() {
		const stack, ns = "rn-nodeport", "rn-nodeport"
		DeferCleanup(deleteStack, stack, ns)
		applyStack(stack, header(stack)+webServer("", `    service:
      type: NodePort
      ports: [{port: 80, targetPort: http}]
`))
		waitStack(stack)
		nodePort, err := kubectl("get", "service", "-n", ns, "web", "-o", "jsonpath={.spec.ports[0].nodePort}")
		Expect(err).NotTo(HaveOccurred())
		nodeIP, err := kubectl("get", "node", realNode, "-o", `jsonpath={.status.addresses[?(@.type=="InternalIP")].address}`)
		Expect(err).NotTo(HaveOccurred())
		url := fmt.Sprintf("http://%s:%s/echo", nodeIP, nodePort)
		out := fetch(clientNS, cl, "client", "wget -qO- "+url)
		say("GET %s from pod %s: hostname=%s port=%s local=%s remote=%s", url, cl, line(out, "hostname"), line(out, "port"), line(out, "local"), line(out, "remote"))
		Expect(line(out, "hostname")).To(HavePrefix("web-"))
		Expect(line(out, "port")).To(Equal("8080"))
	})

	It("scales a component up from minReplicas under CPU load through its Service, and back down after the load stops", func() {
		const stack, ns = "rn-hpa", "rn-hpa"
		DeferCleanup(deleteStack, stack, ns)
		applyStack(stack, header(stack)+webServer(`      resources: {requests: {cpu: 100m}, limits: {cpu: 400m}}
`, `    autoscaling: {minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50}
`))
		waitStack(stack)
		hpa := func() string {
			out, _ := cluster.KubectlQuiet("get", "hpa", "-n", ns, "web", "-o",
				"jsonpath={.status.currentReplicas}/{.status.desiredReplicas} cpu={.status.currentMetrics[0].resource.current.averageUtilization}%")
			return out
		}
		// metrics-server scrapes the real kubelet; the autoscaler reads it through the
		// aggregated metrics API.
		Eventually(func() error {
			_, err := cluster.KubectlQuiet("top", "pods", "-n", ns)
			return err
		}, 2*time.Minute, 2*time.Second).Should(Succeed())
		top, _ := kubectl("top", "pods", "-n", ns)
		Eventually(hpa, 2*time.Minute, 2*time.Second).Should(MatchRegexp(`^1/1 cpu=\d+%$`))
		say("at rest: hpa web %s; kubectl top pods:\n%s", hpa(), top)

		// Three parallel loops of /burn?ms=300 through the Service; at most 4 minutes,
		// until /tmp/stop-burn exists.
		load := `rm -f /tmp/stop-burn; end=$(($(date +%s)+240)); for j in 1 2 3; do
  (n=0; while [ $(date +%s) -lt $end ] && [ ! -f /tmp/stop-burn ]; do wget -qO- "http://web.` + ns + `:8080/burn?ms=300" >/dev/null 2>&1 && n=$((n+1)); done; echo "loop $j: $n requests") &
done; wait`
		result := make(chan string, 1)
		go func() {
			defer GinkgoRecover()
			out, err := cluster.KubectlQuiet("exec", "-n", clientNS, cl, "--", "sh", "-c", load)
			if err != nil {
				out += "\nexec: " + err.Error()
			}
			result <- out
		}()
		t0 := time.Now()
		Eventually(func() (int, error) {
			var n int
			out, err := cluster.KubectlQuiet("get", "deployment", "-n", ns, "web", "-o", "jsonpath={.status.readyReplicas}")
			if err == nil {
				_, err = fmt.Sscan(out, &n)
			}
			return n, err
		}, 4*time.Minute, 2*time.Second).Should(BeNumerically(">=", 2))
		up := since(t0)
		top, _ = kubectl("top", "pods", "-n", ns)
		say("under load: %s after the load started the Deployment has %s ready replicas; hpa web %s; kubectl top pods:\n%s",
			up, get("deployment", "web", "-n", ns, "-o", "jsonpath={.status.readyReplicas}"), hpa(), top)

		_, _ = cluster.KubectlQuiet("exec", "-n", clientNS, cl, "--", "touch", "/tmp/stop-burn")
		var out string
		Eventually(result, time.Minute).Should(Receive(&out))
		say("load stopped: %s", strings.Join(strings.Fields(out), " "))
		t1 := time.Now()
		Eventually(func() (string, error) {
			return cluster.KubectlQuiet("get", "deployment", "-n", ns, "web", "-o", "jsonpath={.spec.replicas}")
		}, 4*time.Minute, 2*time.Second).Should(Equal("1"))
		say("after the load: back to 1 replica %s after it stopped; hpa web %s", since(t1), hpa())
		events, _ := kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.kind=HorizontalPodAutoscaler", "-o",
			`jsonpath={range .items[*]}{.reason}: {.message}{"\n"}{end}`)
		say("the autoscaler's events:\n%s", events)
	})

	It("names what live containers do: a container killed for its memory, a readiness probe that fails", func() {
		const oom, probe = "rn-oom", "rn-probe"
		DeferCleanup(func() { deleteStack(oom, oom); deleteStack(probe, probe) })
		start := time.Now()
		// busybox tail keeps every line of /dev/zero in memory: the kernel kills it
		// at the container's 16Mi.
		applyStack(oom, header(oom)+`  - name: hog
    containers:
    - name: app
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      command: [sh, -c, "tail /dev/zero"]
      resources: {requests: {memory: 16Mi}, limits: {memory: 16Mi}}
`+pin)
		applyStack(probe, header(probe)+`  - name: web
    containers:
    - name: web
      image: appstack.dev/testserver:0.1.0
      imagePullPolicy: IfNotPresent
      args: [-quiet, -ready-delay=1h]
      ports: [{name: http, containerPort: 8080}]
      readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
`+pin)
		d := statusWithin(oom, "OOMKilled", start, 90*time.Second)
		msg := get("stack", oom, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`)
		Expect(msg).To(ContainSubstring("hog: container app was killed for running out of memory (OOMKilled, exit code 137): " +
			"raise spec.components[hog].containers[app].resources.limits.memory (now 16Mi)"))
		say("OOMKilled on the real node: STATUS %s after the apply: %s", d.Round(100*time.Millisecond), msg)
		d = statusWithin(probe, "ReadinessProbeFailed", start, 90*time.Second)
		msg = get("stack", probe, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`)
		Expect(msg).To(ContainSubstring("container web is not ready: its readiness probe fails: HTTP probe failed with statuscode: 503 " +
			"(spec.components[web].containers[web].readinessProbe)"))
		say("ReadinessProbeFailed on the real node: STATUS %s after the apply: %s", d.Round(100*time.Millisecond), msg)
	})
})
