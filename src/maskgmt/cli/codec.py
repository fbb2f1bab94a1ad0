"""CLI: codec commands (filled in by its issue)."""
