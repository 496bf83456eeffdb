package store

import (
	"context"
	"sync"

	"github.com/cairn-audit/cairn/internal/event"
)

// MaxGroup bounds how many events one group commit writes.
const MaxGroup = 20000

// AppendRequest is one caller's events waiting for a group commit.
type AppendRequest struct {
	Events []*event.Event
	// Prepared is what the backend derived from the events in the
	// caller's goroutine, before the commit, so that the one writing
	// goroutine does less (nil if nothing).
	Prepared any
	// Results is filled by the commit function, one per event.
	Results []AppendResult
	err     error
	done    chan struct{}
}

// GroupCommitter is a backend's one writing goroutine: it gathers every
// append waiting at the time into one call of commit (one transaction, one
// fsync), and tells each caller the verdict of that commit.
type GroupCommitter struct {
	reqs   chan *AppendRequest
	quit   chan struct{}
	done   chan struct{}
	commit func(group []*AppendRequest) error
	once   sync.Once
}

// NewGroupCommitter starts the writer. commit writes the group as a whole
// (filling each request's Results) or fails it as a whole.
func NewGroupCommitter(commit func(group []*AppendRequest) error) *GroupCommitter {
	g := &GroupCommitter{reqs: make(chan *AppendRequest, 1024), quit: make(chan struct{}),
		done: make(chan struct{}), commit: commit}
	go g.run()
	return g
}

// Append queues events and waits for the commit that writes them.
func (g *GroupCommitter) Append(ctx context.Context, events []*event.Event) ([]AppendResult, error) {
	return g.AppendPrepared(ctx, events, nil)
}

// AppendPrepared is Append with what the backend derived from the events
// beforehand (the request's Prepared).
func (g *GroupCommitter) AppendPrepared(ctx context.Context, events []*event.Event, prepared any) ([]AppendResult, error) {
	req := &AppendRequest{Events: events, Prepared: prepared, done: make(chan struct{})}
	select {
	case g.reqs <- req:
	case <-g.quit:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued the request is written or failed as a whole; wait for the
	// verdict even if the caller gives up, so that it is never half known.
	<-req.done
	return req.Results, req.err
}

func (g *GroupCommitter) run() {
	defer close(g.done)
	for {
		var first *AppendRequest
		select {
		case first = <-g.reqs:
		case <-g.quit:
			g.failPending()
			return
		}
		group := []*AppendRequest{first}
		n := len(first.Events)
	gather:
		for n < MaxGroup {
			select {
			case r := <-g.reqs:
				group = append(group, r)
				n += len(r.Events)
			default:
				break gather
			}
		}
		err := g.commit(group)
		for _, r := range group {
			if err != nil {
				r.Results, r.err = nil, err
			}
			close(r.done)
		}
	}
}

func (g *GroupCommitter) failPending() {
	for {
		select {
		case r := <-g.reqs:
			r.err = ErrClosed
			close(r.done)
		default:
			return
		}
	}
}

// Close stops the writer after its current commit; appends still queued
// fail with ErrClosed.
func (g *GroupCommitter) Close() {
	g.once.Do(func() {
		close(g.quit)
		<-g.done
	})
}
