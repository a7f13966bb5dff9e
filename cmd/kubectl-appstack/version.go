package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/appstack-dev/appstack-operator/internal/version"
)

// operatorLabel is on the operator's Deployment in both installs (chart and
// config/default); the chart also sets app.kubernetes.io/version.
const operatorLabel = "app.kubernetes.io/name"

// leaseName is the operator's leader-election lease (cmd/main.go).
const leaseName = "appstack-operator.appstack.dev"

func newVersionCommand(out io.Writer) *cobra.Command {
	flags := clusterFlags{namespaced: true}
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version and the operator's, read from the cluster",
		Long: `Print the plugin's version (set at build time from VERSION and git) and, unless
--client is given, the version of every appstack operator installed in the cluster:
its Deployment (label app.kubernetes.io/name=appstack-operator), the chart's version
label, the image, ready replicas and the pod holding the leader lease.
-n/--namespace looks in that namespace only (for a user who may list Deployments
there but not in every namespace); without it, version looks in every namespace,
not in the kubeconfig context's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := fmt.Fprintf(out, "Client Version: %s\n", version.Get()); err != nil || clientOnly {
				return err
			}
			c, err := flags.client()
			if err != nil {
				return err
			}
			ns := flags.namespace()
			lines, err := operatorVersions(cmd.Context(), c, ns)
			if err != nil {
				return fmt.Errorf("read the operator's version from the cluster: %w (--client prints only the plugin's)", err)
			}
			if len(lines) == 0 {
				where := ""
				if ns != "" {
					where = " in namespace " + ns
				}
				lines = []string{fmt.Sprintf("none found (no Deployment labelled %s=appstack-operator%s that you may list)",
					operatorLabel, where)}
			}
			for _, l := range lines {
				if _, err := fmt.Fprintf(out, "Operator Version: %s\n", l); err != nil {
					return err
				}
			}
			return nil
		},
	}
	flags.add(cmd)
	cmd.Flags().Lookup("namespace").Usage = "the namespace the operator is installed in (default: look in every namespace)"
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only the plugin's version; do not contact the cluster")
	return cmd
}

// operatorVersions describes every operator Deployment in namespace (every
// namespace when empty), one line each.
func operatorVersions(ctx context.Context, c client.Client, namespace string) ([]string, error) {
	var deps appsv1.DeploymentList
	if err := c.List(ctx, &deps, client.InNamespace(namespace),
		client.MatchingLabels{operatorLabel: "appstack-operator"}); err != nil {
		return nil, err
	}
	var lines []string
	for _, d := range deps.Items {
		v := d.Labels["app.kubernetes.io/version"]
		image := ""
		for _, ctr := range d.Spec.Template.Spec.Containers {
			if ctr.Name == "manager" || image == "" {
				image = ctr.Image
			}
		}
		if v == "" {
			// config/default carries no version label; the image tag is the release.
			if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
				v = image[i+1:]
			} else {
				v = "unknown"
			}
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		line := fmt.Sprintf("%s (%s/%s, image %s, %d/%d ready", v, d.Namespace, d.Name, image, d.Status.ReadyReplicas, want)
		var lease coordinationv1.Lease
		if err := c.Get(ctx, client.ObjectKey{Namespace: d.Namespace, Name: leaseName}, &lease); err == nil &&
			lease.Spec.HolderIdentity != nil {
			pod, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
			line += ", leader " + pod
		}
		lines = append(lines, line+")")
	}
	sort.Strings(lines)
	return lines, nil
}
