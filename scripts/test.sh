#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite (the README's second command; .ci/run calls it).
#   - a virtualenv in .venv with the project and its [test] extra from PyPI;
#   - Debian's chromium and chromium-driver when missing (browser tests drive them through Playwright;
#     `playwright install` cannot download browsers here);
#   - Debian's PostgreSQL when missing, started on loopback for the run (the store tests run on SQLite
#     and on PostgreSQL) and stopped afterwards;
#   - Debian's redis-server when missing: a second, shorter pass runs in the scale-out shape — shared
#     caches in Redis and background callbacks on a Celery worker instead of diskcache, and the gateway
#     answering from the snapshots' Parquet copies instead of their DuckDB files.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/data -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]} from Debian's packages" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL on loopback: the first cluster Debian created, started only for this run.
cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
if [ -z "$cluster" ]; then
  $sudo pg_createcluster 15 main >/dev/null
  cluster="15 main"
fi
read -r pg_version pg_name <<<"$cluster"
started_pg=0
if ! pg_lsclusters --no-header | awk -v v="$pg_version" -v n="$pg_name" '$1==v && $2==n {print $4}' | grep -q online; then
  $sudo pg_ctlcluster "$pg_version" "$pg_name" start
  started_pg=1
fi
stop_pg() { [ "$started_pg" -eq 1 ] && $sudo pg_ctlcluster "$pg_version" "$pg_name" stop || true; }
trap stop_pg EXIT
pg_port=$(pg_lsclusters --no-header | awk -v v="$pg_version" -v n="$pg_name" '$1==v && $2==n {print $3}')
as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
as_postgres "psql -p $pg_port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname = 'nser_test'\" | grep -q 1 || psql -p $pg_port -qc \"CREATE ROLE nser_test LOGIN CREATEDB PASSWORD 'nser_test'\""
as_postgres "psql -p $pg_port -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'nser_test'\" | grep -q 1 || createdb -p $pg_port -O nser_test nser_test"
export NSER_TEST_POSTGRES_URL="postgresql+psycopg://nser_test:nser_test@127.0.0.1:${pg_port}/nser_test"

.venv/bin/python -m pytest "$@"

# The scale-out pass: the shared caches in Redis and the background callbacks on a Celery worker instead
# of diskcache, and the gateway reading Parquet copies (NSER_SERVE_FORMAT=parquet), for the tests that
# use them. Only for a whole-suite run (no test paths).
redis_pass=1
for arg in "$@"; do
  case "$arg" in tests*|*.py|*::*) redis_pass=0 ;; esac
done
if [ "$redis_pass" -eq 1 ]; then
  redis_port=6391
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$(mktemp -d)" >/dev/null
  stop_redis() { redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; stop_pg; }
  trap stop_redis EXIT
  echo "the scale-out pass: shared caches in Redis, background callbacks on Celery, answers from Parquet" >&2
  NSER_CACHE_URL="redis://127.0.0.1:${redis_port}/0" NSER_CACHE_PREFIX="ci-$$" NSER_SERVE_FORMAT=parquet \
    .venv/bin/python -m pytest "$@" \
    tests/cubes/test_gateway.py tests/cubes/test_records.py tests/cubes/test_outliers.py \
    tests/dashboard/test_store.py tests/dashboard/test_publication.py tests/dashboard/test_api.py \
    tests/dashboard/test_dci.py tests/browser/test_pages.py
fi
