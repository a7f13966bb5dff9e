//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

// `kubectl appstack dashboard` as a user starts it, read in headless Chromium
// through the DOM contract of docs/dashboard.md ("The page's DOM").

// demoStack is the sample whose page the README shows (docs/images/dashboard-stack.png):
// the one whose components start in order by dependsOn.
const demoStack = "guestbook"

// liveBudget is how soon the page must show a change in the cluster (issue 22:
// "within 2 s without a reload").
const liveBudget = 2 * time.Second

// healthRank is the stacks page's order, failing first (internal/dashboard/api.go).
var healthRank = map[string]int{"Failed": 0, "Progressing": 1, "Unknown": 1, "Deleting": 1, "Suspended": 2, "Ready": 3}

// route is the dashboard's page at route (#/ the stacks, #/stacks/NAME a stack).
func route(dashboardURL, r string) string {
	base, _, _ := strings.Cut(dashboardURL, "#")
	return base + "#" + r
}

// startDashboard runs bin/kubectl-appstack dashboard against the suite's cluster,
// with args added, as a user types it.
func startDashboard(args ...string) *utils.DashboardProcess {
	GinkgoHelper()
	d, err := utils.StartDashboard(GinkgoWriter, time.Minute, filepath.Join(root, "bin", "kubectl-appstack"),
		append([]string{"dashboard", "--kubeconfig", cluster.Kubeconfig, "--port", "0"}, args...)...)
	Expect(err).NotTo(HaveOccurred())
	return d
}

