"""The benchmark's PostgreSQL database: created when missing."""

from __future__ import annotations

import environ
import psycopg
from psycopg import sql


def ensure_database(url: str) -> None:
    """Create the database named by `url` if the server does not have it yet."""
    config = environ.Env.db_url_config(url)
    if not config["ENGINE"].endswith("postgresql"):
        raise SystemExit(f"The benchmark needs PostgreSQL; DATABASE_URL is {url}.")
    name = config["NAME"]
    connect = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in connect.items() if v}, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
