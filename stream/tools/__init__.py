"""Kafka utilities for the commands other than ``stream``: topic ranges for training, feedback,
following the alert topic, replaying files into a topic. Not the detector's loop (that is the
rest of :mod:`logsentry.stream`); they share only its Kafka edge (:mod:`logsentry.stream.kafka`
and the settings)."""
