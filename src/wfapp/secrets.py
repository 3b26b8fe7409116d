"""Where the key that encrypts agent secrets comes from."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from adapters_db.engine import create_database
from adapters_db.key_rotation import rotate_secrets
from adapters_db.secrets import FernetSecretBox
from wfapp.settings import Settings, SettingsError
from wfcore.domain.errors import ErrorDetail, InvalidInput, ServiceUnavailable
from wfcore.ports.system import SecretBox


def secret_keys(settings: Settings) -> tuple[str, ...]:
    """`WF_SECRET_KEY` when set; in the embedded default, a key file beside the SQLite database.

    The key file is made on first start with mode 0600, so secrets are never stored in clear.
    A distributed deployment must set `WF_SECRET_KEY`: its processes must share one key.
    """
    if settings.secret_key:
        for key in settings.secret_key:
            try:
                Fernet(key.encode())
            except ValueError:
                raise SettingsError(
                    "WF_SECRET_KEY: each key must be a Fernet key (32 url-safe base64-encoded bytes); "
                    "make one with: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())'"
                ) from None
        return settings.secret_key
    key_file = key_file_for(settings.database_url)
    if key_file is None:
        return ()
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(Fernet.generate_key().decode() + "\n")
    return (key_file.read_text().strip(),)


def key_file_for(database_url: str) -> Path | None:
    """`<database file>.key` for a SQLite file database; None otherwise (memory or PostgreSQL)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + ".key")


class KeylessSecretBox:
    """Where no key is configured (a PostgreSQL deployment without WF_SECRET_KEY): secrets are refused.

    Agents without auth work as usual; registering one with a secret is a 422 that says what to do.
    """

    def encrypt(self, plaintext: str) -> str:
        raise InvalidInput(
            errors=[ErrorDetail(loc=("auth_config",), msg=_NO_KEY, type="secret_key_missing")],
            message="Agent secrets cannot be stored without WF_SECRET_KEY",
        )

    def decrypt(self, token: str) -> str:
        raise ServiceUnavailable("a stored agent secret cannot be read: " + _NO_KEY)


_NO_KEY = (
    "agent secrets are stored encrypted and this deployment has no key: set WF_SECRET_KEY "
    "(the same value on every wf process) and restart"
)


def secret_box_for(settings: Settings) -> SecretBox:
    keys = secret_keys(settings)
    return FernetSecretBox(keys) if keys else KeylessSecretBox()


async def rotate_stored_secrets(settings: Settings) -> int:
    """Re-encrypt every stored agent secret with the newest key; returns how many were rotated."""
    keys = secret_keys(settings)
    if not keys:
        raise SettingsError("WF_SECRET_KEY: no key is configured, so there is nothing to rotate to")
    database = create_database(settings.database_url)
    try:
        return await rotate_secrets(database, FernetSecretBox(keys))
    finally:
        await database.dispose()
