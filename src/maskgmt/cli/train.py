"""CLI: train commands (filled in by its issue)."""
