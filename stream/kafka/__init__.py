"""The one Kafka edge: clients built from one configuration, the connection pre-check, and the
topics logsentry creates. Every command that talks to Kafka goes through here."""
