# Cairn: see README.md.
.PHONY: run test test-short build bench-tool bench

run:
	go run ./cmd/cairn serve

test:
	./scripts/test

# The fast tier for the edit loop: unit tests only. Tests that build and run
# the binary (internal/e2e, browser tests included) or start PostgreSQL skip
# under -short; `make test` (scripts/test, no -short) runs everything.
test-short:
	go test -short ./...

build:
	go build -o bin/cairn ./cmd/cairn

# The load generator, a command apart from the product (see BENCHMARKS.md).
bench-tool:
	go build -o bin/cairn-bench ./cmd/cairn-bench

bench:
	go test -run '^$$' -bench . ./...
