package lakesql

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind is the class of a token.
type tokKind int

const (
	tokEOF        tokKind = iota
	tokIdent              // a bare identifier or keyword
	tokQIdent             // a "double-quoted" identifier
	tokString             // a 'single-quoted' string
	tokNumber             // an integer or decimal number
	tokDigitIdent         // a word that starts with a digit and is no number (1x)
	tokOp                 // punctuation and operators
)

// token is one lexical unit with where it starts in the statement.
type token struct {
	kind tokKind
	text string // identifier (as written), string value, number text, operator
	pos  int    // byte offset of the token's first byte
	end  int    // byte offset just past the token
}

// SyntaxError is the error for a statement that Lake's SQL refuses: bad
// syntax, an unknown column or function, a type mismatch. The API answers it
// with InvalidQueryStatementException, its Msg saying what is wrong where.
type SyntaxError struct {
	Line, Column int // 1-based position of the problem in the statement
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d:%d: %s", e.Line, e.Column, e.Msg)
}

// errAt builds a SyntaxError for byte offset pos of src.
func errAt(src string, pos int, format string, args ...any) *SyntaxError {
	if pos > len(src) {
		pos = len(src)
	}
	line, col := 1, 1
	for _, r := range src[:pos] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// maxStatement bounds the statement length the parser reads (Lake's own
// limit on QueryStatement is 10,000 characters).
const maxStatement = 10000

// lex splits src into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && strings.HasPrefix(src[i:], "--"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				return nil, errAt(src, i, "unterminated comment")
			}
			i += j + 4
		case uuidAt(src, i) > i:
			// A store ID such as 4945e2ab-…: one token, so that a message
			// about it names it whole rather than a number it starts with.
			j := uuidAt(src, i)
			toks = append(toks, token{tokIdent, src[i:j], i, j})
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, src[i:j], i, j})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := scanNumber(src, i)
			if k := identRun(src, i); k > j {
				// 1x, 0x10, 1_000, 1e5x: Trino reads a digit followed by
				// letters, digits and underscores, longer than the number
				// it starts, as one word, an identifier it refuses — not
				// a number followed by an alias x10. (Such a word may be
				// part of a store name, which the parser reads whole.)
				toks = append(toks, token{tokDigitIdent, src[i:k], i, k})
				i = k
				continue
			}
			toks = append(toks, token{tokNumber, src[i:j], i, j})
			i = j
		case c == '\'':
			s, j, err := scanQuoted(src, i, '\'')
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tokString, s, i, j})
			i = j
		case c == '"' || c == '`':
			s, j, err := scanQuoted(src, i, c)
			if err != nil {
				return nil, err
			}
			if s == "" {
				return nil, errAt(src, i, "zero-length delimited identifier")
			}
			toks = append(toks, token{tokQIdent, s, i, j})
			i = j
		default:
			op := ""
			for _, o := range []string{"<>", "!=", "<=", ">=", "||", "=>"} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" && strings.IndexByte("=<>+-*/%(),.;[]:", c) >= 0 {
				op = src[i : i+1]
			}
			if op == "" {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, errAt(src, i, "mismatched input '%c'", r)
			}
			toks = append(toks, token{tokOp, op, i, i + len(op)})
			i += len(op)
		}
	}
	toks = append(toks, token{tokEOF, "", len(src), len(src)})
	return toks, nil
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '@'
}

// scanNumber returns the end of the number starting at i: digits, an
// optional fraction, an optional exponent (only when digits follow it).
// identRun is the end of the run of ASCII letters, digits and
// underscores from i.
func identRun(src string, i int) int {
	for i < len(src) {
		c := src[i] | 0x20
		if !(c >= 'a' && c <= 'z' || src[i] >= '0' && src[i] <= '9' || src[i] == '_') {
			break
		}
		i++
	}
	return i
}

func scanNumber(src string, i int) int {
	digits := func(j int) int {
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
		}
		return j
	}
	j := digits(i)
	if j < len(src) && src[j] == '.' {
		j = digits(j + 1)
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && src[k] >= '0' && src[k] <= '9' {
			j = digits(k)
		}
	}
	return j
}

// scanQuoted reads a string delimited by q starting at i, where a doubled
// delimiter stands for one; it returns the value and the end offset.
func scanQuoted(src string, i int, q byte) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for {
		k := strings.IndexByte(src[j:], q)
		if k < 0 {
			return "", 0, errAt(src, i, "unterminated quoted text")
		}
		b.WriteString(src[j : j+k])
		j += k + 1
		if j < len(src) && src[j] == q {
			b.WriteByte(q)
			j++
			continue
		}
		return b.String(), j, nil
	}
}

// uuidAt returns the end of the UUID-shaped word (8-4-4-4-12 hex digits,
// then no further identifier character) at offset i, or i when there is
// none.
func uuidAt(src string, i int) int {
	j := i
	for g, n := range []int{8, 4, 4, 4, 12} {
		if g > 0 {
			if j >= len(src) || src[j] != '-' {
				return i
			}
			j++
		}
		for k := 0; k < n; k++ {
			if j >= len(src) || !isHex(src[j]) {
				return i
			}
			j++
		}
	}
	if j < len(src) && (isIdentPart(src[j]) || src[j] == '-') {
		return i
	}
	return j
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanStoreName reads an event data store name at offset i as Lake users
// write it after FROM: an ID or an ARN, unquoted (letters, digits, '-',
// '_', ':', '/'). It returns the end offset, i when there is none.
func scanStoreName(src string, i int) int {
	j := i
	for j < len(src) {
		c := src[j]
		if isIdentPart(c) || c == '-' || c == ':' || c == '/' {
			j++
			continue
		}
		break
	}
	return j
}
