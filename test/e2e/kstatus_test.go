//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/appstack-dev/appstack-operator/test/cases"
)

// kstatusOf computes a stack's status with kstatus, the library Flux's health
// checks and Helm 4's --wait use, from the stack as kubectl reads it.
func kstatusOf(name string) (*kstatus.Result, error) {
	out, err := kubectl("get", "stack", name, "-o", "json")
	if err != nil {
		return nil, err
	}
	// Unstructured's own decoding keeps integers int64, as kstatus expects.
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(out)); err != nil {
		return nil, err
	}
	return kstatus.Compute(u)
}

// kstatusWithin waits until kstatus reads want for the stack, and returns how
// long that took from start and kstatus's message.
func kstatusWithin(name string, want kstatus.Status, start time.Time, limit time.Duration) (time.Duration, string) {
	GinkgoHelper()
	var msg string
	Eventually(func() (kstatus.Status, error) {
		res, err := kstatusOf(name)
		if err != nil {
			return "", err
		}
		msg = res.Message
		return res.Status, nil
	}, limit, 100*time.Millisecond).Should(Equal(want), "kstatus of stack %s", name)
	return time.Since(start), msg
}

var _ = Describe("kstatus", Ordered, func() {
	BeforeAll(ensureSamples)

	It("reads every Ready sample stack as Current", func() {
		names := strings.Fields(get("-k", filepath.Join(root, "config", "samples"), "-o", "jsonpath={.items[*].metadata.name}"))
		Expect(names).NotTo(BeEmpty())
		for _, name := range names {
			res, err := kstatusOf(name)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.Status).To(Equal(kstatus.CurrentStatus), "stack %s: %s", name, res.Message)
			Expect(get("stack", name, "-o", "jsonpath={.status.conditions[*].type}")).To(Equal("Ready"),
				"a Ready stack carries neither Reconciling nor Stalled")
		}
		GinkgoWriter.Printf("KSTATUS %d sample stacks Current\n", len(names))
	})

	// Stack-level causes: each is applied as a user would, and kstatus must read
	// it as it should within 10 s.
	stacks := []struct {
		name, reason string
		setup        func()
		spec         string
		want         kstatus.Status
	}{
		{name: "ks-new", reason: "Ready", want: kstatus.CurrentStatus, spec: `
  components:
  - name: web
    containers: [{name: app, image: nginx}]`},
		{name: "ks-paused", reason: "Suspended", want: kstatus.FailedStatus, spec: `
  paused: true
  components:
  - name: web
    containers: [{name: app, image: nginx}]`},
		{name: "ks-invalid", reason: "InvalidSpec", want: kstatus.FailedStatus, spec: "\n  " +
			strings.ReplaceAll(cases.Unrenderable[0].Spec, "\n", "\n  ")},
		{name: "ks-taken", reason: "NamespaceConflict", want: kstatus.FailedStatus, setup: func() {
			Expect(kubectl("create", "namespace", "ks-taken")).Error().NotTo(HaveOccurred())
		}, spec: `
  components:
  - name: web
    containers: [{name: app, image: nginx}]`},
	}
	for _, tc := range stacks {
		It("reads a stack "+tc.reason+" ("+tc.name+") as "+string(tc.want)+" within 10 s", func() {
			if tc.setup != nil {
				tc.setup()
			}
			start := time.Now()
			apply(failing(tc.name, tc.spec))
			d, msg := kstatusWithin(tc.name, tc.want, start, 10*time.Second)
			Expect(get("stack", tc.name, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].reason}`)).To(Equal(tc.reason))
			GinkgoWriter.Printf("KSTATUS %-20s %-26s %-10s in %-8s %s\n", tc.name, tc.reason, tc.want, d.Round(100*time.Millisecond), msg)
			AddReportEntry("kstatus "+tc.name+" "+string(tc.want), d.Round(100*time.Millisecond).String())
		})
	}

	It("reads a stack being deleted as Terminating", func() {
		// The namespace's own finalizer (a pod it must wait for) is not needed: the
		// stack keeps its finalizer until its children are gone.
		Expect(kubectl("delete", "stack", "ks-new", "--wait=false")).Error().NotTo(HaveOccurred())
		res, err := kstatusOf("ks-new")
		if err == nil {
			Expect(res.Status).To(Equal(kstatus.TerminatingStatus), res.Message)
		}
		Eventually(func() string {
			out, _ := kubectl("get", "stack", "ks-new", "--ignore-not-found", "-o", "name")
			return out
		}, time.Minute, 200*time.Millisecond).Should(BeEmpty())
	})

	AfterAll(func() {
		Expect(kubectl("delete", "stack", "--ignore-not-found", "--timeout=120s", "ks-new", "ks-paused", "ks-invalid", "ks-taken")).
			Error().NotTo(HaveOccurred())
		Expect(kubectl("delete", "namespace", "ks-taken", "--ignore-not-found", "--wait=false")).Error().NotTo(HaveOccurred())
	})
})
