//go:build e2e

package e2e

import (
	"os"

	. "github.com/onsi/gomega"
)

func writeFile(path, content string) {
	Expect(os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
}
