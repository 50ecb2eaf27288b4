"""Existing leads get their click's facts (Lead.click_facts), in batches of leads by id.

Not atomic: each batch commits on its own, so a large table is not locked for the whole run
and an interrupted run resumes where it stopped (it fills only leads still without facts).

The list of facts is frozen here as it was when this migration was written (leads.models.CLICK_FACTS).
"""

from django.db import migrations, transaction

FACTS = (
    "click_id",
    "partner_click_id",
    "ref_id",
    "creative_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "idfa",
    "gaid",
    "android_id",
    "device_id",
    "ip",
    "user_agent",
    "device_type",
    "os",
    "browser",
    "country",
    "language",
    "asn",
    "as_org",
    "landing_id",
    "smart_link_id",
    "redirect_reason",
    "created_at",
)
BATCH = 50_000


def _postgresql(cursor) -> None:
    pairs = ", ".join(f"'{name}', c.{name}" for name in FACTS)
    cursor.execute("SELECT COALESCE(max(id), 0) FROM leads_lead WHERE click_id IS NOT NULL")
    newest = cursor.fetchone()[0]
    for low in range(0, newest + 1, BATCH):
        # Nulls left out, as leads.models.click_facts does.
        with transaction.atomic():
            cursor.execute(
                f"UPDATE leads_lead l SET click_facts = jsonb_strip_nulls(jsonb_build_object({pairs})) "
                "FROM leads_click c WHERE c.id = l.click_id AND l.id > %s AND l.id <= %s AND l.click_facts = '{}'",
                [low, low + BATCH],
            )


def backfill(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            _postgresql(cursor)
        return
    Lead = apps.get_model("leads", "Lead")
    leads = Lead.objects.filter(click__isnull=False, click_facts={}).select_related("click")
    while batch := list(leads[:1000]):
        for lead in batch:
            facts = {name: getattr(lead.click, name) for name in FACTS}
            facts["created_at"] = lead.click.created_at.isoformat()
            lead.click_facts = {name: value for name, value in facts.items() if value is not None}
        with transaction.atomic():
            Lead.objects.bulk_update(batch, ["click_facts"])


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("leads", "0015_partition_raw_traffic")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False)]
