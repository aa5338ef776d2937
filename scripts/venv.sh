#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and link it as ./.venv.
# The environment lives in a cache folder keyed by the lock file's hash and the Python version,
# so a fresh clone with the same lock file reuses it instead of spending ~9 minutes installing Rasa.
set -euo pipefail
cd "$(dirname "$0")/.."

python=$(scripts/find_python.sh)
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
key=$(cat requirements.lock | sha256sum | cut -c1-16)
cache="${ACUTE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/acute-acupuncture}"
venv="$cache/venv-py$pyver-$key"
mkdir -p "$cache"

exec 9>"$cache/.lock-$key"
flock 9
if [ ! -f "$venv/.complete" ]; then
  echo ">> creating virtual environment $venv (Python $pyver, from requirements.lock; ~9 min uncached)" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade "pip==24.0"
  "$venv/bin/pip" install --quiet --no-deps -r requirements.lock
  "$venv/bin/pip" check >&2
  RASA_TELEMETRY_ENABLED=false "$venv/bin/rasa" telemetry disable >/dev/null 2>&1 || true
  touch "$venv/.complete"
fi
flock -u 9
ln -sfn "$venv" .venv
echo "$venv"
