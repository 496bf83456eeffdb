package awsop

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// xnode is one element of a parsed XML document.
type xnode struct {
	name  string
	attrs []xml.Attr
	kids  []*xnode
	text  strings.Builder
}

// maxXMLElements bounds the elements parsed from one body.
const maxXMLElements = 200000

// parseXML parses an XML document into its root element; nil if the body
// is not well-formed XML.
func parseXML(b []byte) *xnode {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '<' {
		return nil
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var root *xnode
	var stack []*xnode
	count := 0
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxXMLElements || len(stack) >= maxDepth {
				return nil
			}
			n := &xnode{name: t.Name.Local, attrs: t.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else if root == nil {
				root = n
			} else {
				return nil
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil || len(stack) != 0 {
		return nil
	}
	return root
}

// child returns the first child element with the name (case-insensitive).
func (n *xnode) child(name string) *xnode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if strings.EqualFold(k.name, name) {
			return k
		}
	}
	return nil
}

// find returns the first element with the name, searching breadth-first to
// the given depth.
func (n *xnode) find(name string, depth int) *xnode {
	level := []*xnode{n}
	for d := 0; d <= depth && len(level) > 0; d++ {
		var next []*xnode
		for _, x := range level {
			if x == nil {
				continue
			}
			if strings.EqualFold(x.name, name) {
				return x
			}
			next = append(next, x.kids...)
		}
		level = next
	}
	return nil
}

func (n *xnode) str() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text.String())
}

// attrName spells an attribute as written: xmlns, xmlns:xsi, xsi:type.
func attrName(a xml.Attr) string {
	switch {
	case a.Name.Space == "":
		return a.Name.Local
	case a.Name.Space == "xmlns":
		return "xmlns:" + a.Name.Local
	case strings.HasSuffix(a.Name.Space, "XMLSchema-instance"):
		return "xsi:" + a.Name.Local
	}
	return a.Name.Local
}

// value converts an element to JSON-like values: a leaf to its text, an
// element whose children are all <member> or <item> to a list, one whose
// children are all <entry><key/><value/></entry> to a map, anything else to
// an object whose repeated child names become lists. Without attrs, an
// element whose children all bear its name in the singular (rest-xml's
// <Changes><Change/></Changes>, <Buckets><Bucket/></Buckets>) is a list too. With attrs set, the
// element's attributes (xmlns, xsi:type…) are kept as keys, as CloudTrail
// keeps them in S3 request bodies.
func (n *xnode) value(attrs bool, depth int) any {
	if depth > maxDepth {
		return nil
	}
	if len(n.kids) == 0 {
		if attrs && len(n.attrs) > 0 {
			m := map[string]any{}
			for _, a := range n.attrs {
				m[attrName(a)] = a.Value
			}
			if t := n.str(); t != "" {
				m["content"] = t
			}
			return m
		}
		t := n.text.String()
		if strings.TrimSpace(t) == "" {
			return ""
		}
		return t
	}
	same := true
	for _, k := range n.kids {
		if k.name != n.kids[0].name {
			same = false
			break
		}
	}
	if same && !attrs && plural(n.name, n.kids[0].name) {
		l := make([]any, len(n.kids))
		for i, k := range n.kids {
			l[i] = k.value(attrs, depth+1)
		}
		return l
	}
	if same {
		switch n.kids[0].name {
		case "member", "item":
			l := make([]any, len(n.kids))
			for i, k := range n.kids {
				l[i] = k.value(attrs, depth+1)
			}
			return l
		case "entry":
			m := map[string]any{}
			ok := true
			for _, k := range n.kids {
				key := k.child("key")
				if key == nil {
					ok = false
					break
				}
				var v any
				if val := k.child("value"); val != nil {
					v = val.value(attrs, depth+1)
				}
				m[key.text.String()] = v
			}
			if ok {
				return m
			}
		}
	}
	m := map[string]any{}
	if attrs {
		for _, a := range n.attrs {
			m[attrName(a)] = a.Value
		}
	}
	seen := map[string]int{}
	for _, k := range n.kids {
		seen[k.name]++
	}
	for _, k := range n.kids {
		v := k.value(attrs, depth+1)
		if seen[k.name] > 1 {
			l, _ := m[k.name].([]any)
			m[k.name] = append(l, v)
		} else {
			m[k.name] = v
		}
	}
	return m
}

// withoutKids returns the element's value with the named children left out.
func (n *xnode) valueWithout(attrs bool, skip ...string) any {
	c := &xnode{name: n.name, attrs: n.attrs}
	for _, k := range n.kids {
		drop := false
		for _, s := range skip {
			if strings.EqualFold(k.name, s) {
				drop = true
			}
		}
		if !drop {
			c.kids = append(c.kids, k)
		}
	}
	if len(c.kids) == 0 {
		return nil
	}
	return c.value(attrs, 0)
}

// plural reports whether parent is child's plural: Changes/Change,
// Addresses/Address, Policies/Policy.
func plural(parent, child string) bool {
	return parent == child+"s" || parent == child+"es" ||
		strings.HasSuffix(child, "y") && parent == child[:len(child)-1]+"ies"
}
