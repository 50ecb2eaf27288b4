"""Raw clicks copied to ClickHouse for long-period drill-downs (docs/clickhouse.md).

Off unless CLICKHOUSE_URL is set.
"""
