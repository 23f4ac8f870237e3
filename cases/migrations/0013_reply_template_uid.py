"""
Reply templates get a random name that their sealed content is bound to
(docs/encryption.md, version 2): added empty, filled row by row, then unique.
"""

import secrets

from django.db import migrations, models

import cases.models


def name_each_template(apps, schema_editor):
    ReplyTemplate = apps.get_model("cases", "ReplyTemplate")
    for template in ReplyTemplate.objects.filter(uid__isnull=True).only("pk"):
        ReplyTemplate.objects.filter(pk=template.pk).update(uid=secrets.token_hex(16))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0012_reply_templates_sealed"),
    ]

    operations = [
        migrations.AddField(
            model_name="replytemplate",
            name="uid",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        migrations.RunPython(name_each_template, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="replytemplate",
            name="uid",
            field=models.CharField(
                default=cases.models.new_template_uid, editable=False, max_length=32, unique=True
            ),
        ),
    ]
