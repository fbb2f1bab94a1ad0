"""CLI: demo commands (filled in by its issue)."""
