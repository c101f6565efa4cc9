"""An index on finished task rows' finish time, for retention (configurator.retention).

django-tasks-db indexes only the rows waiting to run; pruning finished ones by age would scan
the whole table. The index belongs to a table of another package, so it is plain SQL here
(valid on PostgreSQL and SQLite) and invisible to that package's migrations.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("configurator", "0001_workers"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS configurator_task_finished "
                "ON django_tasks_database_dbtaskresult (finished_at) WHERE finished_at IS NOT NULL"
            ),
            reverse_sql="DROP INDEX IF EXISTS configurator_task_finished",
        )
    ]
