#!/usr/bin/env bash
# Compile lock/vllm/requirements.txt: the serving environment of the *_vllm configs. Same inputs as the main
# lock (pyproject.toml with extras demo and test) plus lock/vllm/requirements.in, with vLLM's own torch /
# torchvision pins (lock/vllm/overrides.txt) in place of pyproject's. Every package both environments share
# stays at the main lock's version wherever vLLM allows it (the main lock seeds the compile as preferences).
# Then install it into a brand-new venv and check it: python lock/check_env.py --from vllm
set -euo pipefail
cd "$(dirname "$0")/../.."
python -m pip install -q uv
out=lock/vllm/requirements.txt
new="$(mktemp -d)/requirements.txt"
cp lock/requirements.txt "$new"
uv pip compile --quiet pyproject.toml lock/vllm/requirements.in --extra demo --extra test \
  --override lock/vllm/overrides.txt \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --generate-hashes --no-strip-extras --custom-compile-command "lock/vllm/refresh.sh" -o "$new"
python lock/add_extra_free_pins.py "$new"
cp "$new" "$out"
echo "$out compiled; check it in a brand-new venv: python lock/check_env.py --from vllm"
