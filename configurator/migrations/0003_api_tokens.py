"""API tokens become hashed django-rest-knox tokens; DRF's plain-text tokens are carried over.

Each existing DRF token (`authtoken_token`: a 40-character hex key in plain text) becomes a knox
token with the same key, of which only the SHA-512 digest and the first 15 characters are kept,
so clients keep working unchanged. The plain-text table is then dropped, and the content types
(with their permissions) of the removed `rest_framework.authtoken` app are deleted.
"""

import hashlib

from django.db import migrations

DRF_TABLE = "authtoken_token"
KNOX_KEY_LENGTH = 15  # knox.settings.CONSTANTS.TOKEN_KEY_LENGTH, fixed by knox's table


def carry_over_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    AuthToken = apps.get_model("knox", "AuthToken")
    if DRF_TABLE in connection.introspection.table_names():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT key, user_id, created FROM {DRF_TABLE}")  # noqa: S608
            rows = cursor.fetchall()
        for key, user_id, created in rows:
            digest = hashlib.sha512(key.encode()).hexdigest()  # knox.crypto.hash_token
            if AuthToken.objects.filter(digest=digest).exists():
                continue
            token = AuthToken.objects.create(
                digest=digest,
                token_key=key[:KNOX_KEY_LENGTH],
                user_id=user_id,
                expiry=None,
            )
            # auto_now_add set "now"; keep when the DRF token was made.
            AuthToken.objects.filter(pk=token.pk).update(created=created)
        schema_editor.execute(
            schema_editor.sql_delete_table % {"table": schema_editor.quote_name(DRF_TABLE)}
        )
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="authtoken").delete()


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("configurator", "0002_task_results_finished_index"),
        ("knox", "0009_extend_authtoken_field"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "ordering": ["-created"],
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("knox.authtoken",),
        ),
        migrations.RunPython(carry_over_drf_tokens, migrations.RunPython.noop),
    ]
