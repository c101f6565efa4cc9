"""Queue names unique regardless of case; descriptions limited (configurator.limits).

Queues whose names differ only in case from an older queue's are renamed first ("sales" →
"sales (2)"), each rename printed in the migration's output (configurator.names).
"""

from django.db import migrations, models
from django.db.models.functions import Lower

import configurator.limits
import configurator.names


class Migration(migrations.Migration):
    dependencies = [
        ("queues", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(
            configurator.names.migration_rename_step("queues", "Queue"),
            migrations.RunPython.noop,
        ),
        migrations.AlterField(
            model_name="queue",
            name="description",
            field=models.TextField(
                blank=True,
                validators=[configurator.limits.MaxTextLength(2000)],
                verbose_name="description",
            ),
        ),
        migrations.AlterField(
            model_name="queue",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name"),
        ),
        migrations.AddIndex(
            model_name="queue",
            index=models.Index(fields=["name"], name="queues_queue_name"),
        ),
        migrations.AddConstraint(
            model_name="queue",
            constraint=configurator.names.UniqueNameIgnoringCase(
                Lower("name"), name="queues_queue_name_unique_ignoring_case"
            ),
        ),
    ]
