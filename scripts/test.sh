#!/usr/bin/env bash
# Install everything the test suite needs, start its services, lint, type-check and test.
# This is the README's test command; .ci/run calls it. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing propscope with its test and training extras"
# torch==2.13.0 first and pinned: a looser spec makes pip fetch a multi-GB CUDA build.
python3 -m pip install --quiet --disable-pip-version-check torch==2.13.0
python3 -m pip install --quiet --disable-pip-version-check -e '.[test,train]'
# Label Studio's own library checks our tasks and config (tests/test_annotation_formats.py).
# --no-deps: its requirements pin opencv-python-headless, which holds numpy below 2.3 and
# changes numpy's typing under mypy; the test extra carries the few modules its
# label_interface really imports.
python3 -m pip install --quiet --disable-pip-version-check --no-deps label-studio-sdk==2.1.2

echo "== installing Chromium (Debian's package) for the browser tests"
if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
fi

echo "== starting PostgreSQL on 127.0.0.1"
PROPSCOPE_TEST_PG_URL="$(bash scripts/start-postgres.sh | tail -n 1)"
export PROPSCOPE_TEST_PG_URL
echo "   $PROPSCOPE_TEST_PG_URL"

echo "== ruff"
python3 -m ruff check src tests benchmarks
echo "== mypy (strict on src/)"
python3 -m mypy
echo "== pytest"
python3 -m pytest -q -rs -p no:cacheprovider "$@"  # -rs: say why anything was skipped
