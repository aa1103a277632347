"""The ``logsentry`` command: thin entry points over trainer, model_store and stream."""

__version__ = "0.1.0"
