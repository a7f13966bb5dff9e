//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/appstack-dev/appstack-operator/test/utils"
)

func writeFile(path, content string) {
	Expect(os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
}

// waitReady waits for stacks to be Ready with kubectl wait, as a user would. A stack
// the operator has not written a status for yet makes kubectl wait fail instead of
// wait, so that is retried.
func waitReady(target ...string) {
	GinkgoHelper()
	Expect(cluster.WaitFor("Ready", 20*time.Second, 2*time.Minute, target...)).NotTo(HaveOccurred())
}

// ensureSamples applies config/samples, as a user would, and waits until every
// stack is Ready. Containers that rely on the samples call it first: Ginkgo runs
// top-level containers in random order.
func ensureSamples() {
	GinkgoHelper()
	Expect(kubectl("apply", "-k", filepath.Join(root, "config", "samples"))).Error().NotTo(HaveOccurred())
	names, err := kubectl("get", "-k", filepath.Join(root, "config", "samples"), "-o", "jsonpath={.items[*].metadata.name}")
	Expect(err).NotTo(HaveOccurred())
	waitReady(utils.StackRefs(strings.Fields(names)...)...)
}

// numbered is prefix-00 … prefix-(n-1).
func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}
