"""The `wf` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from wfapp import event_loop
from wfapp.apply import register_workflows_command
from wfapp.distributed_settings import DistributedSettings, load_distributed_settings
from wfapp.settings import Settings, SettingsError, env_name, flag_name, load_settings
from wfapp.version import __version__

_DESTINATIONS = {Settings: "setting_", DistributedSettings: "distributed_"}  # argparse names of their flags


def _add_setting_flags(
    parser: argparse.ArgumentParser, names: Sequence[str] | None = None, settings_class: type[Any] = Settings
) -> None:
    """A flag for each setting of `settings_class` (those in `names` only, when given)."""
    group = parser.add_argument_group(
        "settings (each also read from its WF_ environment variable)"
        if settings_class is Settings
        else "distributed mode's settings (each also read from its WF_ environment variable)"
    )
    for field in attrs.fields(settings_class):
        if names is not None and field.name not in names:
            continue
        group.add_argument(
            flag_name(field.name),
            dest=f"{_DESTINATIONS[settings_class]}{field.name}",
            metavar=field.name.upper(),
            help=f"{field.metadata['help']} (env {env_name(field.name)})",
        )


def _flag_values(args: argparse.Namespace, settings_class: type[Any]) -> dict[str, str]:
    prefix = _DESTINATIONS[settings_class]
    return {
        key.removeprefix(prefix): value
        for key, value in vars(args).items()
        if key.startswith(prefix) and value is not None
    }


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(overrides=_flag_values(args, Settings))


def _distributed_settings(args: argparse.Namespace) -> DistributedSettings:
    return load_distributed_settings(overrides=_flag_values(args, DistributedSettings))


def _serve(args: argparse.Namespace) -> None:
    from wfapp.serve import serve

    settings = _settings(args)
    distributed = _distributed_settings(args)  # checked whatever the mode: a bad flag is never ignored
    event_loop.run(serve(settings, distributed if settings.distributed else None))


def _worker(args: argparse.Namespace) -> None:
    from wfapp.distributed import run_worker

    event_loop.run(run_worker(_settings(args), _distributed_settings(args)))


def _migrate(args: argparse.Namespace) -> None:
    from wfapp.migration import migrate

    settings = _settings(args)
    print(migrate(settings.database_url, args.revision))


def _demo_agent(args: argparse.Namespace) -> None:
    from adapters_http.demo_agent import run_demo_agent

    print(f"demo agent listening on http://{args.host}:{args.port} (echo, uppercase, sleep, fail, text, ...)")
    event_loop.run(run_demo_agent(args.host, args.port))


def _rotate_secrets(args: argparse.Namespace) -> None:
    from wfapp.secrets import rotate_stored_secrets

    count = asyncio.run(rotate_stored_secrets(_settings(args)))
    print(f"re-encrypted the secrets of {count} agents with the newest key; older keys can now be removed")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wf", description="The wf workflow service.")
    parser.add_argument("--version", action="version", version=f"wf {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the REST API (and, with no broker, the workers too)")
    _add_setting_flags(serve)
    _add_setting_flags(serve, settings_class=DistributedSettings)
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser("worker", help="take runs from Kafka and execute them (start as many as needed)")
    _add_setting_flags(worker)
    _add_setting_flags(worker, settings_class=DistributedSettings)
    worker.set_defaults(handler=_worker)

    migrate = commands.add_parser("migrate", help="bring the database schema to head (or --revision)")
    migrate.add_argument("--revision", default="head", help="target revision, up or down (default: head)")
    _add_setting_flags(migrate, ["database_url", "log_level"])
    migrate.set_defaults(handler=_migrate)

    demo = commands.add_parser("demo-agent", help="serve a small real agent for trying the service")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8081)
    demo.set_defaults(handler=_demo_agent)
    secrets = commands.add_parser("secrets", help="manage the keys that encrypt agent secrets")
    secret_commands = secrets.add_subparsers(dest="secrets_command", required=True, metavar="ACTION")
    rotate = secret_commands.add_parser(
        "rotate", help="re-encrypt every stored secret with the newest key (the first of WF_SECRET_KEY)"
    )
    _add_setting_flags(rotate, ["database_url", "secret_key"])
    rotate.set_defaults(handler=_rotate_secrets)
    register_workflows_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], Any] = args.handler
    try:
        handler(args)
    except SettingsError as error:
        print(f"wf: bad setting: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
