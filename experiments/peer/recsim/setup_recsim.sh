#!/usr/bin/env bash
# Build the virtual environment of the RecSim peer (Google's recsim 0.2.4), never freshrec's own.
#
# Usage: bash experiments/peer/recsim/setup_recsim.sh [VENV]
#   VENV: the argument, else $RECSIM_VENV, else .recsim-venv at the repo root.
#   PYTHON: the interpreter to build it from (default python3.11; it must be a 3.11).
# Idempotent: an existing venv built with the same pins is checked and left alone.
# Then: VENV/bin/python experiments/peer/recsim/bench_recsim.py [STEPS] [--rounds R] [--json PATH]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
root="$(cd "$here/../../.." && pwd -P)"
venv="${1:-${RECSIM_VENV:-$root/.recsim-venv}}"
venv="$(realpath -m -- "$venv")"
python="${PYTHON:-python3.11}"

# Top-level pins (known to work together on this machine); constraints.txt pins the rest.
pins=(
  recsim==0.2.4
  tensorflow==2.15.1
  gym==0.25.2
  numpy==1.26.4
  dopamine-rl==4.0.9
  gin-config==0.5.0
  setuptools==65.5.0
)
constraints="$here/constraints.txt"

die() { echo "setup_recsim.sh: $*" >&2; exit 1; }

# Never touch the project's own environments.
for own in "$root/.venv" "$root/.peer-venv" "$root"; do
  [[ "$venv" != "$(realpath -m -- "$own")" ]] || die "refusing to use $venv: it is the project's own, not the peer's"
done
if [[ -e "$venv" ]]; then
  [[ -d "$venv" ]] || die "$venv exists and is not a directory"
  if [[ ! -f "$venv/pyvenv.cfg" ]] && [[ -n "$(ls -A -- "$venv")" ]]; then
    die "$venv exists, is not empty and is not a virtual environment"
  fi
  if compgen -G "$venv/lib/python*/site-packages/freshrec*" >/dev/null \
    || compgen -G "$venv/lib/python*/site-packages/__editable__*freshrec*" >/dev/null; then
    die "$venv has freshrec installed: it is a project venv, not the peer's"
  fi
fi

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "$python is not Python 3.11 (set PYTHON=/path/to/python3.11)"
  echo "creating $venv with $("$python" --version 2>&1)" >&2
  "$python" -m venv -- "$venv"
fi
"$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "$venv is not a Python 3.11 venv; remove it or pick another path"

# Reinstall only when the pins changed or the install is broken.
stamp="$venv/.recsim-peer-pins"
want="$(printf '%s\n' "${pins[@]}"; cat "$constraints")"
if [[ -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$want" ]] \
  && "$venv/bin/python" -c 'import recsim.environments.interest_evolution' >/dev/null 2>&1; then
  echo "$venv is up to date (recsim 0.2.4)" >&2
else
  echo "installing the pinned RecSim stack into $venv (a few minutes)" >&2
  # Always the venv's own pip; no user/target/prefix redirection may send it elsewhere.
  env -u PIP_USER -u PIP_TARGET -u PIP_PREFIX -u PYTHONPATH -u PYTHONHOME \
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$constraints" "${pins[@]}"
  env -u PYTHONPATH "$venv/bin/python" -m pip check >&2
  env -u PYTHONPATH TF_CPP_MIN_LOG_LEVEL=3 "$venv/bin/python" -W ignore \
    -c 'import recsim.environments.interest_evolution' 2>/dev/null \
    || die "recsim does not import in $venv"
  printf '%s\n' "$want" >"$stamp"
fi
echo "run: $venv/bin/python $(realpath --relative-to="$PWD" "$here/bench_recsim.py") [STEPS] [--rounds R] [--json PATH]" >&2
