package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/cairn-audit/cairn/internal/awsproto"
)

// An ingest body may come gzip'd (Content-Encoding: gzip), as CloudTrail
// writes its log files: `cairn import` sends an archive's files as they
// are, so neither side gunzips, splits and joins them again. The
// signature covers the bytes sent (the compressed body); the limit on a
// body holds for both the bytes sent and the bytes they inflate to.

// gzipReaders keeps inflaters for the next compressed bodies.
var gzipReaders sync.Pool

// inflateBody returns the body of r as the ingest API reads it: body
// itself, or its inflation when r says it is gzip'd, in a buffer of bufs
// (the caller puts it back once nothing reads it). A body that inflates
// past limit, or is not gzip, is refused.
func inflateBody(r *http.Request, body []byte, limit int64, bufs *bodyBuffers) (plain []byte, inflated bool, err error) {
	enc := strings.TrimSpace(r.Header.Get("Content-Encoding"))
	switch {
	case enc == "" || strings.EqualFold(enc, "identity"):
		return body, false, nil
	case !strings.EqualFold(enc, "gzip"):
		return nil, false, awsproto.Errorf(awsproto.SerializationException,
			"Content-Encoding %q is not supported: send the body as it is, or gzip'd (Content-Encoding: gzip).", enc)
	}
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var rerr error
	if zr == nil {
		zr, rerr = gzip.NewReader(bytes.NewReader(body))
	} else {
		rerr = zr.Reset(bytes.NewReader(body))
	}
	if rerr != nil {
		return nil, false, notGzip(rerr)
	}
	defer gzipReaders.Put(zr)
	plain, err = readGrowingFrom(zr, bufs.grow(nil, inflatedBuffer(body, limit)), -1, limit, nil, bufs)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, false, &awsproto.Error{Code: awsproto.RequestEntityTooLargeException,
			Message: "The request body inflates to more than " + byteSize(limit) + ".", Status: http.StatusRequestEntityTooLarge}
	case err != nil:
		return nil, false, notGzip(err)
	}
	return plain, true, nil
}

// inflatedBuffer is the capacity to inflate body into: the smallest kept
// buffer size above what its gzip trailer says it inflates to (ISIZE, the
// length mod 2^32), so that a log file is inflated without growing through
// the smaller sizes (a copy each; 1 % of the server's CPU in an import). The
// trailer is only a claim: a size at or past limit gives no hint, and a
// wrong one only means the buffer grows as without it.
func inflatedBuffer(body []byte, limit int64) int {
	if len(body) < 18 { // a gzip header and trailer
		return 0
	}
	n := int64(binary.LittleEndian.Uint32(body[len(body)-4:]))
	for i := range bodyBufferSizes {
		if c := int64(firstBodyBuffer) << i; c > n {
			if c > limit {
				return 0
			}
			return int(c)
		}
	}
	return 0
}

func notGzip(err error) error {
	return awsproto.Errorf(awsproto.SerializationException, "The body says Content-Encoding: gzip but is not gzip data: %v", err)
}
