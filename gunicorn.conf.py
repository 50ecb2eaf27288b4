"""gunicorn's configuration for production (SPEC 9); gunicorn reads it from the working directory.

    gunicorn config.wsgi      # from the project root, or: gunicorn -c /path/to/gunicorn.conf.py config.wsgi

Every value comes from the environment, so one file serves every machine:

- `GUNICORN_BIND` (else `0.0.0.0:$PORT`, `PORT` defaulting to 8000);
- `WEB_CONCURRENCY` worker processes (4) and `GUNICORN_THREADS` threads each (4; 1 means
  gunicorn's sync worker). Each worker holds its own database pool of up to
  `DATABASE_POOL_MAX_SIZE` connections: keep that ≥ the threads, and workers × pool size
  (plus Celery) under PostgreSQL's max_connections (README, Production);
- `GUNICORN_ACCESS_LOG`: where the access log goes (`-`, stdout, by default; empty for none).

Partners send long postbacks (click ids, sub ids, landing URLs in parameters): the request line
may be as long as gunicorn allows (8190 bytes; 0 would mean no limit at all, i.e. unbounded
memory per connection). Django refuses ingestion URLs over `INGEST_MAX_URL_LENGTH` (8000)
with a JSON 414 before gunicorn's own plain 414 could. The access log leaves out query
strings and the referrer: tokens and click ids travel there.
"""

from __future__ import annotations

import os

bind = [os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 30

limit_request_line = 8190

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'


def post_worker_init(worker: object) -> None:
    """Open the GeoIP data (leads.geoip, about a second) before the worker takes its first click."""
    from leads import geoip

    geoip.warm()
