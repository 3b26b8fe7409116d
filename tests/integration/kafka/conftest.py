from fixtures.kafka import kafka_bootstrap, kafka_broker, kafka_group_timeouts  # noqa: F401
