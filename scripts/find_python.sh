#!/usr/bin/env bash
# Print the path of a Python that Rasa 3.6 accepts and the project runs on (3.10, else 3.9).
# Looks on PATH first, then in pyenv's versions; stops with a clear message if none is found.
set -euo pipefail

ok() { "$1" -c 'import sys; sys.exit(0 if (3, 9) <= sys.version_info[:2] <= (3, 10) else 1)' 2>/dev/null; }

candidates=()
for v in 3.10 3.9; do
  p=$(command -v "python$v" 2>/dev/null || true)
  [ -n "$p" ] && candidates+=("$p")
done
if command -v pyenv >/dev/null 2>&1 || [ -d "${PYENV_ROOT:-$HOME/.pyenv}" ]; then
  root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for v in 3.10 3.9; do
    for p in $(ls -d "$root"/versions/"$v".*/bin/python"$v" 2>/dev/null | sort -rV); do
      candidates+=("$p")
    done
  done
fi
for p in "${candidates[@]}"; do
  if ok "$p"; then echo "$p"; exit 0; fi
done
cat >&2 <<'MSG'
ERROR: this project needs Python 3.10 (or 3.9) for Rasa 3.6, and none was found.
Install Python 3.10, for example one of:
  pyenv install 3.10.13            (then run make again; pyenv versions are found automatically)
  apt-get install python3.10 python3.10-venv
MSG
exit 1
