package awsop

import (
	"net/url"
	"strconv"
	"strings"
	"sync"
)

//go:generate go run ./internal/gen -out models_gen.go

// modelSrc is one botocore service model as the generator writes it.
//
// ops has one line per operation: the name, then space-separated tokens
//
//	M=METHOD  U=/request/{Uri}?literal  (rest-json and rest-xml only; every
//	          operation of those is listed)
//	r=q:name,h:name   required query-string / header members (they tell
//	                  operations sharing a route apart)
//	q=wire:Member,…   query-string members whose name differs from the wire
//	h=wire:Member,…   header members (wire name lower-case)
//	l=Label:Member,…  URI labels whose member name differs
//	p=Name            the body is this one structure member (rest protocols)
//	b                 the body is a blob or string member (data, not parameters)
//	d                 deprecated
//	i=N / o=N         node of the input / output (output only for operations
//	                  that are not read-only)
//
// Operations of json, query, ec2 and cbor services are listed only when
// they have an i or o token.
//
// nodes has one line per node, numbered from 0: "x" sensitive, "d"
// document, "m N" map with value node N, "l N" list with element node N,
// "s key:N,…" structure with the relevant members (keys are wire names with
// the first letter lowered). N is -1 for none.
type modelSrc struct {
	name, protocol, signingName, endpointPrefix, targetPrefix, apiVersion, globalEndpoint string
	ops, nodes                                                                            string
}

// Protocols of the models.
const (
	protoJSON     = "json"
	protoRestJSON = "rest-json"
	protoRestXML  = "rest-xml"
	protoQuery    = "query"
	protoEC2      = "ec2"
	protoCBOR     = "smithy-rpc-v2-cbor"
)

// node is a shape reduced to what matters for recording it.
type node struct {
	kind    byte // 's' structure, 'l' list, 'm' map, 'x' sensitive, 'd' document
	members map[string]*node
	elem    *node
}

// svcModel is a parsed modelSrc.
type svcModel struct {
	src    *modelSrc
	ops    map[string]*opInfo
	routes []*route
}

// signing is the name SigV4 scopes carry for the service.
func (m *modelSrc) signing() string {
	if m.signingName != "" {
		return m.signingName
	}
	return m.endpointPrefix
}

func (m *modelSrc) rest() bool { return m.protocol == protoRestJSON || m.protocol == protoRestXML }

// opInfo is one operation of a model.
type opInfo struct {
	name       string
	method     string
	uri        string
	required   []string // "q:name" or "h:name"
	query      map[string]string
	headers    map[string]string
	labels     map[string]string
	payload    string
	blobBody   bool
	deprecated bool
	in, out    *node
}

// route is a rest operation's requestUri, split for matching.
type route struct {
	op      *opInfo
	model   *svcModel
	segs    []string // literal, "{Label}" or "{Label+}"
	slash   bool     // the template ends with "/"
	literal []queryLiteral
}

type queryLiteral struct {
	key, value string
	hasValue   bool
}

var (
	indexOnce   sync.Once
	bySigning   map[string][]*modelSrc
	byTarget    map[string][]*modelSrc
	byEndpoint  map[string][]*modelSrc
	parsedMu    sync.Mutex
	parsedCache = map[*modelSrc]*svcModel{}
)

func buildIndex() {
	bySigning = map[string][]*modelSrc{}
	byTarget = map[string][]*modelSrc{}
	byEndpoint = map[string][]*modelSrc{}
	for i := range modelTable {
		m := &modelTable[i]
		s := m.signing()
		// The model named like its signing name goes first (rds before
		// docdb and neptune, s3 before s3control).
		if m.name == s {
			bySigning[s] = append([]*modelSrc{m}, bySigning[s]...)
		} else {
			bySigning[s] = append(bySigning[s], m)
		}
		if m.targetPrefix != "" {
			byTarget[m.targetPrefix] = append(byTarget[m.targetPrefix], m)
		}
		byEndpoint[m.endpointPrefix] = append(byEndpoint[m.endpointPrefix], m)
	}
}

