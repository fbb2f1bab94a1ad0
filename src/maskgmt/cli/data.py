"""CLI: data commands (filled in by its issue)."""
