.PHONY: test build demo

# Installs what the suites need when missing, then go vet and every test.
test:
	bash scripts/test.sh

build:
	go build -o bin/floe ./cmd/floe

demo:
	go run ./cmd/floe demo
