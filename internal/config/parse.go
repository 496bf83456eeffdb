package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxReported caps the number of problems listed in one error.
const maxReported = 50

// diag is one problem found in a file, at a line.
type diag struct {
	line int
	msg  string
}

// fileError lists the problems found in one file, each rendered as
// "<file>:<line>: <reason>".
type fileError struct {
	name  string
	diags []diag
}

func (e *fileError) Error() string {
	var b strings.Builder
	for i, d := range e.diags {
		if i == maxReported {
			fmt.Fprintf(&b, "\n%s:%d: ... and %d more problems", e.name, d.line, len(e.diags)-i)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s:%d: %s", e.name, d.line, d.msg)
	}
	return b.String()
}

func newFileError(name string, diags []diag) error {
	sort.SliceStable(diags, func(i, j int) bool { return diags[i].line < diags[j].line })
	// Drop exact duplicates (the same node reached through several aliases).
	out := diags[:0]
	for i, d := range diags {
		if i > 0 && d == diags[i-1] {
			continue
		}
		out = append(out, d)
	}
	return &fileError{name: name, diags: out}
}

// Parse parses configuration data, applies defaults for absent fields,
// expands ${VAR} references and validates the result, exactly like [Load].
// name is the file name used in error messages.
func Parse(name string, data []byte) (*Config, error) {
	cfg := Default()
	root, err := parseDocument(name, data)
	if err != nil {
		return nil, err
	}
	var diags []diag
	nodes := map[string]*yaml.Node{}
	if root != nil {
		expandEnv(root, &diags)
		w := walker{nodes: nodes, seen: map[seenKey]bool{}, diags: &diags}
		w.walk(root, reflect.TypeOf(cfg).Elem(), "")
		if len(diags) > 0 {
			return nil, newFileError(name, diags)
		}
		if err := root.Decode(cfg); err != nil {
			return nil, newFileError(name, yamlErrorDiags(err, root.Line))
		}
	}
	cfg.deriveDefaults(func(path string) bool { _, ok := nodes[path]; return ok })
	if ps := cfg.problems(); len(ps) > 0 {
		for _, p := range ps {
			diags = append(diags, diag{line: lineFor(nodes, p), msg: p.String()})
		}
		return nil, newFileError(name, diags)
	}
	return cfg, nil
}

// parseDocument parses data into the root node of its single YAML document.
// It returns nil for an empty document.
func parseDocument(name string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(name, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, newFileError(name, []diag{{line: max(extra.Line, 1), msg: "multiple YAML documents are not supported"}})
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(name, data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if isNull(root) {
		return nil, nil
	}
	return root, nil
}

var lineRE = regexp.MustCompile(`^line (\d+): `)

// syntaxError converts a yaml parse error into a fileError.
func syntaxError(name string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	if line <= 0 {
		line = badByteLine(data)
	}
	return newFileError(name, []diag{{line: line, msg: "YAML syntax error: " + msg}})
}

// badByteLine returns the line of the first byte the YAML reader rejects
// (invalid UTF-8 or a control character), or 1. The yaml package reports
// problems on the first line, and reader problems, without a line number.
func badByteLine(data []byte) int {
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return line
		case r == '\n':
			line++
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f:
			return line
		}
		i += size
	}
	return 1
}

// yamlErrorDiags converts an error from yaml decoding into diags. TypeError
// messages carry "line N: " prefixes; anything else is reported at fallback.
func yamlErrorDiags(err error, fallback int) []diag {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var ds []diag
		for _, s := range te.Errors {
			ds = append(ds, lineMessage(s, fallback))
		}
		return ds
	}
	return []diag{lineMessage(strings.TrimPrefix(err.Error(), "yaml: "), fallback)}
}

// lineMessage splits a "line N: reason" message.
func lineMessage(s string, fallback int) diag {
	if m := lineRE.FindStringSubmatch(s); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			return diag{line: n, msg: s[len(m[0]):]}
		}
	}
	return diag{line: max(fallback, 1), msg: s}
}

// resolveAlias follows alias nodes to their target (nil for a dangling alias).
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kindName describes a node's kind for error messages.
func kindName(n *yaml.Node) string {
	n = resolveAlias(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "integer " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		case "!!float":
			return "number " + n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "an unexpected node"
}

// expandEnv replaces ${NAME} references in every value scalar of the tree
// rooted at n. Aliases are not followed: their targets are part of the tree.
func expandEnv(n *yaml.Node, diags *[]diag) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			expandEnv(c, diags)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandEnv(n.Content[i], diags)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		v, err := expandString(n.Value)
		if err != nil {
			*diags = append(*diags, diag{line: n.Line, msg: err.Error()})
			return
		}
		if v == n.Value {
			return
		}
		n.Value = v
		// A plain scalar made only of references resolved as a string; let
		// the expanded value resolve as a number or boolean if it is one, so
		// that integer fields can be set from the environment too.
		if n.Style == 0 && n.Tag == "!!str" {
			switch tag := (&yaml.Node{Kind: yaml.ScalarNode, Value: v}).ShortTag(); tag {
			case "!!int", "!!float", "!!bool":
				n.Tag = tag
			}
		}
	}
}

// expandString expands ${NAME} references in s; $${ yields a literal ${.
func expandString(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf(`unterminated "${" in %q (write "$${" for a literal "${")`, s)
			}
			name := s[i+2 : i+2+end]
			if !envNameRE.MatchString(name) {
				return "", fmt.Errorf("invalid environment variable name %q", name)
			}
			v, ok := os.LookupEnv(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			b.WriteString(v)
			i += 3 + end
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), nil
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// seenKey identifies a (node, type) pair already checked, so that aliases
// are checked once and cannot make the walk loop or explode.
type seenKey struct {
	n     *yaml.Node
	t     reflect.Type
	merge bool
}

