package config

import "time"

// Tail bounds the live tail (GET /v1/stream, cairn tail, the console's
// Live mode).
type Tail struct {
	// MaxStreams bounds the streams open on one server at once;
	// MaxStreamsPerKey those of one access key (console sessions count
	// against the key they signed in with). Beyond them a stream is
	// refused with HTTP 429.
	MaxStreams       int `yaml:"max_streams"`
	MaxStreamsPerKey int `yaml:"max_streams_per_key"`
	// Heartbeat is how long a stream stays silent before a keep-alive
	// comment, so that proxies keep it open.
	Heartbeat Duration `yaml:"heartbeat"`
}

// Bounds of the tail section.
const (
	maxTailStreams   = 100000
	minTailHeartbeat = time.Second
	maxTailHeartbeat = 5 * time.Minute
)

// defaultTail is the tail section of Default.
func defaultTail() Tail {
	return Tail{MaxStreams: 256, MaxStreamsPerKey: 8, Heartbeat: Duration{15 * time.Second}}
}

func (c *Config) checkTail(v *validator) {
	t := c.Tail
	if t.MaxStreams < 1 || t.MaxStreams > maxTailStreams {
		v.add("tail.max_streams", "must be from 1 to %d, got %d", maxTailStreams, t.MaxStreams)
	}
	if t.MaxStreamsPerKey < 1 || t.MaxStreamsPerKey > t.MaxStreams {
		v.add("tail.max_streams_per_key", "must be from 1 to tail.max_streams (%d), got %d", t.MaxStreams, t.MaxStreamsPerKey)
	}
	if h := t.Heartbeat.Duration; h < minTailHeartbeat || h > maxTailHeartbeat {
		v.add("tail.heartbeat", "must be from %s to %s, got %s", minTailHeartbeat, maxTailHeartbeat, h)
	}
}
