"""CLI: corpus commands (filled in by its issue)."""
