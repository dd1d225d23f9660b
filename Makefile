# Two commands: `make dev` runs the whole stack on embedded defaults, `make test` runs the suite.
.PHONY: dev test bench soak typecheck install tools test-tools clean

NODE_MODULES_STAMP := node_modules/.package-lock.json

dev: install tools
	npx tsx scripts/dev.ts

test: install test-tools typecheck
	npx vitest run

# Benchmarks (docs/performance.md): its own stack, about 9 minutes; `npm run bench -- --help`.
bench: install tools
	npx tsx bench/run.ts

# Fault soak (docs/reliability.md): kills and restarts worker, API, Temporal and a private PostgreSQL
# under load, then checks nothing was lost; `npm run soak -- --help`. SOAK_ARGS=--quick for a small run.
soak: install tools
	npx tsx soak/run.ts $(SOAK_ARGS)

typecheck: install
	npx tsc --noEmit -p tsconfig.json

install: $(NODE_MODULES_STAMP)

# npm ci only when package-lock.json or a patch of a dependency (patches/, applied by patch-package
# in postinstall) changed since the last install.
$(NODE_MODULES_STAMP): package-lock.json $(wildcard patches/*.patch)
	npm ci --no-audit --no-fund

tools:
	@bash scripts/install-temporal-cli.sh

# Only the suite needs schemathesis (test/api-schemathesis.test.ts); make dev does not wait for it.
test-tools: tools
	@bash scripts/install-schemathesis.sh

clean:
	rm -rf node_modules .tools
