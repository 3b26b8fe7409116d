"""The database adapter: every persistence port and the outbox, on SQLAlchemy 2 Core.

One schema for SQLite (`sqlite+aiosqlite://`) and PostgreSQL (`postgresql+asyncpg://`):

- `engine.create_database(url)` -> `Database` (dispose it at shutdown),
- `secrets.FernetSecretBox(keys)`, newest key first; `key_rotation.rotate_secrets` re-encrypts,
- `unit_of_work.SqlUnitOfWorkFactory(database, secret_box)`, the use cases' `uow`,
- `migrate.upgrade(url)` / `downgrade` / `migrate_to` / `current` (and `_async` variants).
"""
