"""
Reply templates sealed like notes (docs/encryption.md).

Their title and text move from plain columns into sealed ones. The migration
cannot seal (that needs the organisation's public key and the live sealing
code), so it stores each existing text as a value from before content keys:
encrypted at rest under ENCRYPTION_KEY at once, and read as before. It is
sealed to the organisation the first time a caseworker with access opens the
templates (cases.access.open_templates), or by `manage.py seal_content`.
"""

from django.db import migrations, models

import encryption.fields


def to_encrypted_columns(apps, schema_editor):
    ReplyTemplate = apps.get_model("cases", "ReplyTemplate")
    for template in ReplyTemplate.objects.order_by("pk").iterator():
        template.title_sealed = encryption.fields.Unsealed(template.title)
        template.body_sealed = encryption.fields.Unsealed(template.body)
        template.save(update_fields=["title_sealed", "body_sealed"])


def to_plain_columns(apps, schema_editor):
    ReplyTemplate = apps.get_model("cases", "ReplyTemplate")
    for template in ReplyTemplate.objects.order_by("pk").iterator():
        if not all(
            isinstance(value, encryption.fields.Unsealed) or value == ""
            for value in (template.title_sealed, template.body_sealed)
        ):
            raise RuntimeError(
                f"Reply template {template.pk} is sealed to the organisation: only a "
                "caseworker's session can open it, so it cannot be moved back to a plain "
                "column. Delete the sealed templates first, or stay on this version."
            )
        template.title = str(template.title_sealed)
        template.body = str(template.body_sealed)
        template.save(update_fields=["title", "body"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_flood_rejection_and_held_bytes"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="replytemplate", name="reply_template_unique"),
        migrations.AlterModelOptions(
            name="replytemplate",
            options={
                "ordering": ["language", "pk"],
                "verbose_name": "reply template",
                "verbose_name_plural": "reply templates",
            },
        ),
        migrations.AddField(
            model_name="replytemplate",
            name="item_key",
            field=models.BinaryField(blank=True, db_default=b"", default=b""),
        ),
        migrations.AddField(
            model_name="replytemplate",
            name="title_sealed",
            field=encryption.fields.SealedTextField(
                blank=True, default="", key_field="item_key", null=True, verbose_name="title"
            ),
        ),
        migrations.AddField(
            model_name="replytemplate",
            name="body_sealed",
            field=encryption.fields.SealedTextField(
                blank=True, default="", key_field="item_key", null=True, verbose_name="text"
            ),
        ),
        migrations.RunPython(to_encrypted_columns, to_plain_columns),
        migrations.RemoveField(model_name="replytemplate", name="title"),
        migrations.RemoveField(model_name="replytemplate", name="body"),
        migrations.RenameField(
            model_name="replytemplate", old_name="title_sealed", new_name="title"
        ),
        migrations.RenameField(model_name="replytemplate", old_name="body_sealed", new_name="body"),
    ]
