# Two commands: `make dev` runs the whole stack on embedded defaults, `make test` runs the suite.
.PHONY: dev test bench typecheck install tools clean

NODE_MODULES_STAMP := node_modules/.package-lock.json

dev: install tools
	npx tsx scripts/dev.ts

test: install tools typecheck
	npx vitest run

# Benchmarks (docs/performance.md): its own stack, about 10 minutes; `npm run bench -- --help`.
bench: install tools
	npx tsx bench/run.ts

typecheck: install
	npx tsc --noEmit -p tsconfig.json

install: $(NODE_MODULES_STAMP)

# npm ci only when package-lock.json changed since the last install.
$(NODE_MODULES_STAMP): package-lock.json
	npm ci --no-audit --no-fund

tools:
	@bash scripts/install-temporal-cli.sh

clean:
	rm -rf node_modules .tools
