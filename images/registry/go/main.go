// The lab's registry: CNCF distribution's `registry` command with the one storage driver and the one access
// controller the lab configures (filesystem and htpasswd, see ../config.yml). Upstream's cmd/registry links every
// driver (Azure, GCS, S3, CloudFront) and auth plugin besides; their SDKs are more than half of what a cold build
// compiles, and the lab uses none.
package main

import (
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	// RootCmd's commands exit non-zero themselves when they fail (as in upstream's main).
	registry.RootCmd.Execute() //nolint:errcheck
}
