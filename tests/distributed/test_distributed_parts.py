"""The distributed mode's parts that need no service: settings, the sweep's rule, backoff, quieter logs."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import attrs
import pytest

from adapters_kafka.backoff import Backoff
from fixtures.cli import wf_command
from fixtures.kafka import free_port
from wfapp.distributed_logs import RepeatedLinesFilter
from wfapp.distributed_settings import DistributedSettings, load_distributed_settings, setting_names
from wfapp.settings import Settings, SettingsError, flag_name


def test_the_defaults_suit_a_real_kafka_cluster() -> None:
    settings = load_distributed_settings(environ={})

    assert settings == DistributedSettings()
    kafka = settings.kafka(Settings(kafka_bootstrap_servers=("k1:9092", "k2:9092")))
    assert kafka.bootstrap == "k1:9092,k2:9092"
    assert (kafka.runs_topic, kafka.control_topic, kafka.enable_idempotence) == ("wf.runs", "wf.control", False)
    assert kafka.fetch_max_wait_ms == 10


def test_settings_are_read_from_wf_variables_and_flags_win() -> None:
    environ = {
        "WF_KAFKA_RUNS_TOPIC": "prod.runs",
        "WF_KAFKA_ENABLE_IDEMPOTENCE": "yes",
        "WF_KAFKA_RUNS_PARTITIONS": "24",
        "WF_SWEEP_PENDING_AFTER_SECONDS": "5.5",
        "WF_HEALTH_PORT": "9000",
        "WF_KAFKA_GROUP_ID": "",
    }

    settings = load_distributed_settings(environ=environ, overrides={"health_port": "9001"})

    assert (settings.kafka_runs_topic, settings.kafka_enable_idempotence) == ("prod.runs", True)
    assert (settings.kafka_runs_partitions, settings.sweep_pending_after_seconds) == (24, 5.5)
    assert settings.health_port == 9001
    assert settings.kafka_group_id == "wf-workers"  # an empty variable is unset


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WF_KAFKA_ENABLE_IDEMPOTENCE", "maybe", "WF_KAFKA_ENABLE_IDEMPOTENCE='maybe': must be true or false"),
        ("WF_KAFKA_RUNS_PARTITIONS", "0", "WF_KAFKA_RUNS_PARTITIONS='0': must be between 1 and 10000"),
        ("WF_KAFKA_RUNS_TOPIC", "runs topic", "WF_KAFKA_RUNS_TOPIC='runs topic': must be a Kafka topic name"),
        ("WF_HEALTH_PORT", "http", "WF_HEALTH_PORT='http': must be a whole number between 1 and 65535"),
        ("WF_SWEEP_INTERVAL_SECONDS", "-1", "WF_SWEEP_INTERVAL_SECONDS='-1': must be between 0.05 and 3600.0"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        load_distributed_settings(environ={variable: value})

    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_every_setting_has_a_wf_variable_and_help() -> None:
    names = setting_names()

    assert len(names) == len(attrs.fields(DistributedSettings))
    assert all(name.startswith("WF_") and name.isupper() for name in names)
    assert all(field.metadata["help"] for field in attrs.fields(DistributedSettings))


@pytest.mark.parametrize(
    ("command", "mode"),
    [("serve", {}), ("serve", {"WF_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}), ("worker", {})],
    ids=["serve embedded", "serve distributed", "worker"],
)
def test_every_setting_is_a_flag_of_serve_and_worker_and_a_bad_flag_stops_them_naming_it(
    command: str, mode: dict[str, str], tmp_path: Path
) -> None:
    help_text = run_wf(tmp_path, command, "--help").stdout
    bad_flag = run_wf(tmp_path, command, "--sweep-interval-seconds", "-1", **mode)

    assert all(flag_name(field.name) in help_text for field in attrs.fields(DistributedSettings))
    assert bad_flag.returncode == 2
    assert bad_flag.stderr.strip() == "wf: bad setting: --sweep-interval-seconds='-1': must be between 0.05 and 3600.0"


def run_wf(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`wf ARGS` in `folder`, on a database there: were the flag not refused, nothing else is touched."""
    database = {"WF_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'wf.db'}", "WF_PORT": str(free_port())}
    return wf_command(*args, env={**database, **env}, cwd=folder, timeout=20)


def test_backoff_grows_exponentially_up_to_its_cap_with_jitter_and_resets() -> None:
    backoff = Backoff(initial=0.1, cap=1.0, multiplier=2.0, random=lambda: 1.0)
    delays = [backoff.next_delay() for _ in range(6)]
    failures = backoff.failures
    backoff.reset()
    jittered = Backoff(initial=0.1, cap=1.0, random=lambda: 0.0).next_delay()

    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert (failures, backoff.failures) == (6, 0)
    assert backoff.next_delay() == pytest.approx(0.1)
    assert jittered == pytest.approx(0.05)


def test_repeated_kafka_client_lines_are_let_through_once_per_interval() -> None:
    now = [0.0]
    quiet = RepeatedLinesFilter(interval=30.0, clock=lambda: now[0])

    def record(name: str, message: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, message, args, None)

    seen = [quiet.filter(record("aiokafka", "Unable connect to node %s", node)) for node in (1, 2)]
    other = quiet.filter(record("aiokafka.conn", "Unable connect to node %s", 1))
    ours = [quiet.filter(record("wf.worker", "same line")) for _ in range(2)]
    now[0] = 31.0
    later = quiet.filter(record("aiokafka", "Unable connect to node %s", 3))

    assert (seen, other, ours, later) == ([True, False], True, [True, True], True)
