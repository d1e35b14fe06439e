"""Training code for the bundled models (needs the `[train]` extra: torch, transformers)."""
