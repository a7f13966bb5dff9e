// Package utils holds what the suites that run against a local cluster or the
// operator's process share (test/e2e, test/upgrade, test/bench, test/rules): running
// commands, kubectl and helm against the cluster, the CRD and the operator's leader,
// the apiserver's audit log, the operator's metrics page and its resident memory;
// and envtest's start, for the suites that run against its apiserver alone.
// It has no build tag, so that every suite imports it, and no Ginkgo: the benchmark
// is a command of its own and must not take Ginkgo's flags. Helpers return errors;
// the suites assert on them, so that a failure points at the suite's line.
package utils

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// CRDName is the AppStack CustomResourceDefinition's name.
const CRDName = "appstacks.apps.appstack.dev"

// Run runs the command name with args in dir, with env ("KEY=value") added to this
// process's environment, and returns what it printed on standard output and error.
// log, when not nil, gets "$ name args" and then the output as it comes. A failure
// names the command and ends with its output. A name under dir is shown relative to
// it.
func Run(log io.Writer, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	shown := name
	if rel, err := filepath.Rel(dir, name); err == nil && filepath.IsAbs(name) && !strings.HasPrefix(rel, "..") {
		shown = rel
	}
	line := strings.TrimSpace(shown + " " + strings.Join(args, " "))
	var out bytes.Buffer
	cmd.Stdout = &out
	if log != nil {
		_, _ = fmt.Fprintf(log, "$ %s\n", line)
		cmd.Stdout = io.MultiWriter(&out, log)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", line, err, out.String())
	}
	return out.String(), nil
}

// Cluster is a local cluster of hack/dev-cluster.sh as a suite drives it: kubectl
// and helm against its kubeconfig, bin/<name>.kubeconfig of the repository at Root.
type Cluster struct {
	Name, Root, Kubeconfig string
	// Log, when not nil, gets every command a helper runs and its output (a suite's
	// GinkgoWriter), but for KubectlQuiet's.
	Log io.Writer
}

// NewCluster is the local cluster name of the repository at root.
func NewCluster(root, name string, log io.Writer) Cluster {
	return Cluster{Name: name, Root: root, Kubeconfig: filepath.Join(root, "bin", name+".kubeconfig"), Log: log}
}

// DevCluster runs hack/dev-cluster.sh (up, down) for this cluster, with env added
// (NODES, REAL_NODE, ...).
func (c Cluster) DevCluster(env []string, args ...string) (string, error) {
	env = append([]string{"CLUSTER_NAME=" + c.Name, "KUBECONFIG_OUT=" + c.Kubeconfig}, env...)
	return Run(c.Log, c.Root, env, filepath.Join(c.Root, "hack", "dev-cluster.sh"), args...)
}

// AuditLog is the cluster's audit log.
func (c Cluster) AuditLog() string { return AuditLog(c.Name) }

// KubectlCommand is kubectl with args against the cluster, not started. bin/ comes
// first on its PATH, so that `kubectl appstack` finds the plugin built there.
func (c Cluster) KubectlCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig,
		"PATH="+filepath.Join(c.Root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	return cmd
}

// Kubectl runs kubectl against the cluster, as a user would type it, logs the
// command and its output, and returns its standard output; a failure names the
// command and ends with its standard error.
func (c Cluster) Kubectl(args ...string) (string, error) { return c.kubectl(c.Log, args...) }

// KubectlQuiet is Kubectl without the log (for polls).
func (c Cluster) KubectlQuiet(args ...string) (string, error) { return c.kubectl(nil, args...) }

