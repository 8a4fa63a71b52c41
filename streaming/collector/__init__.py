"""The game team's HTTP event collector: validates gameplay events and stores them in Kafka."""
