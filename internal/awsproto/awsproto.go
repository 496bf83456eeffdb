// Package awsproto is the AWS wire plumbing shared by every operation: the
// JSON 1.1 target names, request decoding, epoch-second timestamps, and the
// typed API errors with their {"__type","Message"} encoding, so that AWS SDKs
// and the AWS CLI raise their own typed errors.
package awsproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// TargetPrefix is CloudTrail's full JSON 1.1 target prefix, as botocore sends it.
const TargetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."

// ShortTargetPrefix is the prefix aws-sdk-go-v2 and the JS SDK v3 send.
const ShortTargetPrefix = "CloudTrail_20131101."

// Operation extracts the operation name from an X-Amz-Target header,
// accepting both spellings of the prefix.
func Operation(target string) (string, bool) {
	for _, p := range []string{TargetPrefix, ShortTargetPrefix} {
		if op, ok := strings.CutPrefix(target, p); ok && op != "" {
			return op, true
		}
	}
	return "", false
}

// Error is an API error in the AWS shape.
type Error struct {
	Code    Code
	Message string
	Status  int
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf makes a client error (HTTP 400, as AWS JSON protocols answer them).
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// Common errors.
func Internal() *Error {
	return &Error{Code: InternalFailure, Message: "The request processing has failed because of an unknown error.", Status: http.StatusInternalServerError}
}

// Unavailable says the service cannot take the request now; nothing was done.
func Unavailable(msg string) *Error {
	return &Error{Code: ServiceUnavailableException, Message: msg, Status: http.StatusServiceUnavailable}
}

// As returns err as an *Error, mapping anything else to InternalFailure.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal()
}

