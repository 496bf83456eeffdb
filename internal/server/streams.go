package server

import (
	"context"

	"github.com/cairn-audit/cairn/internal/awsproto"
	"github.com/cairn-audit/cairn/internal/stream"
)

// StreamViews reports an account's streaming destinations and their status
// (the stream engine).
type StreamViews interface {
	Views(ctx context.Context, account string) ([]stream.View, error)
}

// StreamsInput is what a Streams call asks for: the caller's account's
// destinations. It is what the call's audit record's requestParameters say.
type StreamsInput struct {
	StreamDestinations bool
}

// Streams lists the streaming destinations of who's account — its trails'
// log groups and its event buses' targets — with their status, for the
// console's Streams page. It is a DescribeTrails call (it reads the
// account's delivery settings): it needs cloudtrail:DescribeTrails, counts
// against the same rates, and is recorded as DescribeTrails with
// requestParameters {"streamDestinations": true}.
func (s *Server) Streams(ctx context.Context, who Caller) ([]stream.View, error) {
	return invokeTyped(ctx, s, who, "DescribeTrails", StreamsInput{StreamDestinations: true}, s.streamViews)
}

func (s *Server) streamViews(ctx context.Context, c *call, _ StreamsInput) ([]stream.View, error) {
	if s.opts.Streams == nil {
		return nil, awsproto.Errorf(awsproto.UnsupportedOperationException, "This server has no streaming destinations.")
	}
	return s.opts.Streams.Views(ctx, c.principal.Account)
}
