"""How far the raw clicks have been copied to ClickHouse."""

from __future__ import annotations

from django.db import models

from config.i18n import admin_text


class ExportMark(models.Model):
    """The exporter's own watermark: clicks up to `exported_id` are in ClickHouse.

    A batch is claimed by writing its upper id to `sending_id` before it is sent, and confirmed
    by moving `exported_id` up to it afterwards: a batch whose insert failed (or whose exporter
    died) is sent again with exactly the same ids and the same deduplication token, so ClickHouse
    drops the repeat. Ids are exported only once they were the newest a moment ago (`pending_id`,
    `pending_at`), as the rollups' fold does, so an insert still in flight is not skipped.
    """

    name = models.CharField(max_length=20, unique=True, verbose_name=admin_text("name"))
    exported_id = models.BigIntegerField(default=0, verbose_name=admin_text("exported id"))
    sending_id = models.BigIntegerField(default=0, verbose_name=admin_text("sending id"))
    pending_id = models.BigIntegerField(default=0, verbose_name=admin_text("pending id"))
    pending_at = models.DateTimeField(null=True, blank=True, verbose_name=admin_text("pending at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=admin_text("updated at"))

    class Meta:
        verbose_name = admin_text("export mark")
        verbose_name_plural = admin_text("export marks")

    def __str__(self) -> str:
        return f"{self.name} ≤ {self.exported_id}"
