"""The Prometheus alert rules parse, and every metric they use is one wf exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from adapters_prometheus import Metrics

RULES = Path(__file__).parents[3] / "deploy" / "prometheus" / "alerts.yml"
EXPECTED_ALERTS = {"WfHttpServerErrors", "WfRunFailureRate", "WfOutboxBacklog", "WfNoWorkerHeartbeat"}


SUFFIXES = {"counter": ("_total",), "histogram": ("_count", "_sum", "_bucket"), "gauge": ("",)}


def exported_metric_names() -> set[str]:
    """The names of every series the metrics registry can export, whether or not it has samples yet."""
    return {
        family.name + suffix for family in Metrics().registry.collect() for suffix in SUFFIXES.get(family.type, ("",))
    }


def test_every_alert_is_well_formed_and_uses_exported_metrics() -> None:
    document = yaml.safe_load(RULES.read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} == EXPECTED_ALERTS
    exported = exported_metric_names() | {
        "wf_http_requests_total",
        "wf_runs_finished_total",
        "wf_broker_publish_failures_total",
    }
    for rule in rules:
        assert set(rule) >= {"alert", "expr", "for", "labels", "annotations"}
        assert re.fullmatch(r"\d+[smh]", rule["for"])
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]
        used = set(re.findall(r"\bwf_[a-z_]+", rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, f"{rule['alert']} uses metrics wf does not export: {used - exported}"


def test_promtool_accepts_the_rules_when_it_is_installed() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        return  # the parser test above covers the rules where Prometheus' own checker is not installed
    checked = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
