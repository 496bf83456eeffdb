package segment

import "io"

// Scan reads the frames of r from off to end in order, the first numbered
// seq, and passes each with its offset to fn; the payload is valid only
// during the call. It returns where the good frames end and the seq after
// them. It stops early, with a *CorruptError, at the first frame that is
// torn (a write a crash interrupted), damaged, or out of place (a seq in
// the header other than the next; or fn returns a *CorruptError). That
// error is the caller's to judge: at the end of a log a torn tail, cut with
// Cut; elsewhere damage. Other errors, from reading or from fn, are
// returned as they are.
func (f *Format) Scan(r io.ReaderAt, off, end int64, seq uint64, fn func(off int64, seq uint64, payload []byte) error) (int64, uint64, error) {
	rd := f.NewReader(r, off, end, seq)
	var buf []byte
	for {
		at := rd.Off()
		var err error
		buf, err = rd.Next(buf[:0])
		if err == io.EOF {
			return at, rd.Seq(), nil
		}
		if err != nil {
			return at, rd.Seq(), err
		}
		if fn == nil {
			continue
		}
		if err := fn(at, rd.Seq()-1, buf); err != nil {
			if c, ok := err.(*CorruptError); ok {
				c.Off = at
			}
			return at, rd.Seq() - 1, err
		}
	}
}