// modelsFor returns the models signed with the service name.
func modelsFor(service string) []*modelSrc {
	indexOnce.Do(buildIndex)
	return bySigning[service]
}

func modelsForTarget(prefix string) []*modelSrc {
	indexOnce.Do(buildIndex)
	return byTarget[prefix]
}

func modelsForEndpoint(prefix string) []*modelSrc {
	indexOnce.Do(buildIndex)
	return byEndpoint[prefix]
}

// parsed returns the model's tables, parsing them on first use.
func parsed(m *modelSrc) *svcModel {
	parsedMu.Lock()
	defer parsedMu.Unlock()
	if p, ok := parsedCache[m]; ok {
		return p
	}
	p := parseModel(m)
	parsedCache[m] = p
	return p
}

func parseModel(m *modelSrc) *svcModel {
	nodes := parseNodes(m.nodes)
	at := func(s string) *node {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= len(nodes) {
			return nil
		}
		return nodes[i]
	}
	p := &svcModel{src: m, ops: map[string]*opInfo{}}
	for line := range strings.SplitSeq(m.ops, "\n") {
		toks := strings.Fields(line)
		if len(toks) == 0 {
			continue
		}
		op := &opInfo{name: toks[0]}
		for _, t := range toks[1:] {
			k, v, _ := strings.Cut(t, "=")
			switch k {
			case "M":
				op.method = v
			case "U":
				op.uri = v
			case "r":
				op.required = strings.Split(v, ",")
			case "q":
				op.query = pairs(v)
			case "h":
				op.headers = pairs(v)
			case "l":
				op.labels = pairs(v)
			case "p":
				op.payload = v
			case "d":
				op.deprecated = true
			case "b":
				op.blobBody = true
			case "i":
				op.in = at(v)
			case "o":
				op.out = at(v)
			}
		}
		p.ops[op.name] = op
		if op.method != "" {
			p.routes = append(p.routes, newRoute(p, op))
		}
	}
	return p
}

func pairs(v string) map[string]string {
	m := map[string]string{}
	for kv := range strings.SplitSeq(v, ",") {
		k, v, _ := strings.Cut(kv, ":")
		m[k] = v
	}
	return m
}

func parseNodes(src string) []*node {
	if src == "" {
		return nil
	}
	lines := strings.Split(src, "\n")
	nodes := make([]*node, len(lines))
	for i := range nodes {
		nodes[i] = &node{}
	}
	at := func(s string) *node {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= len(nodes) {
			return nil
		}
		return nodes[i]
	}
	for i, line := range lines {
		n := nodes[i]
		kind, rest, _ := strings.Cut(line, " ")
		if kind == "" {
			continue
		}
		n.kind = kind[0]
		switch n.kind {
		case 'l', 'm':
			n.elem = at(rest)
		case 's':
			n.members = map[string]*node{}
			if rest == "" {
				continue
			}
			for kv := range strings.SplitSeq(rest, ",") {
				k, v, _ := strings.Cut(kv, ":")
				if c := at(v); c != nil {
					n.members[k] = c
				}
			}
		}
	}
	return nodes
}

func newRoute(m *svcModel, op *opInfo) *route {
	r := &route{op: op, model: m}
	path, query, _ := strings.Cut(op.uri, "?")
	r.slash = len(path) > 1 && strings.HasSuffix(path, "/")
	for s := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if s != "" {
			r.segs = append(r.segs, s)
		}
	}
	if query != "" {
		for kv := range strings.SplitSeq(query, "&") {
			k, v, has := strings.Cut(kv, "=")
			if k, err := url.QueryUnescape(k); err == nil && k != "" {
				r.literal = append(r.literal, queryLiteral{key: k, value: v, hasValue: has})
			}
		}
	}
	return r
}
