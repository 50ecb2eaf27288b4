"""`make chaos`: lead postbacks under load while Redis and the Celery worker are killed, then proof
that nothing was lost (SPEC 4, "Nothing that arrives is lost")."""
