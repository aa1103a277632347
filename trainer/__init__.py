"""Builds model versions from labelled request logs (depends on model_store, never on stream)."""
