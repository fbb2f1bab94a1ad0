# Source this file (`. scripts/env.sh`) to use maskgmt's virtual environment in this shell.
# scripts/install.sh makes one in .venv only where the system Python refuses pip installs
# (PEP 668), has no pip or no `python` command; everywhere else this does nothing.
_maskgmt_venv="$(cd "$(dirname "${BASH_SOURCE:-scripts/env.sh}")/.." 2>/dev/null && pwd)/.venv"
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "$_maskgmt_venv/bin/activate" ]; then
  . "$_maskgmt_venv/bin/activate"
fi
unset _maskgmt_venv
