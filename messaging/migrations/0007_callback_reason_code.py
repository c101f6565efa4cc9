"""Callbacks carry what the code decides from their reason in `reason_code`.

Until now the gateway re-queued delivery reports whose reason was the sentence "no outbound
message with this id", and the worker kept a takeover note when the reason began with
"attempt ". The data step fills the code from those sentences, so that no report waiting for
its message is lost and no note of a callback in progress is dropped.
"""

from typing import Any

from django.db import migrations, models

UNKNOWN_MESSAGE_REASON = "no outbound message with this id"


def codes_from_reasons(apps: Any, schema_editor: Any) -> None:
    callback = apps.get_model("messaging", "Callback")
    callback.objects.filter(
        status="ignored", trigger="MESSAGE_DELIVERY", status_reason=UNKNOWN_MESSAGE_REASON
    ).update(reason_code="outbound_message_unknown")
    callback.objects.filter(status="pending", status_reason__startswith="attempt ").update(
        reason_code="attempt_note"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0006_api_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="callback",
            name="reason_code",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "—"),
                    ("attempt_note", "note on an attempt"),
                    ("outbound_message_unknown", "waits for its outbound message"),
                ],
                db_default="",
                default="",
                max_length=32,
                verbose_name="reason code",
            ),
        ),
        migrations.RunPython(codes_from_reasons, migrations.RunPython.noop),
    ]
