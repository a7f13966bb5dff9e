package graph

import (
	"fmt"
	"strings"
)

// DOT writes the graph in Graphviz's language (`dot -Tsvg`): a top-down
// digraph, one rounded box per node filled with its phase's color, the node's
// details as its tooltip, dependsOn edges solid and uses edges dashed.
func DOT(g Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(g.Stack))
	fmt.Fprintf(&b, "  label=%s;\n", dotQuote(fmt.Sprintf("AppStack %s (namespace %s)", g.Stack, g.Namespace)))
	b.WriteString("  labelloc=t;\n  fontname=\"sans-serif\";\n  rankdir=TB;\n")
	fmt.Fprintf(&b, "  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\", fontsize=12, fontcolor=%s];\n",
		dotQuote(TextColor))
	fmt.Fprintf(&b, "  edge [color=%s];\n", dotQuote(EdgeColor))
	for _, n := range g.Nodes {
		fill, stroke := PhaseColor(n.Phase)
		fmt.Fprintf(&b, "  %s [label=%s, tooltip=%s, fillcolor=%s, color=%s];\n", dotQuote(n.ID),
			dotQuote(strings.Join(lines(n), "\n")), dotQuote(details(n)), dotQuote(fill), dotQuote(stroke))
	}
	for _, e := range g.Edges {
		attrs := ""
		if e.Type == EdgeUses {
			attrs = " [style=dashed]"
		}
		fmt.Fprintf(&b, "  %s -> %s%s;\n", dotQuote(e.From), dotQuote(e.To), attrs)
	}
	b.WriteString("}\n")
	return b.String()
}

// dotQuote is s as a DOT quoted string. A backslash is doubled so that no
// escape of DOT's labels (\N, \l, ...) is read into it, and a line break
// becomes DOT's \n.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// Mermaid writes the graph as a Mermaid flowchart, top-down (GitHub renders it
// in a ```mermaid block): one box per node, a class per phase color,
// dependsOn edges solid and uses edges dotted.
func Mermaid(g Graph) string {
	var b strings.Builder
	b.WriteString("flowchart TB\n")
	classes := map[string][]string{}
	var order []string
	for _, n := range g.Nodes {
		id := mermaidID(n.ID)
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", id, mermaidLabel(lines(n)))
		c := phaseClass(n.Phase)
		if _, ok := classes[c]; !ok {
			order = append(order, c)
		}
		classes[c] = append(classes[c], id)
	}
	for _, e := range g.Edges {
		arrow := "-->"
		if e.Type == EdgeUses {
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "  %s %s %s\n", mermaidID(e.From), arrow, mermaidID(e.To))
	}
	for _, c := range order {
		fill, stroke := palette[c][0], palette[c][1]
		fmt.Fprintf(&b, "  classDef %s fill:%s,stroke:%s,color:%s\n", c, fill, stroke, TextColor)
		fmt.Fprintf(&b, "  class %s %s\n", strings.Join(classes[c], ","), c)
	}
	return b.String()
}

// mermaidID turns a node ID ("component/redis-leader") into a Mermaid node ID
// ("component_redis_leader"): letters and digits stay, '-' and '/' become '_'
// (names are DNS labels, which have no '_', so no two IDs meet), any other byte
// its hex code after "_x". The type prefix keeps IDs off Mermaid's keywords
// (end, graph, ...).
func mermaidID(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '-', c == '/':
			b.WriteByte('_')
		default:
			fmt.Fprintf(&b, "_x%02x", c)
		}
	}
	return b.String()
}

// mermaidLabel is the text of a quoted Mermaid label: the lines joined by
// <br/>, and each character Mermaid or HTML would read as markup written as an
// HTML entity, which Mermaid's HTML labels (the default, and GitHub's) show as
// the character. Not Mermaid's own #code; escapes: Mermaid 11 leaves them
// undecoded, and it reads any "#word;" as one, so '#' is an entity too.
func mermaidLabel(lines []string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "#", "&num;", "`", "&grave;",
		"\r", "", "\n", " ")
	escaped := make([]string, len(lines))
	for i, l := range lines {
		escaped[i] = r.Replace(l)
	}
	return strings.Join(escaped, "<br/>")
}
