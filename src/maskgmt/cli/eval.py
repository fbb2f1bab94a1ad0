"""CLI: eval commands (filled in by its issue)."""