func (c Cluster) kubectl(log io.Writer, args ...string) (string, error) {
	cmd := c.KubectlCommand(context.Background(), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if log != nil {
		_, _ = fmt.Fprintf(log, "$ kubectl %s\n%s%s", strings.Join(args, " "), stdout.String(), stderr.String())
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Helm runs the project's helm (bin/helm) against the cluster and returns its
// output.
func (c Cluster) Helm(args ...string) (string, error) {
	return Run(c.Log, c.Root, []string{"KUBECONFIG=" + c.Kubeconfig}, filepath.Join(c.Root, "bin", "helm"), args...)
}

// ApplyFile writes doc to the file path and applies it with `kubectl apply -f`, as
// a user would.
func (c Cluster) ApplyFile(path, doc string) error {
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		return err
	}
	_, err := c.Kubectl("apply", "-f", path)
	return err
}

// ApplyCRD applies the CRD from source (kubectl's -k config/crd, -f crds.yaml)
// server-side, its own install step as the README has it. With force it takes over
// the fields another field manager holds (a previous install, the chart), as an
// upgrade must.
func (c Cluster) ApplyCRD(force bool, source ...string) error {
	args := []string{"apply", "--server-side"}
	if force {
		args = append(args, "--force-conflicts")
	}
	_, err := c.Kubectl(append(args, source...)...)
	return err
}

// WaitFor runs `kubectl wait --for=condition=COND --timeout=EACH REFS` every second
// until it succeeds, for timeout at the most: kubectl wait fails at once, rather
// than waits, on an object with no status yet (a CRD just created, a stack the
// operator has not written a status for).
func (c Cluster) WaitFor(condition string, each, timeout time.Duration, refs ...string) error {
	args := append([]string{"wait", "--for=condition=" + condition, "--timeout=" + each.String()}, refs...)
	start := time.Now()
	for {
		_, err := c.Kubectl(args...)
		if err == nil {
			return nil
		}
		if time.Since(start)+time.Second > timeout {
			return fmt.Errorf("%s not %s after %s: %w", strings.Join(refs, " "), condition, timeout, err)
		}
		time.Sleep(time.Second)
	}
}

// WaitCRDEstablished waits until the AppStack CRD is Established, for timeout at
// the most.
func (c Cluster) WaitCRDEstablished(timeout time.Duration) error {
	return c.WaitFor("Established", 10*time.Second, timeout, "crd/"+CRDName)
}

// StackRefs turns stack names into kubectl references: stack/NAME.
func StackRefs(names ...string) []string {
	refs := make([]string, len(names))
	for i, n := range names {
		refs[i] = "stack/" + n
	}
	return refs
}

// PinToRealNode sends a Deployment's pods to the local cluster's real node, which
// alone has the project's images (what a user of the local cluster does with the
// released installer; config/local does it itself).
func (c Cluster) PinToRealNode(namespace, deployment string) error {
	_, err := c.Kubectl("patch", "deployment", deployment, "-n", namespace, "--type=strategic", "-p",
		`{"spec":{"template":{"spec":{"nodeSelector":{"appstack.dev/real-node":"true"},`+
			`"tolerations":[{"key":"appstack.dev/real-node","operator":"Exists","effect":"NoSchedule"}]}}}}`)
	return err
}

// LeaseHolder is the holder identity of Lease namespace/name, "" when it has none
// or cannot be read.
func (c Cluster) LeaseHolder(namespace, name string) string {
	holder, err := c.KubectlQuiet("get", "lease", name, "-n", namespace, "-o", "jsonpath={.spec.holderIdentity}")
	if err != nil {
		return ""
	}
	return holder
}

// Leader is the pod that holds Lease namespace/lease (controller-runtime's leader
// election names the holder "<pod>_<uuid>") and its first container's image, while
// that pod is Running and not being deleted; "" otherwise.
func (c Cluster) Leader(namespace, lease string) (pod, image string) {
	holder := c.LeaseHolder(namespace, lease)
	if holder == "" {
		return "", ""
	}
	pod, _, _ = strings.Cut(holder, "_")
	out, err := c.KubectlQuiet("get", "pod", pod, "-n", namespace, "-o",
		"jsonpath={.status.phase}|{.metadata.deletionTimestamp}|{.spec.containers[0].image}")
	f := strings.Split(out, "|")
	if err != nil || len(f) != 3 || f[0] != "Running" || f[1] != "" {
		return "", ""
	}
	return pod, f[2]
}
