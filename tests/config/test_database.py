"""PostgreSQL plans a statement a connection repeats once: prepared statements are on."""

from __future__ import annotations

import pytest
from django.db import connection

from leads.models import Click

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"
)


def _prepared() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_a_query_a_connection_repeats_is_prepared():
    for _ in range(10):
        list(Click.objects.filter(click_id="none-such"))

    assert any('FROM "leads_click"' in statement for statement in _prepared())
