"""`make bench` (`python -m bench`): requests/s and p99 of the hot paths against a bare baseline.

Each section drives one endpoint with wrk against the same gunicorn, PostgreSQL and Redis,
in one run, and is compared with the baseline (one INSERT and a 302 in a bare view).
"""
