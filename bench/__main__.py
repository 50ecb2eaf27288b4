"""Entry point of `python -m bench`: set the environment, then run every section."""

from __future__ import annotations

import os
import sys

# What the benchmark runs against unless the caller says otherwise; production-like
# (DEBUG off, quiet logs) apart from plain HTTP on loopback.
DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "BENCH_BASELINE": "true",
    "LOG_LEVEL": "WARNING",
    "SECRET_KEY": "bench-only-secret-key-not-used-anywhere-else-0123456789",
    "PUBLIC_BASE_URL": "http://127.0.0.1",
    # Rate limits stay on, so their cost is measured, but above the bench's load: wrk sends
    # thousands a second with one token (the clicks one link code, the postbacks one app
    # token, from one address), far past the production defaults (README "Rate limits").
    "RATE_LIMIT_PER_IP": "100000000",
    "RATE_LIMIT_PER_TOKEN": "100000000",
}


def main() -> int:
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    # Never the developer's own database: the bench fills and truncates tables.
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/partnerdesk_bench"
    )
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    # Imported only now: Django reads the environment when the settings load.
    from bench.runner import run

    return run()


if __name__ == "__main__":
    sys.exit(main())
