package graph

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SVG draws the graph as a standalone SVG document, laid out by Layout: a
// rounded box per node in its phase's colors with its name, kind, replicas and
// reason, and the node's details as a <title> that viewers show on hover;
// edges as curves with arrowheads, dashed for uses edges. It needs nothing from
// outside (no stylesheet, no font: the generic sans-serif family).
func SVG(g Graph) ([]byte, error) {
	p, err := Layout(g)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w, h := num(p.Width), num(p.Height)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" `+
		`font-family="sans-serif" role="img">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, "<title>%s</title>\n", xmlEscape(fmt.Sprintf("AppStack %s (namespace %s)", p.Stack, p.Namespace)))
	fmt.Fprintf(&b, `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" `+
		`markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker></defs>`+"\n", EdgeColor)
	fmt.Fprintf(&b, `<rect width="%s" height="%s" fill="#ffffff"/>`+"\n", w, h)
	for _, e := range p.Edges {
		dash := ""
		if e.Type == EdgeUses {
			dash = ` stroke-dasharray="5 4"`
		}
		fmt.Fprintf(&b, `<g class="edge" data-from="%s" data-to="%s" data-type="%s">`+
			`<path d="%s" fill="none" stroke="%s" stroke-width="1.5"%s marker-end="url(#arrow)"/></g>`+"\n",
			xmlEscape(e.From), xmlEscape(e.To), e.Type, curve(e.Points), EdgeColor, dash)
	}
	for _, n := range p.Nodes {
		writeNode(&b, n)
	}
	b.WriteString("</svg>\n")
	return b.Bytes(), nil
}

func writeNode(b *bytes.Buffer, n NodeBox) {
	fill, stroke := PhaseColor(n.Phase)
	radius := 6
	if n.Type != NodeComponent {
		radius = 14 // volumes and configs: a pill, apart from the workloads
	}
	left, top := n.X-n.Width/2, n.Y-n.Height/2
	fmt.Fprintf(b, `<g class="node" data-node="%s" data-phase="%s"><title>%s</title>`+"\n",
		xmlEscape(n.ID), xmlEscape(n.Phase), xmlEscape(details(n.Node)))
	fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" rx="%d" fill="%s" stroke="%s" stroke-width="1.5"/>`+"\n",
		num(left), num(top), num(n.Width), num(n.Height), radius, fill, stroke)
	y := top + padY
	for i, l := range lines(n.Node) {
		size, weight := detailFontSize, ""
		if i == 0 {
			size, weight = nameFontSize, ` font-weight="bold"`
		}
		// The baseline sits about 0.8 of the font size below the line's top.
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" font-size="%s"%s fill="%s">%s</text>`+"\n",
			num(n.X), num(y+0.8*size), num(size), weight, TextColor, xmlEscape(l))
		y += size + lineGap
	}
	b.WriteString("</g>\n")
}

// curve is an SVG path through dagre's points as a uniform B-spline (what d3's
// curveBasis draws): smooth bends, and it starts and ends on the first and last
// point, so the arrowhead meets the node's border.
func curve(pts []Point) string {
	if len(pts) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "M%s,%s", num(pts[0].X), num(pts[0].Y))
	if len(pts) == 2 {
		fmt.Fprintf(&b, " L%s,%s", num(pts[1].X), num(pts[1].Y))
	}
	if len(pts) < 3 {
		return b.String()
	}
	fmt.Fprintf(&b, " L%s,%s", num((5*pts[0].X+pts[1].X)/6), num((5*pts[0].Y+pts[1].Y)/6))
	bezier := func(p0, p1, p2 Point) {
		fmt.Fprintf(&b, " C%s,%s %s,%s %s,%s",
			num((2*p0.X+p1.X)/3), num((2*p0.Y+p1.Y)/3),
			num((p0.X+2*p1.X)/3), num((p0.Y+2*p1.Y)/3),
			num((p0.X+4*p1.X+p2.X)/6), num((p0.Y+4*p1.Y+p2.Y)/6))
	}
	for i := 2; i < len(pts); i++ {
		bezier(pts[i-2], pts[i-1], pts[i])
	}
	last, prev := pts[len(pts)-1], pts[len(pts)-2]
	bezier(prev, last, last)
	fmt.Fprintf(&b, " L%s,%s", num(last.X), num(last.Y))
	return b.String()
}

// num writes a coordinate to a tenth of a unit: enough for a drawing, and the
// same bytes on every machine.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// xmlEscape is s as XML text or attribute value; a character XML may not hold
// (a control character in a message) becomes U+FFFD.
func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
