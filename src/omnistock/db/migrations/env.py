"""Alembic environment. omnistock runs migrations itself (`Database.migrate`), passing the
connection in `config.attributes["connection"]`; `alembic -x url=...` works for developers."""

from alembic import context
from sqlalchemy import Connection, create_engine

from omnistock.db.tables import metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        url = context.get_x_argument(as_dictionary=True)["url"]
        with create_engine(url).begin() as connection:
            _migrate(connection)
    else:
        _migrate(connection)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
