GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/ferry
ARGS    ?=

.PHONY: build run test bench lint fuzz cross clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

# Runs the daemon in the foreground with the default data folder
# (~/.config/ferry) and downloads folder (~/Downloads); both are created.
run: build
	./$(BIN) run $(ARGS)

test: lint
	node --test ui/test/
	$(GO) test -race -shuffle=on -timeout 25m ./...

bench: build
	FERRY_BENCH=1 $(GO) test -run '^TestBench' -v -count=1 -p 1 -timeout 40m . ./daemon/ ./daemon/transfer/

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzCleanPath$$' -fuzztime $(FUZZTIME) ./daemon/store/
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./daemon/signal/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeControl$$' -fuzztime $(FUZZTIME) ./daemon/transfer/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeChunk$$' -fuzztime $(FUZZTIME) ./daemon/transfer/
	$(GO) test -run '^$$' -fuzz '^FuzzParseTXT$$' -fuzztime $(FUZZTIME) ./discovery/

cross:
	@for os in linux darwin windows; do for arch in amd64 arm64; do \
		ext=; [ $$os = windows ] && ext=.exe; \
		echo "building $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o dist/ferry-$$os-$$arch$$ext . || exit 1; \
	done; done

clean:
	rm -rf bin dist
