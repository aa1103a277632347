"""The one Kafka edge: the clients, all built from one configuration (``clients.py``), the
connection pre-check (``connection.py``) and the topics logsentry creates (``topics.py``). Every
command that talks to Kafka goes through here."""
