package server

import (
	"bytes"
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
	plain, err = readGrowing(zr, -1, limit, nil, bufs)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, false, &awsproto.Error{Code: awsproto.RequestEntityTooLargeException,
			Message: "The request body inflates to more than " + byteSize(limit) + ".", Status: http.StatusRequestEntityTooLarge}
	case err != nil:
		return nil, false, notGzip(err)
	}
	return plain, true, nil
}

func notGzip(err error) error {
	return awsproto.Errorf(awsproto.SerializationException, "The body says Content-Encoding: gzip but is not gzip data: %v", err)
}
