package main

import (
	"os"
	"testing"
)

// envRunMain makes the test binary run the plugin's main instead of the tests, so
// that a test can run the plugin as a user does and read its exit code.
const envRunMain = "KUBECTL_APPSTACK_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