// walker checks a node tree against the Go type it will be decoded into:
// unknown and duplicate keys, and values of the wrong shape. It records the
// node found at each field path ("accounts[0].users[1].name") so that
// validation problems can be reported at the right line.
type walker struct {
	nodes map[string]*yaml.Node
	seen  map[seenKey]bool
	diags *[]diag
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (w *walker) errorf(n *yaml.Node, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	*w.diags = append(*w.diags, diag{line: max(n.Line, 1), msg: msg})
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if _, ok := w.nodes[path]; !ok {
		w.nodes[path] = n
	}
	target := resolveAlias(n)
	if target == nil {
		w.errorf(n, path, "unresolved alias")
		return
	}
	if isNull(target) {
		return // leaves the default (or zero) value
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	key := seenKey{n: target, t: t}
	if w.seen[key] {
		return
	}
	w.seen[key] = true

	if reflect.PointerTo(t).Implements(unmarshalerType) {
		if target.Kind == yaml.SequenceNode {
			for i, c := range target.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if _, ok := w.nodes[p]; !ok {
					w.nodes[p] = c
				}
			}
		}
		u := reflect.New(t).Interface().(yaml.Unmarshaler)
		if err := u.UnmarshalYAML(target); err != nil {
			for _, d := range yamlErrorDiags(err, target.Line) {
				w.errorf(&yaml.Node{Line: d.line}, path, "%s", d.msg)
			}
		}
		return
	}

	switch t.Kind() {
	case reflect.Struct:
		if target.Kind != yaml.MappingNode {
			w.errorf(target, path, "expected a mapping, got %s", kindName(target))
			return
		}
		w.mapping(target, t, path)
	case reflect.Slice:
		if target.Kind != yaml.SequenceNode {
			w.errorf(target, path, "expected a list, got %s", kindName(target))
			return
		}
		for i, c := range target.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		if target.Kind != yaml.ScalarNode {
			w.errorf(target, path, "expected a string, got %s", kindName(target))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if target.Kind != yaml.ScalarNode || target.ShortTag() != "!!int" {
			w.errorf(target, path, "expected an integer, got %s", kindName(target))
			return
		}
		if _, err := strconv.ParseInt(strings.ReplaceAll(target.Value, "_", ""), 0, t.Bits()); err != nil {
			w.errorf(target, path, "integer %s is out of range", target.Value)
		}
	case reflect.Float32, reflect.Float64:
		if target.Kind != yaml.ScalarNode || (target.ShortTag() != "!!int" && target.ShortTag() != "!!float") {
			w.errorf(target, path, "expected a number, got %s", kindName(target))
		}
	}
}

// mapping checks the keys of mapping node n against struct type t.
func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) {
	fields, names := structFields(t)
	defined := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			w.merge(k, v, t, path)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.errorf(k, path, "expected a field name, got %s", kindName(k))
			continue
		}
		f, ok := fields[k.Value]
		if !ok {
			where := ""
			if path != "" {
				where = " in " + path
			}
			*w.diags = append(*w.diags, diag{line: max(k.Line, 1), msg: fmt.Sprintf(
				"unknown field %q%s (expected one of: %s)", k.Value, where, strings.Join(names, ", "))})
			continue
		}
		if prev, dup := defined[k.Value]; dup {
			w.errorf(k, path, "field %q is defined twice (first at line %d)", k.Value, prev)
			continue
		}
		defined[k.Value] = k.Line
		child := joinPath(path, k.Value)
		if _, ok := w.nodes[child]; !ok {
			// Report problems with a field at its key: for a block mapping
			// or list value, that is the line naming the field.
			w.nodes[child] = k
		}
		w.walk(v, f.Type, child)
	}
}

// merge checks the value of a "<<" merge key.
func (w *walker) merge(k, v *yaml.Node, t reflect.Type, path string) {
	check := func(m *yaml.Node) {
		m = resolveAlias(m)
		if m == nil || m.Kind != yaml.MappingNode {
			w.errorf(k, path, "merge key needs a mapping or a list of mappings")
			return
		}
		key := seenKey{n: m, t: t, merge: true}
		if w.seen[key] {
			return
		}
		w.seen[key] = true
		w.mapping(m, t, path)
	}
	if rv := resolveAlias(v); rv != nil && rv.Kind == yaml.SequenceNode {
		for _, c := range rv.Content {
			check(c)
		}
		return
	}
	check(v)
}

func joinPath(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

// structFields maps the YAML keys of struct type t to its fields, and lists
// the keys in declaration order.
func structFields(t reflect.Type) (map[string]reflect.StructField, []string) {
	fields := map[string]reflect.StructField{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f
		names = append(names, name)
	}
	return fields, names
}

// lineFor finds the line to report a validation problem at: the node at the
// problem's path, else at its alternative path, else at the nearest
// enclosing path that appears in the file.
func lineFor(nodes map[string]*yaml.Node, p problem) int {
	if n, ok := nodes[p.path]; ok {
		return max(n.Line, 1)
	}
	if p.alt != "" {
		if n, ok := nodes[p.alt]; ok {
			return max(n.Line, 1)
		}
	}
	for path := p.path; path != ""; {
		path = parentPath(path)
		if n, ok := nodes[path]; ok {
			return max(n.Line, 1)
		}
	}
	return 1
}

// parentPath strips the last component of a field path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
