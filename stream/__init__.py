"""The streaming detector: Kafka in, alerts and metrics out (depends on model_store, never on trainer)."""
