#!/usr/bin/env bash
# Full test run: Rust tests, then the end-to-end tests (pulp-cli + Python bindings, and the
# function binaries under an emulated Lambda runtime) against target/debug, twice: the embedded
# set (SQLite, local storage, the in-process queue) and the production set (PostgreSQL, S3
# storage and SQS queues on a moto_server that the tests start themselves). The Rust tests run
# their database tests on both engines. DEPOT_E2E_ALL_ROUNDS=1 adds a third round, PostgreSQL
# with local storage and the in-process queue.
#
#   bash tests/run.sh [extra pytest args]
#
# The PostgreSQL round needs a server on 127.0.0.1:5432 (user postgres, trust auth).
# Outside CI (env CI unset) it is skipped when `pg_isready -h 127.0.0.1` fails;
# in CI it always runs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
REQUIREMENTS=tests/e2e/requirements.txt
STAMP=$VENV/.requirements.sha256

# Each banner says how long the stage before it took, and how long the run has taken so far.
stage_started=$SECONDS
banner() {
    local took=$((SECONDS - stage_started))
    stage_started=$SECONDS
    printf '\n========================================================================\n'
    printf '== %s   (previous stage %d s, %d s so far)\n' "$*" "$took" "$SECONDS"
    printf '========================================================================\n'
}

banner "Python environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
wanted=$( (sha256sum "$REQUIREMENTS"; "$VENV/bin/python" --version) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$wanted" ]; then
    echo "installing $REQUIREMENTS"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    echo "$wanted" > "$STAMP"
else
    echo "requirements unchanged, reusing $VENV"
fi

# The Rust tests run their database tests on PostgreSQL too when DEPOT_TEST_PG_URL is set.
if { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1; } || [ -n "${CI:-}" ]; then
    export DEPOT_TEST_PG_URL="${DEPOT_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
fi

banner "cargo test --workspace (DEPOT_TEST_PG_URL=${DEPOT_TEST_PG_URL:-unset})"
cargo test --workspace

banner "cargo build --workspace --bins (local-runner and every function binary)"
# The function binaries (one per handler crate) are for the Lambda tests (test_lambda.py), which
# run them under an emulated Lambda runtime API. Built with the workspace's features, as the
# tests above were, so that no crate is compiled twice.
cargo build --workspace --bins
export DEPOT_BIN="${DEPOT_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/debug/local-runner}"

failed=()

run_e2e() {
    local db=$1 backend=$2
    shift 2
    local name="$db + $backend"
    banner "end-to-end tests on $name (DEPOT_TEST_DB=$db DEPOT_TEST_BACKEND=$backend)"
    if DEPOT_TEST_DB=$db DEPOT_TEST_BACKEND=$backend \
        "$VENV/bin/python" -m pytest tests/e2e -q -p no:cacheprovider -rfEs --durations=15 "$@"; then
        echo "end-to-end tests on $name: passed"
    else
        echo "end-to-end tests on $name: FAILED"
        failed+=("e2e-$db-$backend")
    fi
}

run_e2e sqlite local "$@"

postgres_rounds() {
    if [ -n "${DEPOT_E2E_ALL_ROUNDS:-}" ]; then
        run_e2e postgres local "$@"
    fi
    run_e2e postgres aws "$@"
}

if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1; then
    postgres_rounds "$@"
elif [ -n "${CI:-}" ]; then
    echo "PostgreSQL on 127.0.0.1 is not ready, but CI is set: running the postgres rounds anyway"
    postgres_rounds "$@"
else
    banner "end-to-end tests on postgres: SKIPPED (pg_isready -h 127.0.0.1 failed and CI is unset)"
fi

# Pulp's own functional suites (pulp_file's and pulpcore's API suite, from the pulpcore wheel)
# against the local runner; every failure must be in tests/pulp-ft/expected-failures.txt, and
# every test there must still fail (the list only shrinks).
banner "Pulp's functional suites (tests/pulp-ft/run.py)"
if ! python3 tests/pulp-ft/run.py --bin "$DEPOT_BIN"; then
    failed+=("pulp-ft")
fi

# The benchmark in smoke mode (tiny sizes, debug binary), so that the harness cannot rot.
banner "benchmark smoke run"
bench_sets=local
if [ -n "${DEPOT_TEST_PG_URL:-}" ]; then
    bench_sets=local,production  # the production set needs PostgreSQL
fi
if ! "$VENV/bin/python" bench/bench.py --smoke --sets "$bench_sets" --bin "$DEPOT_BIN"; then
    failed+=("bench-smoke")
fi
# The side-by-side comparison with real Pulp and the other peers, tiny sizes (it installs Pulp
# from PyPI into its own virtualenv on the first run).
banner "comparison smoke run"
if ! "$VENV/bin/python" bench/compare.py --smoke --production --bin "$DEPOT_BIN"; then
    failed+=("compare-smoke")
fi

if [ ${#failed[@]} -gt 0 ]; then
    banner "FAILED: ${failed[*]}"
    exit 1
fi
banner "all tests passed"
