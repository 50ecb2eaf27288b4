"""Lead events become the feed of the report rollups (`leads.rollups`).

Events written before this migration were already counted by the request that wrote them,
so they are stamped folded here; only events written from now on are left for the fold.
"""

from django.db import migrations, models
from django.db.models.functions import Now


def _mark_counted(apps, schema_editor):
    LeadEvent = apps.get_model("leads", "LeadEvent")
    LeadEvent.objects.using(schema_editor.connection.alias).update(folded_at=Now())


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0004_inbound_moved_to_ingest"),
    ]

    operations = [
        migrations.AddField(
            model_name="leadevent",
            name="folded_at",
            field=models.DateTimeField(
                blank=True, help_text="When the report rollups counted this event; empty until then.", null=True
            ),
        ),
        migrations.RunPython(_mark_counted, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="leadevent",
            index=models.Index(
                condition=models.Q(("folded_at__isnull", True)), fields=["id"], name="leadevent_unfolded"
            ),
        ),
    ]
