# Cairn: see README.md.
.PHONY: run test build bench-tool bench

run:
	go run ./cmd/cairn serve

test:
	./scripts/test

build:
	go build -o bin/cairn ./cmd/cairn

# The load generator, a command apart from the product (see BENCHMARKS.md).
bench-tool:
	go build -o bin/cairn-bench ./cmd/cairn-bench

bench:
	go test -run '^$$' -bench . ./...
