#!/usr/bin/env bash
# Makes schemathesis (the OpenAPI fuzzer behind `npm run fuzz:api` and test/api-schemathesis.test.ts)
# available, preferring what is already there: SCHEMATHESIS_PATH, then `schemathesis` on PATH when it
# is the pinned major version, then the project-local .tools/schemathesis, else installs the PyPI
# package (pinned) into .tools/schemathesis. Without Python the API fuzz test fails in CI with a
# message saying so (and is skipped outside CI).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
LOCAL=.tools/schemathesis

if [ -n "${SCHEMATHESIS_PATH:-}" ]; then
  [ -x "$SCHEMATHESIS_PATH" ] || { echo "SCHEMATHESIS_PATH=$SCHEMATHESIS_PATH is not executable" >&2; exit 1; }
  exit 0
fi
# The runner passes 4.x flags (--checks, --max-examples, --include-path-regex): an older one on PATH is not used.
version_of() { "$1" --version 2>/dev/null || true; }
if command -v schemathesis >/dev/null 2>&1 && [[ "$(version_of schemathesis)" == *"version 4."* ]]; then exit 0; fi
if [ -x "$LOCAL/bin/schemathesis" ] && [[ "$(version_of "$LOCAL/bin/schemathesis")" == *"version $SCHEMATHESIS_VERSION"* ]]; then exit 0; fi

# shellcheck source=lib/pypi-tool.sh
source scripts/lib/pypi-tool.sh
pypi_tool_install "$LOCAL" "schemathesis==$SCHEMATHESIS_VERSION" schemathesis && exit 0
echo "note: schemathesis could not be installed (needs Python 3 and PyPI); test/api-schemathesis.test.ts fails in CI without it" >&2
