# Every integration that exists when versions arrive gets its version 1: what it is now, as a
# system change by nobody (who made it is not known). The snapshot is
# `integrations.versions.snapshot_of` as it stood when this migration was written.

from typing import Any

from django.db import migrations
from django.utils import timezone

FIELDS = (
    "name",
    "description",
    "channel_type",
    "endpoint_url",
    "ordinal",
    "direction",
    "events",
    "enabled",
    "direct_chats",
    "direct_calls",
)


def first_versions(apps: Any, schema_editor: Any) -> None:
    Integration = apps.get_model("integrations", "Integration")
    IntegrationVersion = apps.get_model("integrations", "IntegrationVersion")
    now = timezone.now()
    integrations = Integration.objects.filter(versions__isnull=True).prefetch_related(
        "queues", "authentications"
    )
    rows = []
    for integration in integrations.iterator(chunk_size=500):
        snapshot: dict[str, Any] = {name: getattr(integration, name) for name in FIELDS}
        snapshot["queues"] = [
            {"id": q.pk, "name": q.name} for q in sorted(integration.queues.all(), key=_pk)
        ]
        snapshot["authentications"] = sorted(
            a.authentication_id for a in integration.authentications.all()
        )
        snapshot["configuration"] = integration.configuration
        rows.append(
            IntegrationVersion(
                integration=integration,
                number=1,
                snapshot=snapshot,
                changed=[],
                via="system",
                created_at=now,
            )
        )
    IntegrationVersion.objects.bulk_create(rows, batch_size=500)


def _pk(row: Any) -> int:
    return int(row.pk)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0011_integration_versions")]

    operations = [migrations.RunPython(first_versions, migrations.RunPython.noop)]
