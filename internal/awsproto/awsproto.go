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
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
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
