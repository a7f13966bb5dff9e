package dashboard

import "embed"

// webFS holds the page: index.html, app.js and style.css (web/). The page is
// plain HTML, CSS and JavaScript with no build step; the one library it uses,
// dagre, comes from internal/graph (graph.DagreJS) and is served beside it.
//
//go:embed web
var webFS embed.FS
