package console

import (
	"context"

	"github.com/cairn-audit/cairn/internal/server"
	"github.com/cairn-audit/cairn/internal/stream"
)

// Streams answers no destinations (the page's test is end to end).
func (f *fakeAPI) Streams(ctx context.Context, who server.Caller) ([]stream.View, error) {
	_, err := f.enter("DescribeTrails", who, server.StreamsInput{StreamDestinations: true})
	return nil, err
}
