"""Fixtures shared by every test directory; each module under fixtures/ has one job."""

pytest_plugins = [
    "fixtures.agents",
    "fixtures.kafka",
    "fixtures.postgres",
    "fixtures.service",
]
