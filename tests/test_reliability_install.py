"""scripts/install.sh picks a virtual environment exactly where the system Python would refuse
pip (PEP 668), lacks pip or lacks a `python` command; CI's pyenv Python is installed into as is.
Checked with --dry-run and stand-in Pythons, so nothing is installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def fake_python(bin_dir: Path, name: str, *, managed: bool = False, pip: bool = True) -> None:
    """A `name` that runs this Python, but answers install.sh's probes as told."""
    lines = ["#!/bin/sh", 'case "$*" in']
    lines.append(f"  *EXTERNALLY-MANAGED*) exit {0 if managed else 1};;")
    lines.append('  *"sys.prefix == sys.base_prefix"*) exit 1;;')  # not in a venv
    if not pip:
        lines.append('  "-m pip --version") exit 1;;')
    lines.append("esac")
    lines.append(f'exec "{sys.executable}" "$@"')
    path = bin_dir / name
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o755)


def dry_run(tmp_path: Path, *names: str, **probes) -> str:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "install.sh", repo / "scripts" / "install.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in names:
        fake_python(bin_dir, name, **probes)
    for tool in ("dirname", "id", "sh", "cat"):
        if found := shutil.which(tool):
            os.symlink(found, bin_dir / tool)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    done = subprocess.run(
        [shutil.which("bash"), str(repo / "scripts" / "install.sh"), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert not (repo / ".venv").exists()  # a dry run changes nothing
    return done.stdout + done.stderr


@pytest.mark.parametrize(
    ("names", "probes", "why"),
    [
        (("python3",), {"managed": True}, "externally managed (PEP 668)"),
        (("python", "python3"), {"managed": True}, "externally managed (PEP 668)"),
        (("python3",), {"pip": False}, "has no pip"),
        (("python3",), {}, "no `python` command"),
    ],
)
def test_stock_debian_pythons_get_a_venv(tmp_path: Path, names, probes, why: str) -> None:
    out = dry_run(tmp_path, *names, **probes)
    assert why in out
    assert "-m venv .venv" in out
    assert "+ .venv/bin/python -m pip install -q torch==2.13.0" in out
    assert "+ .venv/bin/python -m pip install -q -e .[dev,demo]" in out
    assert ". scripts/env.sh" in out


def test_ci_python_with_working_pip_is_used_as_is(tmp_path: Path) -> None:
    out = dry_run(tmp_path, "python", "python3")
    assert "venv" not in out
    assert "+ python -m pip install -q torch==2.13.0" in out
    assert "+ python -m pip install -q -e .[dev,demo]" in out


def test_env_sh_activates_only_an_existing_venv(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "env.sh", repo / "scripts" / "env.sh")
    script = '. scripts/env.sh; echo "active=${MARK:-no}"'
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    run = {"cwd": repo, "env": env, "capture_output": True, "text": True, "timeout": 30}
    for shell in ("bash", "sh"):
        assert subprocess.run([shell, "-euc", script], **run).stdout.strip() == "active=no"
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "bin" / "activate").write_text("MARK=yes\n")
    for shell in ("bash", "sh"):
        assert subprocess.run([shell, "-euc", script], **run).stdout.strip() == "active=yes"
    ci = (ROOT / ".ci" / "run").read_text()
    assert (
        ci.index("bash scripts/install.sh")
        < ci.index(". scripts/env.sh")
        < ci.index("python -m pytest -q")
    )
