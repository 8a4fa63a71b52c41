"""Clickstream lakehouse: synthetic events, Kafka producer, Spark streaming jobs and tooling."""
