"""Fixtures shared by every test directory; each module under fixtures/ has one job."""

from hypothesis import HealthCheck, settings

pytest_plugins = [
    "fixtures.agents",
    "fixtures.kafka",
    "fixtures.postgres",
    "fixtures.service",
]

# A property test's first text strategy builds Hypothesis's Unicode tables (about a second on a fresh
# checkout): how fast examples are generated is not what these tests check.
settings.register_profile("wf", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("wf")
