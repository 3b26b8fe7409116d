"""The settings reference of docs/configuration.md, made from the settings classes themselves."""

from __future__ import annotations

from typing import Any

import attrs

from wfapp.distributed_settings import DistributedSettings
from wfapp.settings import Settings, env_name, flag_name


def settings_table(settings_class: type[Any]) -> str:
    """A Markdown table of every setting of `settings_class`: variable, flag, default, meaning."""
    lines = ["| variable | flag | default | what it does |", "|---|---|---|---|"]
    for field in attrs.fields(settings_class):
        default = field.default.factory() if isinstance(field.default, attrs.Factory) else field.default  # type: ignore[arg-type]
        shown = "unset" if default in ((), {}, None) else f"`{default}`"
        lines.append(f"| `{env_name(field.name)}` | `{flag_name(field.name)}` | {shown} | {field.metadata['help']} |")
    return "\n".join(lines)


def tables() -> dict[str, str]:
    return {"common": settings_table(Settings), "distributed": settings_table(DistributedSettings)}


if __name__ == "__main__":
    for name, table in tables().items():
        print(f"<!-- {name} -->\n{table}\n")
