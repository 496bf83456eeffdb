package importer

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Progress shows an import's progress: on a terminal one line rewritten in
// place (files, events, events/s, ETA); otherwise a plain line every
// Interval.
type Progress struct {
	W        io.Writer
	TTY      bool
	Interval time.Duration
	Stats    *Stats
	// What names the units ("files", "windows").
	What string

	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Start begins showing progress until Stop.
func (p *Progress) Start() {
	p.start = time.Now()
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	if p.Interval <= 0 {
		p.Interval = 10 * time.Second
		if p.TTY {
			p.Interval = 250 * time.Millisecond
		}
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.Interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				if p.TTY {
					fmt.Fprint(p.W, "\r\033[K")
				}
				return
			case <-t.C:
				p.show()
			}
		}
	}()
}

// Stop ends the display (clearing the terminal line).
func (p *Progress) Stop() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.done
}

// show prints one progress line.
func (p *Progress) show() {
	s := p.Stats
	total := s.UnitsTotal.Load()
	earlier := s.UnitsEarlier.Load()
	done := s.UnitsDone.Load() + s.UnitsFailed.Load()
	events := s.Events.Load()
	el := time.Since(p.start)
	rate := float64(s.Accepted.Load()+s.Refused.Load()) / max(el.Seconds(), 1e-3)
	eta := "?"
	if todo := total - earlier; done > 0 && todo > done {
		eta = (time.Duration(float64(el) / float64(done) * float64(todo-done))).Round(time.Second).String()
	} else if todo == done {
		eta = "0s"
	}
	what := p.What
	if what == "" {
		what = "files"
	}
	if p.TTY {
		pct := 1.0
		if total > 0 {
			pct = float64(done+earlier) / float64(total)
		}
		const width = 24
		n := int(pct * width)
		bar := strings.Repeat("█", n) + strings.Repeat("░", width-n)
		fmt.Fprintf(p.W, "\r\033[K%s %3.0f%% %d/%d %s  %d events  %.0f events/s  ETA %s",
			bar, pct*100, done+earlier, total, what, events, rate, eta)
		return
	}
	fmt.Fprintf(p.W, "progress: %d/%d %s, %d events read, %d accepted, %d refused, %.0f events/s, elapsed %s, ETA %s\n",
		done+earlier, total, what, events, s.Accepted.Load(), s.Refused.Load(), rate, el.Round(time.Second), eta)
}
