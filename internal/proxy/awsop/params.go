package awsop

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cairn-audit/cairn/internal/proxy/sensitive"
)

// Hidden is what CloudTrail records in place of a sensitive value.
const Hidden = sensitive.Hidden

// lowerFirst lowers the first letter only, as CloudTrail does:
// UserName → userName, DBInstanceIdentifier → dBInstanceIdentifier.
func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// transform rewrites a decoded request or response value for the record:
// keys get their first letter lowered (when lower is set, except the keys
// of maps, which are data), sensitive values are hidden (by the model's
// node or by the key's name), documents are kept as sent.
func transform(v any, n *node, lower bool, depth int) any {
	if n != nil {
		switch n.kind {
		case 'x':
			if v == nil {
				return nil
			}
			return Hidden
		case 'd':
			return v
		}
	}
	if depth > maxDepth {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		isMap := n != nil && n.kind == 'm'
		if n != nil && n.kind == 'l' {
			// A list that XML spelt as one element.
			return []any{transform(x, n.elem, lower, depth+1)}
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			var child *node
			if n != nil {
				if isMap {
					child = n.elem
				} else {
					child = n.members[lowerFirst(k)]
				}
			}
			key := k
			if lower && !isMap {
				key = lowerFirst(k)
			}
			kind := sensitive.Classify(k)
			if val != nil && kind == sensitive.Value {
				out[key] = Hidden
				continue
			}
			out[key] = sensitive.HideAs(kind, transform(val, child, lower, depth+1))
		}
		return out
	case []any:
		var elem *node
		if n != nil && n.kind == 'l' {
			elem = n.elem
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = transform(e, elem, lower, depth+1)
		}
		return out
	}
	if n != nil && n.kind == 'l' && v != nil {
		return []any{transform(v, n.elem, lower, depth+1)}
	}
	return v
}

// maxDepth bounds recursion over decoded values.
const maxDepth = 64

// decodeJSON decodes a JSON body keeping numbers exact; nil if it is not
// JSON.
func decodeJSON(b []byte) (any, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' && b[0] != '[' {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, false
	}
	if d.More() {
		return nil, false
	}
	if tooDeep(v, 0) {
		return nil, false
	}
	return v, true
}

func tooDeep(v any, depth int) bool {
	if depth > maxDepth {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if tooDeep(e, depth+1) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if tooDeep(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// sigV4Query are the query parameters of a presigned request: never
// operation parameters.
var sigV4Query = []string{"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
	"x-amz-signedheaders", "x-amz-signature", "x-amz-security-token", "x-amz-user-agent"}

func isSigV4Query(k string) bool { return slices.Contains(sigV4Query, strings.ToLower(k)) }

// formNode is a query-protocol parameter path being rebuilt.
type formNode struct {
	value    *string
	children map[string]*formNode
}

// rebuildForm turns flattened query-protocol parameters into nested
// values: "Tags.member.1.Key" → {"Tags": [{"Key": …}]}, numbered children
// become lists (in index order), "member"/"item" wrappers are dropped and
// "entry.N.key/value" pairs become maps. Keys keep their wire spelling.
func rebuildForm(vals url.Values) map[string]any {
	root := &formNode{}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" || len(vals[k]) == 0 {
			continue
		}
		v := vals[k][0]
		n := root
		parts := strings.Split(k, ".")
		if len(parts) > maxDepth {
			parts = []string{k}
		}
		for _, p := range parts {
			if n.children == nil {
				n.children = map[string]*formNode{}
			}
			c := n.children[p]
			if c == nil {
				c = &formNode{}
				n.children[p] = c
			}
			n = c
		}
		n.value = &v
	}
	out, _ := root.build().(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func (n *formNode) build() any {
	if len(n.children) == 0 {
		if n.value == nil {
			return ""
		}
		return *n.value
	}
	if len(n.children) == 1 {
		for k, c := range n.children {
			switch k {
			case "member", "item":
				if c.numbered() {
					return c.build()
				}
			case "entry":
				if c.numbered() {
					return c.buildMap()
				}
			}
		}
	}
	if n.numbered() {
		return n.buildList()
	}
	m := make(map[string]any, len(n.children))
	for k, c := range n.children {
		m[k] = c.build()
	}
	return m
}

func (n *formNode) numbered() bool {
	if len(n.children) == 0 {
		return false
	}
	for k := range n.children {
		if _, err := strconv.ParseUint(k, 10, 63); err != nil {
			return false
		}
	}
	return true
}

func (n *formNode) sortedIndexes() []string {
	ks := make([]string, 0, len(n.children))
	for k := range n.children {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int {
		x, _ := strconv.ParseUint(a, 10, 63)
		y, _ := strconv.ParseUint(b, 10, 63)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return strings.Compare(a, b)
	})
	return ks
}

func (n *formNode) buildList() any {
	var l []any
	for _, k := range n.sortedIndexes() {
		l = append(l, n.children[k].build())
	}
	return l
}

// buildMap builds entry.N.key / entry.N.value pairs into a map (the key
// and value element names differ by service: key/value, Name/Value…).
func (n *formNode) buildMap() any {
	m := map[string]any{}
	for _, k := range n.sortedIndexes() {
		e := n.children[k]
		var key *formNode
		var val any
		for ck, c := range e.children {
			switch strings.ToLower(ck) {
			case "key", "name":
				key = c
			case "value":
				val = c.build()
			}
		}
		if key == nil || key.value == nil {
			return n.buildList()
		}
		m[*key.value] = val
	}
	return m
}

// mergeValues adds src's keys to dst.
func mergeValues(dst map[string]any, src any) {
	if m, ok := src.(map[string]any); ok {
		for k, v := range m {
			dst[k] = v
		}
	}
}
