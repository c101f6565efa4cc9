"""Integration names unique regardless of case; descriptions and JSON configurations limited
(configurator.limits).

Integrations whose names differ only in case from an older integration's are renamed first
("crm" → "crm (2)"), each rename printed in the migration's output (configurator.names).
"""

from django.db import migrations, models
from django.db.models.functions import Lower

import configurator.limits
import configurator.names
import integrations.models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0009_delivery_simulated_index"),
    ]

    operations = [
        migrations.RunPython(
            configurator.names.migration_rename_step("integrations", "Integration"),
            migrations.RunPython.noop,
        ),
        migrations.AlterField(
            model_name="integration",
            name="configuration",
            field=integrations.models.OrderedJSONField(
                default=dict,
                validators=[configurator.limits.MaxJsonSize(65536)],
                verbose_name="JSON for configuration",
            ),
        ),
        migrations.AlterField(
            model_name="integration",
            name="description",
            field=models.TextField(
                blank=True,
                validators=[configurator.limits.MaxTextLength(2000)],
                verbose_name="description",
            ),
        ),
        migrations.AlterField(
            model_name="integration",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name"),
        ),
        migrations.AddConstraint(
            model_name="integration",
            constraint=configurator.names.UniqueNameIgnoringCase(
                Lower("name"), name="integrations_integration_name_unique_ignoring_case"
            ),
        ),
    ]
