"""The command-line surface: every command is there, and `--help` does not pay for torch."""

from __future__ import annotations

import subprocess
import sys

from maskgmt.cli import main

COMMANDS = ["corpus", "codec", "tokenize", "detokenize", "prepare", "train", "generate", "eval",
            "demo"]  # fmt: skip


def test_help_lists_every_command(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    missing = [c for c in COMMANDS if c not in out]
    assert not missing, f"commands missing from --help: {missing}"


def test_importing_maskgmt_and_the_cli_does_not_import_torch() -> None:
    code = "import sys, maskgmt, maskgmt.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_names_resolve_lazily() -> None:
    import maskgmt

    assert maskgmt.MaskGmt.__name__ == "MaskGmt"
    assert maskgmt.TokenCritic.__name__ == "TokenCritic"
    assert maskgmt.MaskGmtTransformer.__name__ == "MaskGmtTransformer"


def test_unknown_command_is_a_usage_error(capsys) -> None:
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err
