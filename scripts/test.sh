#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite (the README's second command; .ci/run calls it).
#   - a virtualenv in .venv with the project and its [test] extra from PyPI;
#   - Debian's chromium and chromium-driver when missing (browser tests drive them through Playwright;
#     `playwright install` cannot download browsers here);
#   - Debian's PostgreSQL when missing, started on loopback for the run (the store tests run on SQLite
#     and on PostgreSQL) and stopped afterwards.
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
