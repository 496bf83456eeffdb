package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cairn-audit/cairn/internal/config"
	"github.com/cairn-audit/cairn/internal/digest"
	"github.com/cairn-audit/cairn/internal/envelope"
)

const decryptHelp = `Usage: cairn decrypt [--config FILE | --data-dir DIR] FILE...

Decrypts log files and digest files that a trail with a KmsKeyId wrote to a
directory bucket (S3 buckets use SSE-KMS instead), and writes their JSON to
standard output, gunzipped. The key material comes from the config file's
kms_keys[].material, or from the data directory's kms/ folder where
"cairn serve" keeps the material it generated.

Flags:
`

func runDecrypt(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decrypt", flag.ContinueOnError)
	configPath := fs.String("config", os.Getenv("CAIRN_CONFIG"), "the server's config `file` (env CAIRN_CONFIG)")
	dataDir := fs.String("data-dir", "", "the server's data `directory` (default: the config's, else ./cairn-data)")
	if code, ok := parseFlags(fs, args, decryptHelp, stdout, stderr); !ok {
		return code
	}
	keys, err := kmsKeys(*configPath, *dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "cairn decrypt: %v\n", err)
		return 1
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "cairn decrypt: name at least one file")
		return 2
	}
	for _, name := range fs.Args() {
		if err := decryptFile(keys, name, stdout); err != nil {
			fmt.Fprintf(stderr, "cairn decrypt: %s: %v\n", name, err)
			return 1
		}
	}
	return 0
}

// decryptFile writes the JSON of one sealed (or plain) file to w.
func decryptFile(keys envelope.Keys, name string, w io.Writer) error {
	b, err := readBounded(name, envelope.MaxSealedBytes)
	if err != nil {
		return err
	}
	last, err := openFile(keys, b, w)
	if err != nil {
		return err
	}
	if last != 0 && last != '\n' {
		_, err = io.WriteString(w, "\n")
	}
	return err
}

// readBounded reads a file of at most limit bytes.
func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes, the most cairn reads of such a file", limit)
	}
	return b, nil
}

// kmsKeys finds the KMS key material of a config file and data directory.
func kmsKeys(configPath, dataDir string) (*envelope.ConfigKeys, error) {
	cfg := config.Default()
	if configPath != "" {
		var err error
		if cfg, err = config.Load(configPath); err != nil {
			return nil, err
		}
	}
	if dataDir != "" {
		cfg.DataDir = dataDir
	}
	return envelope.NewConfigKeys(envelope.KeysOptions{DataDir: cfg.DataDir, KMSKeys: cfg.KMSKeys}), nil
}

// openFile decrypts a sealed file (a plain one passes through), gunzips it
// into w — at most digest.MaxLogFileBytes, so a small gzip bomb cannot
// write without end — and returns the last byte written (0 for none).
func openFile(keys envelope.Keys, b []byte, w io.Writer) (last byte, err error) {
	if envelope.IsSealed(b) {
		if b, err = envelope.Open(keys, b); err != nil {
			return 0, err
		}
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		lw := &lastByteWriter{w: w}
		n, err := io.Copy(lw, io.LimitReader(zr, digest.MaxLogFileBytes+1))
		if err != nil {
			return 0, err
		}
		if n > digest.MaxLogFileBytes {
			return 0, fmt.Errorf("inflates to more than %d bytes, the limit of a log file", digest.MaxLogFileBytes)
		}
		return lw.last, nil
	}
	if _, err := w.Write(b); err != nil || len(b) == 0 {
		return 0, err
	}
	return b[len(b)-1], nil
}

// lastByteWriter passes writes on and remembers the last byte written.
type lastByteWriter struct {
	w    io.Writer
	last byte
}

func (l *lastByteWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.last = p[n-1]
	}
	return n, err
}
