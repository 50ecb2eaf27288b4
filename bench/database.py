"""The PostgreSQL databases of the benchmark and the chaos run: created (or recreated) on demand."""

from __future__ import annotations

from typing import Any

import environ
import psycopg
from psycopg import sql


def _server(url: str) -> tuple[str, dict[str, Any]]:
    """The database's name, and how to reach the server's `postgres` database to create it."""
    config = environ.Env.db_url_config(url)
    if not config["ENGINE"].endswith("postgresql"):
        raise SystemExit(f"This run needs PostgreSQL; the database URL is {url}.")
    connect = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    return config["NAME"], {key: value for key, value in connect.items() if value}


def ensure_database(url: str) -> None:
    """Create the database named by `url` if the server does not have it yet."""
    name, connect = _server(url)
    with psycopg.connect(**connect, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def recreate_database(url: str) -> None:
    """Drop the database named by `url` (closing its sessions) and create it empty."""
    name, connect = _server(url)
    with psycopg.connect(**connect, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
