"""The deployment files, read as Docker would: the Dockerfile, docker-compose.yml and .env.example.

Docker cannot run here, so these tests check what can be checked without it: the stages and the user
of the image, the services and their order of start, that every `wf` command is one the CLI has, and
that every WF_ variable is a setting (and every setting is in .env.example, with a valid default).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from integration.deploy.dockerfile import Stage, parse
from wfapp import cli
from wfapp.distributed_settings import DistributedSettings, load_distributed_settings, setting_names
from wfapp.settings import Settings, env_name, load_settings

ROOT = Path(__file__).resolve().parents[3]
WF_SERVICES = {"migrate", "api", "worker-1", "worker-2", "demo-agent"}
SETTINGS = {env_name(field.name) for field in attrs.fields(Settings)} | set(setting_names())
HEALTHCHECK_IN_IMAGE = "/opt/wf/healthcheck.py"
_SUBSTITUTION = re.compile(r"\$\{(\w+)(?::?-[^}]*)?\}")


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"not a NAME=value line: {line!r}"
            values[name.strip()] = value
    return values


# The Dockerfile


def test_the_image_is_built_in_one_stage_and_run_from_a_slim_python_in_another(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    runtime = stages[-1]
    assert re.fullmatch(r"python:3\.1[1-9][\w.-]*-slim[\w.-]*", runtime.base), runtime.base
    assert any(f"--from={stages[0].name}" in copy.arguments for copy in runtime.all("COPY"))
    assert not runtime.all("RUN") or all("pip install" not in run.arguments for run in runtime.all("RUN"))


def test_the_image_runs_as_an_unprivileged_user(stages: list[Stage]) -> None:
    user = stages[-1].last("USER").arguments.split(":")[0]
    assert user not in ("root", "0")
    assert any("useradd" in run.arguments and user in run.arguments for run in stages[-1].all("RUN"))


def test_the_image_runs_wf_and_checks_its_health_endpoint(stages: list[Stage]) -> None:
    runtime = stages[-1]
    entrypoint = runtime.last("ENTRYPOINT").exec_form()
    healthcheck = runtime.last("HEALTHCHECK")

    assert entrypoint == ["wf"]
    assert cli.build_parser().parse_args(runtime.last("CMD").exec_form()).command == "serve"
    assert healthcheck.exec_form() == ["python", HEALTHCHECK_IN_IMAGE]
    assert f"deploy/healthcheck.py {HEALTHCHECK_IN_IMAGE}" in [copy.arguments for copy in runtime.all("COPY")]
    assert re.search(r"--interval=\d+s", healthcheck.arguments)
    assert runtime.last("EXPOSE").arguments.split() == ["8080"]
    assert "WF_HOST=0.0.0.0" in " ".join(env.arguments for env in runtime.all("ENV"))


# docker-compose.yml


def test_compose_runs_postgres_kraft_kafka_migrate_the_api_two_workers_and_the_demo_agent(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == {"postgres", "kafka", *WF_SERVICES}
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in name for name in kafka["environment"])
    assert services["postgres"]["image"].startswith("postgres:")
    assert all(services[name]["image"].startswith("wf:") and services[name]["build"] == "." for name in WF_SERVICES)


def parse_command(command: list[str]) -> argparse.Namespace:
    """Parse a service's command (the arguments of `wf`) with the CLI's parser."""
    return cli.build_parser().parse_args(command)


def test_every_wf_command_is_one_the_cli_knows(services: dict[str, dict[str, Any]]) -> None:
    commands = {name: parse_command(services[name]["command"]).command for name in WF_SERVICES}

    assert commands == {
        "migrate": "migrate",
        "api": "serve",
        "worker-1": "worker",
        "worker-2": "worker",
        "demo-agent": "demo-agent",
    }
    demo = parse_command(services["demo-agent"]["command"])
    assert (demo.host, demo.port) == ("0.0.0.0", 8081)


def test_every_wf_variable_in_compose_is_a_setting(services: dict[str, dict[str, Any]]) -> None:
    used = {name for service in services.values() for name in service.get("environment", {})}
    substituted = set(_SUBSTITUTION.findall((ROOT / "docker-compose.yml").read_text()))

    unknown = {name for name in used | substituted if name.startswith("WF_")} - SETTINGS
    assert not unknown
    assert {"WF_DATABASE_URL", "WF_KAFKA_BOOTSTRAP_SERVERS"} <= set(services["api"]["environment"])
    assert all("WF_KAFKA_BOOTSTRAP_SERVERS" in services[name]["environment"] for name in ("worker-1", "worker-2"))


def test_the_api_and_the_workers_read_the_settings_of_an_optional_env_file(services: dict[str, dict[str, Any]]) -> None:
    readers = {name for name in WF_SERVICES if services[name].get("env_file") == [{"path": ".env", "required": False}]}

    assert readers == {"api", "worker-1", "worker-2"}  # not migrate and the demo agent: they need no secrets


def test_the_services_listen_where_their_ports_and_health_checks_say(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    assert api["ports"][0].endswith(f":{api['environment']['WF_PORT']}")
    assert f":{api['environment']['WF_PORT']}/health" in " ".join(api["healthcheck"]["test"])
    for name in ("worker-1", "worker-2"):
        port = services[name]["environment"]["WF_HEALTH_PORT"]
        assert services[name]["environment"]["WF_HOST"] == "0.0.0.0"
        assert f":{port}/health/ready" in " ".join(services[name]["healthcheck"]["test"])
    demo_port = parse_command(services["demo-agent"]["command"]).port
    assert services["demo-agent"]["ports"][0].endswith(f":{demo_port}")
    assert f":{demo_port}/health" in " ".join(services["demo-agent"]["healthcheck"]["test"])


def test_the_services_start_in_order_once_what_they_need_is_healthy(services: dict[str, dict[str, Any]]) -> None:
    ready = {
        "migrate": "service_completed_successfully",
        "postgres": "service_healthy",
        "kafka": "service_healthy",
    }
    for name in ("api", "worker-1", "worker-2"):
        conditions = {dependency: spec["condition"] for dependency, spec in services[name]["depends_on"].items()}
        assert conditions == ready, name
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    assert all("healthcheck" in services[name] for name in set(services) - {"migrate"})


# .env.example


def test_env_example_lists_every_setting_and_nothing_unknown() -> None:
    listed = {name for name in env_example() if name.startswith("WF_")}

    assert listed == SETTINGS


def test_the_values_in_env_example_are_valid_settings() -> None:
    values = env_example()

    settings = load_settings(environ=values)
    distributed_settings = load_distributed_settings(environ=values)

    assert settings.embedded  # as given, the example runs the embedded mode
    assert distributed_settings == DistributedSettings()
