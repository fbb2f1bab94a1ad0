"""CLI: generate commands (filled in by its issue)."""
