#!/usr/bin/env bash
# Install the test dependencies and run the whole test suite (the README's second command; .ci/run calls it).
#   - a virtualenv in .venv with the project and its [test] extra from PyPI;
#   - Debian's chromium and chromium-driver when missing (browser tests drive them through Playwright;
#     `playwright install` cannot download browsers here).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/data -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${missing[*]} from Debian's packages" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

exec .venv/bin/python -m pytest "$@"
