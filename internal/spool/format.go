package spool

// The on-disk format.
//
// A spool directory holds:
//
//	<first-seq, 20 digits>.seg  segment files, e.g. 00000000000000000001.seg
//	ack                         the last acknowledged seq, decimal, "\n"-terminated
//	ack.tmp                     the next ack file while it is being written
//	lock                        flock(2)ed by the process that has the spool open
//
// A segment file is the 8-byte magic "CAIRNSP1" followed by records, each
//
//	crc32c  uint32, little-endian: CRC-32C (Castagnoli) of the next 12 bytes and the data
//	length  uint32, little-endian: len(data)
//	seq     uint64, little-endian: the record's sequence number
//	data    length bytes
//
// Records in a segment have consecutive seqs starting at the one in the
// file name, and each segment starts where the previous one ends. Carrying
// the seq in every record lets recovery tell a stale or misplaced record
// from a valid one. Package segment does the writing, reading and
// scanning; this file only names the layout.

import (
	"github.com/cairn-audit/cairn/internal/segment"
)

// format is the spool's segment layout.
var format = segment.MustFormat(segment.Format{
	Magic:     segMagic,
	HeaderLen: recHeaderLen,
	CRCAt:     0,
	LenAt:     4,
	SeqAt:     8,
})

const (
	segMagic     = "CAIRNSP1"
	segHeaderLen = int64(len(segMagic))
	recHeaderLen = 16
	maxDataLen   = segment.MaxPayload
	segSuffix    = segment.Suffix

	ackName    = "ack"
	ackTmpName = "ack.tmp"
	lockName   = "lock"
)

// segName returns the file name of the segment whose first record is first.
func segName(first uint64) string { return segment.Name(first) }

// appendRecord appends the encoding of one record to buf.
func appendRecord(buf []byte, seq uint64, data []byte) []byte {
	return format.Append(buf, seq, data)
}
