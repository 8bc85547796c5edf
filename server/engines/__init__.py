"""Engines: where state, history, presence and pub/sub live (memory or Redis)."""
