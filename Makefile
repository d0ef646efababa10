# vpcep-console. `make run` and `make test` are the two commands a new
# machine needs; see README.md.
SHELL := bash
GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: run test soak fuzz lint generate bench build sim db-up db-down migrate-new vendor-static

## run: the console in demo mode at http://localhost:8080 on a real Postgres
## (built, then run directly rather than through `go run`, so Ctrl-C reaches
## the console alone, which shuts down cleanly and exits 0)
run:
	@url=$$(scripts/dev-db.sh run) && mkdir -p .data/bin && $(GO) build -o .data/bin/web ./cmd/web && \
	  DATABASE_URL="$$url" exec .data/bin/web serve --demo

## test: every test, against a real Postgres (TEST_DATABASE_URL, a local cluster, or testcontainers-go);
## the browser tests' screenshots and page checks land in test-output/_artifacts. The browser
## tests inject axe-core (test-only, pinned in package.json): installed with npm when missing or stale
test:
	@mkdir -p test-output
	@[ node_modules/.package-lock.json -nt package-lock.json ] || { command -v npm >/dev/null || { echo "make test needs npm to install axe-core for the browser tests (Debian: apt-get install npm)"; exit 1; }; npm ci --silent --no-audit --no-fund; }
	@url=$$(scripts/dev-db.sh test) && TEST_DATABASE_URL="$$url" $(GO) test -count=1 -artifacts -outputdir=$(CURDIR)/test-output ./...

## soak: the crash and fault campaigns at length (SOAK_RUNS runs each, 100 by default):
## kill -9 at three points of a change, replicas restarted under editors, database
## connections killed during changes, an upstream that drops its answers
SOAK_RUNS ?= 100
soak:
	@url=$$(scripts/dev-db.sh test) && TEST_DATABASE_URL="$$url" VPCEP_SOAK_RUNS=$(SOAK_RUNS) \
	  $(GO) test -count=1 -timeout 90m -v -run 'Campaign|Kill|Replicas' ./internal/change ./internal/crashtest

## fuzz: each fuzz target for FUZZTIME (60s by default); the seeds run in `make test`
FUZZTIME ?= 60s
fuzz:
	@url=$$(scripts/dev-db.sh test) && export TEST_DATABASE_URL="$$url" && \
	  $(GO) test -run '^$$' -fuzz '^FuzzAppendJSONString$$' -fuzztime $(FUZZTIME) ./internal/audit && \
	  $(GO) test -run '^$$' -fuzz '^FuzzCSVRecord$$' -fuzztime $(FUZZTIME) ./internal/audit && \
	  $(GO) test -run '^$$' -fuzz '^FuzzParseDocument$$' -fuzztime $(FUZZTIME) ./internal/policy && \
	  $(GO) test -run '^$$' -fuzz '^FuzzEditorForm$$' -fuzztime $(FUZZTIME) ./internal/handlers && \
	  $(GO) test -run '^$$' -fuzz '^FuzzSafeNext$$' -fuzztime $(FUZZTIME) ./internal/handlers

## lint: go vet, staticcheck, gofmt, and generated templ code in sync with the .templ files
lint:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) tool templ generate
	@git diff --exit-code --stat -- '*_templ.go' || { echo "generated templ code was stale: commit the regenerated *_templ.go"; exit 1; }

## generate: regenerate the templ views
generate:
	$(GO) tool templ generate

## bench: Go benchmarks, then first/warm load and memory of /endpoints at 10,000 endpoints
bench:
	@url=$$(scripts/dev-db.sh test) && TEST_DATABASE_URL="$$url" $(GO) test -run '^$$' -bench . -benchmem -count 5 ./internal/...
	@url=$$(scripts/dev-db.sh test) && TEST_DATABASE_URL="$$url" scripts/bench-endpoints.sh

## build: the two binaries into bin/
build:
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/web ./cmd/vpcep-sim

## sim: the VPCEP simulator alone on 127.0.0.1:9090 (prints its AK/SK)
sim:
	$(GO) run ./cmd/vpcep-sim

## db-up / db-down: start or stop the development database
db-up:
	@scripts/dev-db.sh run >/dev/null
db-down:
	@scripts/dev-db.sh stop

## migrate-new name=verb_noun: a new goose SQL migration in migrations/
migrate-new:
	@test -n "$(name)" || { echo "usage: make migrate-new name=verb_noun"; exit 2; }
	@last=$$(ls migrations/*.sql | sed -E 's|.*/0*([0-9]+)_.*|\1|' | sort -n | tail -n 1); \
	  file=$$(printf 'migrations/%05d_%s.sql' $$((last + 1)) "$(name)"); \
	  printf -- '-- +goose Up\n\n-- +goose Down\n' > "$$file"; echo "created $$file"

## vendor-static: refresh htmx and Pico from the npm registry (versions pinned here)
HTMX_VERSION := 2.0.11
PICO_VERSION := 2.1.1
vendor-static:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent htmx.org@$(HTMX_VERSION) @picocss/pico@$(PICO_VERSION) >/dev/null && \
	  for f in *.tgz; do mkdir -p "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done && \
	  cp htmx.org-$(HTMX_VERSION)/package/dist/htmx.min.js htmx.org-$(HTMX_VERSION)/package/LICENSE $(CURDIR)/static/vendor/htmx/ && \
	  cp picocss-pico-$(PICO_VERSION)/package/css/pico.min.css picocss-pico-$(PICO_VERSION)/package/LICENSE.md $(CURDIR)/static/vendor/pico/ && \
	  rm -rf $$tmp && echo "vendored htmx $(HTMX_VERSION) and Pico $(PICO_VERSION)"

## bench-load: page views a second at 16 connections and one at a time (issue 11): the simulator
## with 10,000 endpoints, the console, 1,000,000 audit rows, cmd/loadgen; loopback, about 2 minutes
.PHONY: bench-load
bench-load:
	@url=$$(scripts/dev-db.sh test) && TEST_DATABASE_URL="$$url" scripts/bench-load.sh
