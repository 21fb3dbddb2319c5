#!/usr/bin/env bash
# The fault benchmark (issue #13, docs/benchmarks.md "No exchange lost"): two replicas each of
# EMREG, NCP and SMP and one Signer on one real PostgreSQL behind HAProxy, a bounded load of
# complete exchanges while replicas are rolled and killed, PostgreSQL restarts and the Signer's
# key rotates. Prints a table and `figure fault_* N` lines; loopback only.
#
#   scripts/fault-bench.sh [--quick]
#
#   --quick                   400 exchanges instead of 2000
#   EMREX_FAULT_EXCHANGES     number of exchanges (default 2000, --quick 400)
#   EMREX_FAULT_CONCURRENCY   concurrent students (default 16)
#   EMREX_FAULT_PG_DIR        where its own throw-away PostgreSQL cluster lives
#                             (default /tmp/emrex-fault-pg; restarted during the run)
#   EMREX_CACHE_DIR           build cache outside the clone (as scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--quick" ]; then export EMREX_FAULT_EXCHANGES="${EMREX_FAULT_EXCHANGES:-400}"; fi

if ! command -v haproxy >/dev/null; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq haproxy >/dev/null
fi

export EMREX_FAULT_PG_DIR="${EMREX_FAULT_PG_DIR:-/tmp/emrex-fault-pg}"
url=$(EMREX_PG_DIR="$EMREX_FAULT_PG_DIR" bash scripts/postgres-test-db.sh | sed -n 's/^export EMREX_TEST_POSTGRES_URL=//p')
export EMREX_FAULT_POSTGRES_URL="$url"
trap 'EMREX_PG_DIR="$EMREX_FAULT_PG_DIR" EMREX_PG_STOP=1 bash scripts/postgres-test-db.sh >/dev/null 2>&1 || true' EXIT

cache="${EMREX_CACHE_DIR:-$HOME/.cache/emrex-rs}"
if mkdir -p "$cache/target" 2>/dev/null; then export CARGO_TARGET_DIR="$cache/target"; fi
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
# The services and the driver in release mode (the bench profile), like production.
cargo bench --locked -p emrex --bench faults
