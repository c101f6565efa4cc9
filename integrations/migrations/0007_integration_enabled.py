# An explicit enabled flag replaces "no events selected, the chosen ones kept in
# disabled_events"; every integration keeps what it did: one with events stays enabled, a
# disabled one gets its remembered events back with enabled=False, one that never had events is
# disabled. Pauses are left as they are. Trigger rows now describe configuration only, so the
# disabled ones get theirs. An authentication entry's type is told by its ID: no longer stored.

from typing import Any

from django.db import migrations, models

from conversations.choices import ChannelType, Event
from integrations.choices import SUPPORTED_EVENTS, conversation_types


def _trigger_rows(integration: Any) -> list[tuple[str, str, str, int | None]]:
    """`services.trigger_rows` as it stood when this migration was written.

    Its logic is kept here; the tables of events per conversation type are read as they are
    when the migration runs, since the rows must match the tables the runtime reads then.
    """
    chosen = set(integration.events)
    scopes = [(q.pk, q.channel_type) for q in integration.queues.all()]
    rows: list[tuple[str, str, str, int | None]] = []
    for channel, way in conversation_types(integration.channel_type, integration.direction):
        targets: list[int | None] = [pk for pk, kind in scopes if kind == channel]
        if (channel == ChannelType.CHAT and integration.direct_chats) or (
            channel == ChannelType.PHONE and integration.direct_calls
        ):
            targets.append(None)
        for event in SUPPORTED_EVENTS[(channel, way)]:
            if event in chosen:
                rows.extend((event, channel, way, target) for target in targets)
    return rows


def enabled_from_events(apps: Any, schema_editor: Any) -> None:
    integration_model = apps.get_model("integrations", "Integration")
    trigger_model = apps.get_model("integrations", "IntegrationTrigger")
    for integration in integration_model.objects.order_by("pk"):
        if integration.events:
            continue  # enabled (the field's default), as it was
        chosen = set(integration.disabled_events or [])
        integration.events = [event for event in Event.values if event in chosen]
        integration.enabled = False
        integration.disabled_events = []
        integration.save(update_fields=["events", "enabled", "disabled_events"])
        trigger_model.objects.filter(integration=integration).delete()
        trigger_model.objects.bulk_create(
            trigger_model(
                integration=integration,
                event=event,
                channel_type=channel,
                direction=way,
                queue_id=queue_id,
            )
            for event, channel, way, queue_id in _trigger_rows(integration)
        )


def events_from_enabled(apps: Any, schema_editor: Any) -> None:
    integration_model = apps.get_model("integrations", "Integration")
    trigger_model = apps.get_model("integrations", "IntegrationTrigger")
    for integration in integration_model.objects.filter(enabled=False).order_by("pk"):
        integration.disabled_events = list(integration.events)
        integration.events = []
        integration.save(update_fields=["events", "disabled_events"])
        trigger_model.objects.filter(integration=integration).delete()


def types_from_ids(apps: Any, schema_editor: Any) -> None:
    entry_model = apps.get_model("integrations", "IntegrationAuthentication")
    for kind in ("basic", "digest", "oauth"):
        entry_model.objects.filter(authentication_id__startswith=f"{kind}:").update(type=kind)


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0006_delivery_followed_once"),
    ]

    operations = [
        migrations.AddField(
            model_name="integration",
            name="enabled",
            field=models.BooleanField(
                default=True,
                editable=False,
                help_text=(
                    "Changed by Disable and Enable; saving with no event selected disables it. "
                    "Its events are kept either way."
                ),
                verbose_name="enabled",
            ),
        ),
        migrations.RunPython(enabled_from_events, events_from_enabled, elidable=False),
        migrations.RemoveField(model_name="integration", name="disabled_events"),
        migrations.AlterField(
            model_name="integration",
            name="paused_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text=(
                    "Set when the endpoint failed too often in a row; Resume (or Enable) clears it."
                ),
                null=True,
                verbose_name="paused",
            ),
        ),
        # Backwards, the column comes back as "header" (this default) and is told from the IDs.
        migrations.AlterField(
            model_name="integrationauthentication",
            name="type",
            field=models.CharField(
                choices=[
                    ("basic", "Basic"),
                    ("digest", "Digest"),
                    ("header", "Header value"),
                    ("oauth", "OAuth client credentials"),
                ],
                default="header",
                editable=False,
                max_length=8,
                verbose_name="type",
            ),
        ),
        migrations.RunPython(migrations.RunPython.noop, types_from_ids, elidable=False),
        migrations.RemoveField(model_name="integrationauthentication", name="type"),
    ]
