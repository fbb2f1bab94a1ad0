#!/usr/bin/env bash
# Install maskgmt and everything it needs on a fresh Debian machine (run as root or with sudo).
# torch is pinned to the CPU wheel first so nothing pulls a multi-GB CUDA build.
#
# Python: the active virtual environment if there is one; otherwise `python` (or `python3`)
# when pip may install into it. A stock Debian/Ubuntu Python refuses (PEP 668, "externally
# managed"), may lack pip, and may have no `python` command: then a virtual environment is made
# in .venv and used, and `. scripts/env.sh` puts it first on PATH (as the README says).
#
#   bash scripts/install.sh --dry-run   print what would be done, change nothing
set -euo pipefail
cd "$(dirname "$0")/.."
DRY_RUN=0
[ "${1:-}" = "--dry-run" ] && DRY_RUN=1
VENV=.venv

run() {
  if [ "$DRY_RUN" -eq 1 ]; then echo "+ $*" >&2; else "$@"; fi
}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
APT=()
if ! command -v fluidsynth >/dev/null 2>&1 || [ ! -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; then
  APT+=(fluidsynth fluid-soundfont-gm)
fi

# ---- which Python, and does it need a virtual environment?
ok_python() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1; }
PY=""
if [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  PY="$VIRTUAL_ENV/bin/python"
elif [ -x "$VENV/bin/python" ]; then
  PY="$VENV/bin/python"  # made by an earlier run: keep using it
else
  for candidate in python python3; do
    if command -v "$candidate" >/dev/null 2>&1 && ok_python "$candidate"; then
      PY="$candidate"
      break
    fi
  done
fi
if [ -z "$PY" ] || ! ok_python "$PY"; then
  echo "install.sh: no Python >= 3.10 found; install it (apt-get install python3)" >&2
  exit 2
fi

in_venv() { "$PY" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; }
externally_managed() {
  "$PY" -c 'import os, sys, sysconfig
sys.exit(not os.path.isfile(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'
}
has_pip() { "$PY" -m pip --version >/dev/null 2>&1; }

MAKE_VENV=0
if ! in_venv; then
  if externally_managed; then
    echo "install.sh: $PY is externally managed (PEP 668): installing into a virtual environment in $VENV"
    MAKE_VENV=1
  elif ! has_pip; then
    echo "install.sh: $PY has no pip: installing into a virtual environment in $VENV"
    MAKE_VENV=1
  elif ! command -v python >/dev/null 2>&1; then
    echo "install.sh: there is no \`python\` command: installing into a virtual environment in $VENV"
    MAKE_VENV=1
  fi
fi
if [ "$MAKE_VENV" -eq 1 ] && ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  APT+=(python3-venv)  # Debian splits venv/ensurepip out of python3
fi

if [ "${#APT[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  run $SUDO apt-get update -qq
  run $SUDO apt-get install -y -qq --no-install-recommends "${APT[@]}" >/dev/null
fi
if [ "$MAKE_VENV" -eq 1 ]; then
  run "$PY" -m venv "$VENV"
  PY="$VENV/bin/python"
fi

run "$PY" -m pip install -q torch==2.13.0
run "$PY" -m pip install -q -e ".[dev,demo]"
if [ "$PY" = "$VENV/bin/python" ]; then
  echo "install.sh: installed into $VENV; run \`. scripts/env.sh\` in each new shell to use it"
fi
