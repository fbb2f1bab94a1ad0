#!/usr/bin/env bash
# Install maskgmt and everything it needs on a fresh Debian machine (run as root or with sudo).
# torch is pinned to the CPU wheel first so nothing pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v fluidsynth >/dev/null 2>&1 || [ ! -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends fluidsynth fluid-soundfont-gm >/dev/null
fi
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[dev]"
