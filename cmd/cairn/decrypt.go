package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cairn-audit/cairn/internal/config"
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
		b, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(stderr, "cairn decrypt: %v\n", err)
			return 1
		}
		plain, err := openFile(keys, b)
		if err != nil {
			fmt.Fprintf(stderr, "cairn decrypt: %s: %v\n", name, err)
			return 1
		}
		stdout.Write(plain)
		if len(plain) > 0 && plain[len(plain)-1] != '\n' {
			io.WriteString(stdout, "\n")
		}
	}
	return 0
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
	return envelope.NewConfigKeys(cfg, false), nil
}

// openFile decrypts a sealed file (a plain one passes through) and gunzips it.
func openFile(keys envelope.Keys, b []byte) ([]byte, error) {
	if envelope.IsSealed(b) {
		var err error
		if b, err = envelope.Open(keys, b); err != nil {
			return nil, err
		}
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	}
	return b, nil
}
