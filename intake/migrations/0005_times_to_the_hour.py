"""
Times stored before this release, set to the start of their hour (in
TIME_ZONE), as every new one is (core.clock): a request's and its messages'
times, its case's, its 'created' event's, and a bot token's last use. Staff
times on the same columns (a case's last move, say) lose minutes they never
needed. Audit entries are append-only and hash-chained, so they are left alone.
"""

from django.db import migrations
from django.db.models.functions import TruncHour

FLOORED = {
    ("intake", "HelpRequest"): ["received_at"],
    ("intake", "RequestMessage"): ["sent_at"],
    ("intake", "BotToken"): ["last_used_at"],
    ("cases", "Case"): [
        "created_at", "updated_at", "last_activity_at", "notified_at", "unread_message_at",
    ],
}  # fmt: skip


def floor_to_the_hour(apps, schema_editor) -> None:
    for (app_label, model_name), fields in FLOORED.items():
        model = apps.get_model(app_label, model_name)
        for name in fields:
            model.objects.filter(**{f"{name}__isnull": False}).update(**{name: TruncHour(name)})
    event = apps.get_model("cases", "CaseEvent")
    event.objects.filter(kind="created").update(at=TruncHour("at"))


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0004_hour_resolution_and_bot_usage"),
        ("cases", "0007_held_during_floods"),
    ]

    operations = [migrations.RunPython(floor_to_the_hour, migrations.RunPython.noop)]
