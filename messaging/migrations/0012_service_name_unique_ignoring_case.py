"""Messaging service names unique regardless of case.

Services whose names differ only in case from an older service's are renamed first ("eu" →
"eu (2)"), each rename printed in the migration's output (configurator.names).
"""

from django.db import migrations, models
from django.db.models.functions import Lower

import configurator.names


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0011_callback_simulated_index"),
    ]

    operations = [
        migrations.RunPython(
            configurator.names.migration_rename_step("messaging", "MessagingService"),
            migrations.RunPython.noop,
        ),
        migrations.AlterField(
            model_name="messagingservice",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name"),
        ),
        migrations.AddConstraint(
            model_name="messagingservice",
            constraint=configurator.names.UniqueNameIgnoringCase(
                Lower("name"), name="messaging_service_name_unique_ignoring_case"
            ),
        ),
    ]
