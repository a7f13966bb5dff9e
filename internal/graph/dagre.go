package graph

import _ "embed"

// DagreJS is dagre's browser bundle (graphlib inside), pinned in
// hack/js/package-lock.json and copied here by hack/vendor-js.sh: the dashboard
// serves it to the browser, and Layout runs the same file, so a graph is laid out
// alike in both.
//
//go:embed dagre/dagre.min.js
var DagreJS []byte

// DagreLicense is the license text of DagreJS's packages, served beside it.
//
//go:embed dagre/LICENSE
var DagreLicense []byte
