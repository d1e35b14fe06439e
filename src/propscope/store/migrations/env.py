"""Alembic environment for propscope's store, run programmatically by `Store.open`.

`Store.open` passes its own connection, already inside a write transaction (and holding a lock
on PostgreSQL), through `config.attributes["connection"]`, so concurrent openers migrate once.
Run by hand, `alembic -x url=sqlite:///path.db upgrade head` with `-c` pointing at a config whose
script_location is this folder also works.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from propscope.store.schema import Base

config = context.config


def _configure(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite can only ALTER TABLE by copying it
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("propscope's migrations run online only: Store.open(url) applies them.")
run_migrations_online()
