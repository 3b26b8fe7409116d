"""Where the key that encrypts agent secrets comes from."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from wfapp.settings import Settings, SettingsError


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