// WriteError writes err in the AWS JSON error shape.
func WriteError(w http.ResponseWriter, requestID string, err error) {
	e := As(err)
	body, _ := json.Marshal(struct {
		Type    Code   `json:"__type"`
		Message string `json:"Message"`
	}{e.Code, e.Message})
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-ErrorType", string(e.Code))
	if requestID != "" {
		h.Set("X-Amzn-RequestId", requestID)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}

// Appender is a response that writes its own JSON: AppendJSON appends to
// b exactly what json.Marshal would make of it, without reflection.
type Appender interface {
	AppendJSON(b []byte) []byte
}

// bodies recycles the buffers of Appender responses (a LookupEvents page
// is up to 50 full records).
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBody bounds the buffers kept for reuse.
const maxPooledBody = 1 << 20

// WriteJSON writes a successful JSON 1.1 response.
func WriteJSON(w http.ResponseWriter, requestID string, v any) {
	var body []byte
	if a, ok := v.(Appender); ok {
		buf := bodies.Get().(*[]byte)
		body = a.AppendJSON((*buf)[:0])
		defer func() {
			if cap(body) <= maxPooledBody {
				*buf = body
				bodies.Put(buf)
			}
		}()
	} else {
		var err error
		if body, err = json.Marshal(v); err != nil {
			WriteError(w, requestID, Internal())
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	if requestID != "" {
		h.Set("X-Amzn-RequestId", requestID)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// Decode reads a request body into v. An empty body is an empty request. A
// body that is not the operation's JSON shape is a SerializationException.
func Decode(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Errorf(SerializationException, "Field %s has the wrong type: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return Errorf(SerializationException, "The request body is not valid JSON for this operation: %v", err)
	}
	return nil
}

// Time is a timestamp in the JSON protocol's form: epoch seconds. It accepts
// numbers (integer or fractional) and, as AWS does, ISO 8601 strings.
type Time struct{ time.Time }

// MarshalJSON writes epoch seconds with millisecond precision.
func (t Time) MarshalJSON() ([]byte, error) {
	return t.AppendJSON(nil), nil
}

// AppendJSON appends what MarshalJSON writes.
func (t Time) AppendJSON(b []byte) []byte {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return append(strconv.AppendInt(b, ms/1000, 10), ".0"...)
	}
	return strconv.AppendFloat(b, float64(ms)/1000, 'f', 3, 64)
}

// AppendString appends s as a JSON string exactly as json.Marshal writes
// it: HTML-sensitive characters, control characters, U+2028 and U+2029
// escaped, invalid UTF-8 replaced by U+FFFD.
//
// It is on the path of every LookupEvents answer, whose events each carry a
// whole CloudTrail record (compact JSON, a quote every few bytes) as a
// string. So it grows b once, skips plain bytes eight at a time, copies each
// run of them with one append, and tells what a byte needs from a table.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	// Records need about one escape in ten bytes.
	b = slices.Grow(b, len(s)+len(s)/8+2)
	b = append(b, '"')
	start, i := 0, 0
	for {
		// Skip plain bytes. Eight at a time only once the run has begun:
		// escapes come in a row often enough (\" in a record that holds
		// JSON text) that testing a word for each costs more than it saves.
		if i < len(s) && strEscape[s[i]] == 0 {
			i++
			for i+8 <= len(s) {
				if m := attention(load64(s, i)); m != 0 {
					i += bits.TrailingZeros64(m) / 8
					break
				}
				i += 8
			}
		}
		for i < len(s) && strEscape[s[i]] == 0 {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		e := strEscape[c]
		if e > escHex { // the common case: '"'
			b = append(b, s[start:i]...)
			b = append(b, '\\', e)
			i++
			start = i
			continue
		}
		if e == escHex {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			i++
			start = i
			continue
		}
		// Bytes of 0x80 and above, up to the next ASCII byte: UTF-8 is
		// copied, but for U+2028 and U+2029, and any other byte becomes
		// U+FFFD. The lead bytes that any continuation bytes make valid
		// (C2..DF, E1..EC, EE, EF) are tested here; the rest (E0 and ED
		// take a narrower second byte, F0..F4 a narrower one and three
		// more) and bytes that lead nothing are left to utf8.
		for {
			if c := s[i]; 0xC2 <= c && c <= 0xDF && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
				i += 2 // U+0080..U+07FF
			} else if 0xE1 <= c && c <= 0xEF && c != 0xED && i+2 < len(s) &&
				s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 &&
				(c != 0xE2 || s[i+1] != 0x80 || s[i+2]&^1 != 0xA8) {
				i += 3 // U+1000..U+FFFF but U+D000..U+DFFF, U+2028, U+2029
			} else {
				r, size := utf8.DecodeRuneInString(s[i:])
				if size == 1 || r == '\u2028' || r == '\u2029' {
					b = append(b, s[start:i]...)
					if size == 1 {
						b = append(b, `\ufffd`...)
					} else {
						b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
					}
					start = i + size
				}
				i += size
			}
			if i == len(s) || s[i] < utf8.RuneSelf {
				break
			}
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// What strEscape says of the bytes that are not copied as they are and not
// written as a backslash and a letter.
const (
	escMulti = 1 // 0x80 and above: the first of a multi-byte rune, or not UTF-8
	escHex   = 2 // written as \u00XX
)

// strEscape says what AppendString does with each byte: 0 copies it; '"',
// '\\', 'b', 'f', 'n', 'r' and 't' write that letter after a backslash;
// escHex and escMulti are as they say. json.Marshal escapes the control
// characters, '"', '\\', and the HTML-sensitive '<', '>' and '&'; DEL
// (0x7F) it copies.
var strEscape = func() (t [256]byte) {
	for c := range 0x20 {
		t[c] = escHex
	}
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = 'b', 'f', 'n', 'r', 't'
	t['"'], t['\\'] = '"', '\\'
	t['<'], t['>'], t['&'] = escHex, escHex, escHex
	for c := utf8.RuneSelf; c < len(t); c++ {
		t[c] = escMulti
	}
	return t
}()

// load64 reads s[i:i+8] as a little-endian word: byte i is the low byte.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// attention sets the high bit of the lowest byte of x that strEscape does
// not say to copy: a control character, '"', '\\', '<', '>', '&', or a byte
// of 0x80 or more. It may set high bits of bytes above that one too, but
// never of bytes below it; it is zero if all eight bytes are plain.
//
// Each test subtracts from every byte of a word at once and keeps the bytes
// whose high bit the subtraction set where x's was clear: x-0x20 sets it in
// the bytes below 0x20, and y-0x01 in the zero bytes of y, where y is x with
// a bit forced on and the rest compared: (x|0x04)^0x26 is zero for '"'
// (0x22) and '&' (0x26), (x|0x02)^0x3E for '<' (0x3C) and '>' (0x3E),
// x^0x5C for '\\'. A subtraction borrows out of a byte only if it flags that
// byte, so the bytes below the lowest flagged one come out clear.
func attention(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quoteAmp := (x | 0x04*ones) ^ 0x26*ones
	angle := (x | 0x02*ones) ^ 0x3E*ones
	backslash := x ^ '\\'*ones
	low := (x - 0x20*ones) | (quoteAmp - ones) | (angle - ones) | (backslash - ones)
	return (x | low&^x) & highs
}

// UnmarshalJSON reads epoch seconds or an ISO 8601 string.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || v.Year() < 1 || v.Year() > 9999 {
			return fmt.Errorf("timestamp %q is not epoch seconds or ISO 8601", s)
		}
		if v.Before(minTime) {
			return fmt.Errorf("timestamp %q is out of range", s)
		}
		t.Time = v.UTC()
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < float64(minTime.Unix()) || f >= 253402300800 {
		return fmt.Errorf("timestamp %s is not valid epoch seconds", b)
	}
	sec, frac := math.Modf(f)
	v := time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC()
	if v.Year() > 9999 {
		// Rounding to the millisecond carried it past the last second.
		return fmt.Errorf("timestamp %s is not valid epoch seconds", b)
	}
	t.Time = v
	return nil
}

// minTime is the earliest timestamp accepted: year 1.
var minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)

// NewTime wraps t for the wire; a zero time stays nil.
func NewTime(t time.Time) *Time {
	if t.IsZero() {
		return nil
	}
	return &Time{t}
}
