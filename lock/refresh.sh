#!/usr/bin/env bash
# Refresh lock/requirements.txt: the newest releases that pyproject.toml's ranges allow today, every
# dependency pinned with hashes (CPython 3.11, Linux x86_64), then test them in a brand-new venv before
# the new lock replaces the old one:
#   lock/refresh.sh            compile, install into a new venv, run the demo and the whole test suite there
#   lock/refresh.sh --no-test  compile only (then: python lock/check_env.py --from lock, and the suite)
# Run `python lock/check_env.py --from ranges` first: it names any new release that breaks something, to
# exclude in pyproject.toml (an upper bound or `!=`, with a comment saying why).
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q uv
new="$(mktemp -d)/requirements.txt"
uv pip compile pyproject.toml --extra demo --extra test --upgrade \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --generate-hashes --no-strip-extras --custom-compile-command "lock/refresh.sh" -o "$new"
python lock/add_extra_free_pins.py "$new"
if [ "${1:-}" != "--no-test" ]; then
  venv="results/.envcheck/refresh-venv"
  rm -rf "$venv" && python -m venv "$venv"
  "$venv/bin/python" -m pip install -q -r "$new"
  "$venv/bin/python" -m pip install -q --no-deps -e .
  "$venv/bin/python" -m videorag_eval results_dir=results/.envcheck/refresh-demo
  "$venv/bin/python" -m pytest -q --runslow   # the whole suite: the fast default and the slow set
fi
cp "$new" lock/requirements.txt
echo "lock/requirements.txt refreshed; commit it with the test result"