var _ = Describe("kubectl appstack dashboard in a browser", Ordered, Label("dashboard"), func() {
	var (
		admin    *utils.DashboardProcess
		tab      context.Context
		reported int // page errors already failed on
	)
	// within is the tab, for a wait of at most d.
	within := func(d time.Duration) context.Context {
		ctx, cancel := context.WithTimeout(tab, d)
		DeferCleanup(cancel)
		return ctx
	}
	open := func(url string) {
		GinkgoHelper()
		Expect(utils.Open(tab, url)).To(Succeed())
	}
	metrics := func(what string) utils.PageStats {
		GinkgoHelper()
		m, err := utils.PageMetrics(tab)
		Expect(err).NotTo(HaveOccurred())
		By(what + ": " + m.String())
		return m
	}

	BeforeAll(func() {
		ensureSamples()
		By("a stack whose image cannot be pulled (dash-fail), and one the specs change (dash-live)")
		dir := GinkgoT().TempDir()
		Expect(cluster.ApplyFile(filepath.Join(dir, "fail.yaml"), failing("dash-fail", `
  components:
  - name: web
    annotations: {appstack.dev/simulate: ImagePullBackOff}
    containers: [{name: app, image: "nginx:does-not-exist"}]`))).To(Succeed())
		Expect(cluster.ApplyFile(filepath.Join(dir, "live.yaml"), failing("dash-live", `
  components:
  - name: web
    containers: [{name: app, image: nginx}]`))).To(Succeed())
		waitReady("stack/dash-live")

		By("starting the dashboard as a user does, and headless Chromium")
		admin = startDashboard()
		browser, err := utils.StartBrowser(context.Background(), utils.BrowserOptions{Width: 1366, Height: 900})
		Expect(err).NotTo(HaveOccurred())
		tab = browser.Context()
		DeferCleanup(func() {
			browser.Close()
			Expect(admin.Stop()).To(Succeed())
			_, _ = kubectl("delete", "stack", "dash-fail", "dash-live", "--ignore-not-found", "--wait=false")
		})
	})

	AfterEach(func() {
		if CurrentSpecReport().Failed() {
			shot := filepath.Join(artifactDir(), "dashboard-failed-"+time.Now().Format("150405")+".png")
			if utils.Screenshot(tab, shot) == nil {
				GinkgoWriter.Printf("the page when the spec failed: %s\n", shot)
			}
			GinkgoWriter.Printf("---- kubectl appstack dashboard ----\n%s\n", admin.Output())
		}
		errs := utils.PageErrors(tab)
		fresh := errs[reported:]
		reported = len(errs)
		Expect(fresh).To(BeEmpty(), "the page logged errors")
	})

	It("lists every sample stack, failing ones first, and filters them; loads in under a second", func() {
		names := strings.Fields(get("-k", filepath.Join(root, "config", "samples"), "-o", "jsonpath={.items[*].metadata.name}"))
		open(route(admin.URL, "/"))
		ctx := within(10 * time.Second)
		Expect(utils.WaitAttr(ctx, "body", "data-page", "stacks")).Error().NotTo(HaveOccurred())
		for _, n := range append(names, "dash-fail", "dash-live") {
			Expect(utils.WaitAttr(ctx, `tr[data-stack="`+n+`"]`, "data-health")).Error().NotTo(HaveOccurred())
		}
		m := metrics("the stacks page, " + fmt.Sprint(len(names)+2) + " stacks or more")
		Expect(m.FirstRender).To(And(BeNumerically(">", 0), BeNumerically("<", time.Second)), "time to first render")
		Expect(m.TransferBytes).To(BeNumerically(">", 0))

		Expect(utils.WaitAttr(ctx, `tr[data-stack="gurumee"]`, "data-health", "Ready")).Error().NotTo(HaveOccurred())
		Expect(utils.WaitAttr(ctx, `tr[data-stack="dash-fail"]`, "data-health", "Failed", "Progressing")).Error().NotTo(HaveOccurred())
		health, err := utils.Attrs(tab, "tr[data-stack]", "data-health")
		Expect(err).NotTo(HaveOccurred())
		ranks := make([]int, len(health))
		for i, h := range health {
			r, ok := healthRank[h]
			Expect(ok).To(BeTrue(), "row %d has data-health %q, not one of api.go's", i, h)
			ranks[i] = r
		}
		Expect(slices.IsSorted(ranks)).To(BeTrue(), "rows not failing first: %q", health)

		By("filtering by name: gurumee")
		filled, err := utils.Fill(tab, "#filter", "gurumee")
		Expect(err).NotTo(HaveOccurred())
		seen, err := utils.WaitShown(ctx, "tr[data-stack]", 1)
		Expect(err).NotTo(HaveOccurred())
		Expect(utils.WaitShown(ctx, `tr[data-stack="gurumee"]`, 1)).Error().NotTo(HaveOccurred())
		By(fmt.Sprintf("the filter left one row of %d after %s", len(health), seen.At.Sub(filled)))
		_, err = utils.Fill(tab, "#filter", "")
		Expect(err).NotTo(HaveOccurred())
		Expect(utils.WaitShown(ctx, "tr[data-stack]", len(health))).Error().NotTo(HaveOccurred())
	})

	It("shows a component whose image cannot be pulled as Failed or Progressing, with its cause", func() {
		open(route(admin.URL, "/stacks/dash-fail"))
		ctx := within(20 * time.Second)
		node := `g.node[data-node="component/web"]`
		phase, err := utils.WaitAttr(ctx, node, "data-phase", "Failed", "Progressing")
		Expect(err).NotTo(HaveOccurred())
		// The box shows the cause cut to its lines; its title (the tooltip) has it whole.
		Expect(utils.WaitText(ctx, node+" .node-message", "ImagePullBackOff: container app")).Error().NotTo(HaveOccurred())
		cause, err := utils.WaitText(ctx, node+" > title", `cannot pull image "nginx:does-not-exist"`)
		Expect(err).NotTo(HaveOccurred())
		pod, err := utils.WaitAttr(ctx, `[data-kind="Pod"][data-waiting="ImagePullBackOff"]`, "data-name")
		Expect(err).NotTo(HaveOccurred())
		By(fmt.Sprintf("node component/web %s: %q; pod %s waiting ImagePullBackOff", phase.Value, cause.Value, pod.Value))
		metrics("the stack page of dash-fail")
	})

	It("shows a deleted Deployment's successor within 2 s of the delete", func() {
		open(route(admin.URL, "/stacks/dash-live"))
		ctx := within(15 * time.Second)
		dep := `[data-kind="Deployment"][data-name="web"]`
		uid := get("deployment", "web", "-n", "dash-live", "-o", "jsonpath={.metadata.uid}")
		Expect(utils.WaitAttr(ctx, dep, "data-uid", uid)).Error().NotTo(HaveOccurred())

		deleted := time.Now()
		Expect(kubectl("delete", "deployment", "web", "-n", "dash-live", "--wait=false")).Error().NotTo(HaveOccurred())
		seen, err := utils.WaitAttrChange(ctx, dep, "data-uid", uid)
		Expect(err).NotTo(HaveOccurred())
		took := seen.At.Sub(deleted)
		By(fmt.Sprintf("the page showed the new Deployment (uid %s) %s after the delete", seen.Value, took.Round(time.Millisecond)))
		Expect(get("deployment", "web", "-n", "dash-live", "-o", "jsonpath={.metadata.uid}")).To(Equal(seen.Value))
		Expect(took).To(BeNumerically("<=", liveBudget))
		waitReady("stack/dash-live")
	})

	It("shows a broken image's waiting pod within 2 s of the cluster", func() {
		open(route(admin.URL, "/stacks/dash-live"))
		ctx := within(60 * time.Second)
		Expect(utils.WaitAttr(ctx, `g.node[data-node="component/web"]`, "data-phase", "Ready")).Error().NotTo(HaveOccurred())
		type result struct {
			seen utils.Seen
			err  error
		}
		onPage := make(chan result, 1)
		go func() {
			defer GinkgoRecover()
			s, err := utils.WaitAttr(ctx, `[data-kind="Pod"][data-waiting="ImagePullBackOff"]`, "data-name")
			onPage <- result{s, err}
		}()

		patched := time.Now()
		Expect(kubectl("patch", "stack", "dash-live", "--type=json", "-p",
			`[{"op":"replace","path":"/spec/components/0/containers/0/image","value":"nginx:does-not-exist"},`+
				`{"op":"add","path":"/spec/components/0/annotations","value":{"appstack.dev/simulate":"ImagePullBackOff"}}]`)).Error().NotTo(HaveOccurred())
		var pod string
		var inCluster time.Time
		Eventually(func() string {
			out, _ := cluster.KubectlQuiet("get", "pods", "-n", "dash-live", "-l", "apps.appstack.dev/component=web", "-o",
				`jsonpath={range .items[*]}{.metadata.name}={.status.containerStatuses[0].state.waiting.reason}{"\n"}{end}`)
			for _, l := range strings.Fields(out) {
				if name, reason, _ := strings.Cut(l, "="); reason == "ImagePullBackOff" {
					pod, inCluster = name, time.Now()
				}
			}
			return pod
		}, 30*time.Second, 50*time.Millisecond).ShouldNot(BeEmpty())

		r := <-onPage
		Expect(r.err).NotTo(HaveOccurred())
		behind := r.seen.At.Sub(inCluster)
		By(fmt.Sprintf("pod %s waiting ImagePullBackOff: kubectl saw it %s after the patch, the page %s after the patch (%s after kubectl)",
			pod, inCluster.Sub(patched).Round(time.Millisecond), r.seen.At.Sub(patched).Round(time.Millisecond), behind.Round(time.Millisecond)))
		Expect(r.seen.Value).To(Equal(pod))
		Expect(behind).To(BeNumerically("<=", liveBudget))
	})

	It("shows a user bound only to appstack-viewer-role the stacks, no action, and what it may not read", func() {
		By("binding user dashboard-viewer to appstack-viewer-role alone")
		Expect(kubectl("apply", "--server-side", "--force-conflicts", "-f", filepath.Join(root, "config", "rbac", "appstack_viewer_role.yaml"))).
			Error().NotTo(HaveOccurred())
		Expect(cluster.ApplyFile(filepath.Join(GinkgoT().TempDir(), "viewer.yaml"), `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-dashboard-viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: appstack-viewer-role}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: dashboard-viewer}]
`)).To(Succeed())
		DeferCleanup(func() { _, _ = kubectl("delete", "clusterrolebinding", "e2e-dashboard-viewer", "--ignore-not-found") })
		viewer := startDashboard("--as", "dashboard-viewer")
		DeferCleanup(func() { Expect(viewer.Stop()).To(Succeed()) })

		ctx := within(20 * time.Second)
		open(route(viewer.URL, "/"))
		Expect(utils.WaitAttr(ctx, `tr[data-stack="gurumee"]`, "data-health", "Ready")).Error().NotTo(HaveOccurred())
		Expect(utils.Attrs(tab, "#forbidden", "id")).To(BeEmpty(), "the viewer may list stacks")

		open(route(viewer.URL, "/stacks/gurumee"))
		Expect(utils.WaitAttr(ctx, "body", "data-page", "stack")).Error().NotTo(HaveOccurred())
		Expect(utils.WaitAttr(ctx, `g.node[data-node="component/simple-app"]`, "data-phase", "Ready")).Error().NotTo(HaveOccurred())
		Expect(utils.WaitAtLeast(ctx, "#hidden li", 1)).Error().NotTo(HaveOccurred(), "the viewer may not read pods; the page must say so")
		hidden, err := utils.Texts(tab, "#hidden li")
		Expect(err).NotTo(HaveOccurred())
		Expect(hidden).To(ContainElement(ContainSubstring("pods")))
		Expect(utils.Attrs(tab, "#actions [data-action]", "data-action")).To(BeEmpty(), "no action for a viewer")
		By(fmt.Sprintf("the viewer sees no action and %d hidden line(s): %q", len(hidden), hidden))

		By("the same page for the suite's admin: actions, nothing hidden")
		open(route(admin.URL, "/stacks/gurumee"))
		Expect(utils.WaitAtLeast(ctx, "#actions [data-action]", 1)).Error().NotTo(HaveOccurred())
		Expect(utils.Texts(tab, "#hidden li")).To(BeEmpty())
	})

	It("draws the demo stack, guestbook, at laptop and phone widths (screenshots)", func() {
		components := strings.Fields(get("stack", demoStack, "-o", "jsonpath={.spec.components[*].name}"))
		Expect(components).NotTo(BeEmpty())
		for _, w := range []struct {
			width, height int64
			mobile        bool
		}{{1366, 900, false}, {390, 844, true}} {
			opts := []chromedp.EmulateViewportOption{}
			if w.mobile {
				opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
			}
			Expect(chromedp.Do(tab, chromedp.EmulateViewport(w.width, w.height, opts...))).To(Succeed())
			open(route(admin.URL, "/stacks/"+demoStack))
			ctx := within(20 * time.Second)
			Expect(utils.WaitCount(ctx, `g.node[data-node^="component/"][data-phase="Ready"]`, len(components))).Error().NotTo(HaveOccurred())
			Expect(utils.WaitRendered(ctx, 1)).Error().NotTo(HaveOccurred())
			metrics(fmt.Sprintf("the %s stack page at %d px", demoStack, w.width))
			width, err := chromedp.Run(tab, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
			Expect(err).NotTo(HaveOccurred())
			Expect(width).To(BeNumerically("<=", w.width), "the page scrolls sideways at %d px", w.width)
			shot := filepath.Join(artifactDir(), fmt.Sprintf("dashboard-stack-%d.png", w.width))
			Expect(utils.Screenshot(tab, shot)).To(Succeed())
			By("screenshot " + shot)
			if w.width == 1366 && os.Getenv("UPDATE_SCREENSHOTS") == "1" {
				b, err := os.ReadFile(shot)
				Expect(err).NotTo(HaveOccurred())
				Expect(os.MkdirAll(filepath.Join(root, "docs", "images"), 0o755)).To(Succeed())
				Expect(os.WriteFile(filepath.Join(root, "docs", "images", "dashboard-stack.png"), b, 0o644)).To(Succeed())
				By("UPDATE_SCREENSHOTS=1: docs/images/dashboard-stack.png updated")
			}
		}
		Expect(chromedp.Do(tab, chromedp.ResetViewport())).To(Succeed())
	})
})
