"""The streaming detector (Kafka in, alerts and metrics out), its Kafka edge (:mod:`.kafka` and the
settings) and the other commands' Kafka utilities (:mod:`.tools`). Depends on model_store, never
on trainer."""
