"""The raw-click drill-downs that read ClickHouse, and the same questions asked of the database.

These are the reports the rollups cannot answer: any sub id, IP or user agent over long
periods. Each SQL string here is what runs on ClickHouse (the tests run it on chdb and hold it
to the database's answer); the `_from_database` twins answer from PostgreSQL (or SQLite) when
ClickHouse is off, and are what the benchmark compares against. Periods are [since, until) in
UTC; rows come back as tuples in the order the SQL gives them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from leads.models import Click, Verdict

# A publisher's clicks by UTC day, country and device type.
CLICKS_BY_COUNTRY_DEVICE_DAY = """
SELECT toDate(created_at) AS day, country, device_type, count() AS clicks
FROM clicks
WHERE organization_id = {organization_id:UInt64} AND partner_id = {partner_id:UInt64}
  AND created_at >= {since:DateTime} AND created_at < {until:DateTime}
GROUP BY day, country, device_type
ORDER BY day, country, device_type
"""

# A publisher's sources (sub1): clicks, distinct IPs and clicks screened (any verdict but ok).
CLICKS_BY_SUB1 = """
SELECT sub1, count() AS clicks, uniqExact(ip) AS ips, countIf(verdict != 'ok') AS screened
FROM clicks
WHERE organization_id = {organization_id:UInt64} AND partner_id = {partner_id:UInt64}
  AND created_at >= {since:DateTime} AND created_at < {until:DateTime}
GROUP BY sub1
ORDER BY clicks DESC, sub1
"""

# The busiest IPs across every publisher: clicks, distinct user agents and publishers.
CLICKS_BY_IP = """
SELECT ip, count() AS clicks, uniqExact(user_agent) AS user_agents, uniqExact(partner_id) AS partners
FROM clicks
WHERE organization_id = {organization_id:UInt64} AND ip != ''
  AND created_at >= {since:DateTime} AND created_at < {until:DateTime}
GROUP BY ip
HAVING clicks >= {min_clicks:UInt32}
ORDER BY clicks DESC, ip
LIMIT {limit:UInt32}
"""


def _columnar(client: Any, sql: str, **parameters: Any) -> list[tuple]:
    return [tuple(row) for row in client.query(sql, parameters=parameters).result_rows]


def _period(organization_id: int, since: datetime, until: datetime) -> QuerySet:
    return Click.objects.filter(organization_id=organization_id, created_at__gte=since, created_at__lt=until)


def clicks_by_country_device_day(
    client: Any, *, organization_id: int, partner_id: int, since: datetime, until: datetime
) -> list[tuple]:
    """(day, country, device type, clicks) of a publisher's clicks, from ClickHouse."""
    return _columnar(
        client,
        CLICKS_BY_COUNTRY_DEVICE_DAY,
        organization_id=organization_id,
        partner_id=partner_id,
        since=since,
        until=until,
    )


def clicks_by_country_device_day_from_database(
    *, organization_id: int, partner_id: int, since: datetime, until: datetime
) -> list[tuple]:
    rows = (
        _period(organization_id, since, until)
        .filter(partner_id=partner_id)
        .annotate(day=TruncDate("created_at"))
        .values_list("day", "country", "device_type")
        .annotate(clicks=Count("id"))
        .order_by("day", "country", "device_type")
    )
    return list(rows)


def clicks_by_sub1(
    client: Any, *, organization_id: int, partner_id: int, since: datetime, until: datetime
) -> list[tuple]:
    """(sub1, clicks, distinct IPs, screened clicks) of a publisher's sources, busiest first."""
    return _columnar(
        client,
        CLICKS_BY_SUB1,
        organization_id=organization_id,
        partner_id=partner_id,
        since=since,
        until=until,
    )


def clicks_by_sub1_from_database(
    *, organization_id: int, partner_id: int, since: datetime, until: datetime
) -> list[tuple]:
    rows = (
        _period(organization_id, since, until)
        .filter(partner_id=partner_id)
        .values_list("sub1")
        .annotate(
            clicks=Count("id"),
            ips=Count("ip", distinct=True),
            screened=Count("id", filter=~Q(verdict=Verdict.OK)),
        )
        .order_by("-clicks", "sub1")
    )
    return list(rows)


def clicks_by_ip(
    client: Any,
    *,
    organization_id: int,
    since: datetime,
    until: datetime,
    min_clicks: int = 1,
    limit: int = 100,
) -> list[tuple]:
    """(IP, clicks, distinct user agents, distinct publishers) of the busiest IPs, from ClickHouse."""
    return _columnar(
        client,
        CLICKS_BY_IP,
        organization_id=organization_id,
        since=since,
        until=until,
        min_clicks=min_clicks,
        limit=limit,
    )


def clicks_by_ip_from_database(
    *, organization_id: int, since: datetime, until: datetime, min_clicks: int = 1, limit: int = 100
) -> list[tuple]:
    rows = (
        _period(organization_id, since, until)
        .exclude(ip="")
        .values_list("ip")
        .annotate(
            clicks=Count("id"),
            user_agents=Count("user_agent", distinct=True),
            partners=Count("partner_id", distinct=True),
        )
        .filter(clicks__gte=min_clicks)
        .order_by("-clicks", "ip")
    )
    return list(rows[:limit])
