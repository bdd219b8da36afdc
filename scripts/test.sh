#!/usr/bin/env bash
# The test suite as a newcomer runs it: says first which suites this machine
# cannot run and why (go test shows a skip only with -v), then runs
# `go test ./...` with any arguments given (e.g. -race, -count=1).
# .ci/run installs and starts everything, so that nothing is skipped there.
set -uo pipefail
cd "$(dirname "$0")/.."

skipped() { echo "skipped: $*"; }
command -v chromium >/dev/null || skipped "the browser test of CORS (TestBrowserCORS): chromium is not installed (apt-get install chromium)"
if ! command -v node >/dev/null; then
  skipped "the Node client (TestNodeClient): node is not installed"
elif [ ! -d compat/node/node_modules/twilio ]; then
  skipped "the Node client (TestNodeClient): run 'npm ci' in compat/node"
fi
[ -n "${FLEXAPI_TEST_POSTGRES_URL:-}" ] || skipped "the PostgreSQL subtests: FLEXAPI_TEST_POSTGRES_URL is not set (bash scripts/postgres-up.sh, then see the README)"
[ "$(id -u)" = 0 ] || skipped "TestReadOnlyCommandsOnAReadOnlyFileSystem: a read-only bind mount needs root"
exec go test "$@" ./...
