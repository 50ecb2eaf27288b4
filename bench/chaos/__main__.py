"""Entry point of `python -m bench.chaos` (`make chaos`): set the environment, then run."""

from __future__ import annotations

import os
import signal
import sys

# Production-like (DEBUG off, quiet logs) apart from plain HTTP on loopback; every process the
# run starts inherits these.
DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "OUTBOUND_ALLOW_PRIVATE": "true",
    # Deliveries' retry delays a hundredth of production's: a 503 is retried within seconds.
    "OUTBOUND_TIME_SCALE": "0.01",
    "LOG_LEVEL": "WARNING",
    "SECRET_KEY": "chaos-only-secret-key-not-used-anywhere-else-0123456789",
    "PUBLIC_BASE_URL": "http://127.0.0.1",
    # Rate limits stay on but above the run's load: its senders post from one address with one
    # token as fast as they can, and a 429 would leave no log row to check (it is tallied).
    "RATE_LIMIT_PER_IP": "100000000",
    "RATE_LIMIT_PER_TOKEN": "100000000",
    "RATE_LIMIT_API_PER_IP": "100000000",
    "RATE_LIMIT_API_PER_USER": "100000000",
    # Whitenoise warns once per process that `collectstatic` never ran; the run serves no static files.
    "PYTHONWARNINGS": "ignore:No directory at",
}


def main() -> int:
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    # Never the developer's own database: the run drops and recreates it. Its Redis is its own
    # redis-server, started by the run (REDIS_URL is set once its port is chosen).
    os.environ["DATABASE_URL"] = os.environ.get(
        "CHAOS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/partnerdesk_chaos"
    )
    # SIGTERM (a CI timeout) unwinds like an error, so the run's processes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # Imported only now: Django reads the environment when the settings load.
    from bench.chaos.runner import run

    return run()


if __name__ == "__main__":
    sys.exit(main())
