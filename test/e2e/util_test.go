//go:build e2e

package e2e

import (
	"os"
	"time"

	. "github.com/onsi/gomega"
)

func writeFile(path, content string) {
	Expect(os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
}

// waitReady waits for stacks to be Ready with kubectl wait, as a user would. A stack
// the operator has not written a status for yet makes kubectl wait fail instead of
// wait, so that is retried.
func waitReady(target ...string) {
	args := append([]string{"wait", "--for=condition=Ready", "--timeout=20s"}, target...)
	Eventually(func() error {
		_, err := kubectl(args...)
		return err
	}, 2*time.Minute, time.Second).Should(Succeed())
}
