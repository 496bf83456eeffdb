# Cairn: see README.md.
.PHONY: run test build bench

run:
	go run ./cmd/cairn serve

test:
	./scripts/test

build:
	go build -o bin/cairn ./cmd/cairn

bench:
	go test -run '^$$' -bench . ./...
