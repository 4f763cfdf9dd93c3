# Records keep whether they can be placed through the API (so SQL can apply the one
# "can be ordered" rule) and which of the supplier's calls returned them.

from django.db import migrations, models


def derive_orderable_through_api(apps, schema_editor):
    """Existing records: the rule of gateway.PreviewRecord.can_order_through_api, applied
    to the trade modes they stored (an empty trade-mode list: only on the 1688 site)."""
    PreviewRecord = apps.get_model("previews", "PreviewRecord")
    blocked = [
        record.pk
        for record in PreviewRecord.objects.only("trade_mode_names", "trade_modes").iterator()
        if not record.trade_mode_names
        or (
            record.trade_modes
            and not any(mode.get("op_support", True) for mode in record.trade_modes)
        )
    ]
    PreviewRecord.objects.filter(pk__in=blocked).update(orderable_through_api=False)


class Migration(migrations.Migration):
    dependencies = [
        ("previews", "0002_preview_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="previewrecord",
            name="orderable_through_api",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="previewrecord",
            name="part",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(derive_orderable_through_api, migrations.RunPython.noop),
    ]
