"""
Move every second factor out of django-otp's plugin tables, where TOTP keys and
backup codes were stored in clear, into accounts' own devices: TOTP secrets as
encrypted fields, backup codes as keyed digests. The old tables are then
dropped, taking the clear values with them (on SQLite with secure_delete, so
the freed pages are overwritten too). The plugins are no longer installed, so
their tables are read with plain SQL, and only if they exist.

Not reversible: a backup code cannot be recovered from its digest. The
plugins' rows in django_migrations stay; installing a plugin again would need
`manage.py migrate <plugin> zero --fake` first.
"""

from django.db import migrations

from encryption.digests import keyed_digest

TOTP_TABLE = "otp_totp_totpdevice"
STATIC_DEVICE_TABLE = "otp_static_staticdevice"
STATIC_TOKEN_TABLE = "otp_static_statictoken"
# The same purpose and context as accounts.models.backup_code_digest.
BACKUP_CODE_PURPOSE = "staff-backup-codes"


def _rows(cursor, sql: str) -> list[tuple]:
    cursor.execute(sql)
    return cursor.fetchall()


def move_totp_devices(apps, cursor, quote) -> None:
    device_model = apps.get_model("accounts", "AuthenticatorDevice")
    columns = ["user_id", "name", "confirmed", "key", "step", "t0", "digits", "tolerance"]
    columns += ["drift", "last_t"]
    select = ", ".join(quote(column) for column in columns)
    for row in _rows(cursor, f"SELECT {select} FROM {quote(TOTP_TABLE)}"):  # noqa: S608
        values = dict(zip(columns, row, strict=True))
        device_model.objects.create(
            user_id=values["user_id"],
            name=values["name"],
            confirmed=bool(values["confirmed"]),
            secret=values["key"],
            step=values["step"],
            t0=values["t0"],
            digits=values["digits"],
            tolerance=values["tolerance"],
            drift=values["drift"],
            last_t=values["last_t"],
        )


def move_backup_codes(apps, cursor, quote) -> None:
    device_model = apps.get_model("accounts", "BackupCodeDevice")
    code_model = apps.get_model("accounts", "BackupCode")
    devices = _rows(
        cursor,
        f"SELECT {quote('id')}, {quote('user_id')}, {quote('name')}, {quote('confirmed')} "  # noqa: S608
        f"FROM {quote(STATIC_DEVICE_TABLE)}",
    )
    for old_id, user_id, name, confirmed in devices:
        device = device_model.objects.create(user_id=user_id, name=name, confirmed=bool(confirmed))
        cursor.execute(
            f"SELECT {quote('token')} FROM {quote(STATIC_TOKEN_TABLE)} "  # noqa: S608
            f"WHERE {quote('device_id')} = %s",
            [old_id],
        )
        # Codes are compared lower-case, without spaces or dashes (accounts.services).
        codes = {"".join(token.split()).replace("-", "").lower() for (token,) in cursor.fetchall()}
        code_model.objects.bulk_create(
            code_model(device=device, digest=keyed_digest(BACKUP_CODE_PURPOSE, f"user:{user_id}", code))
            for code in codes
        )


def move_devices(apps, schema_editor) -> None:
    connection = schema_editor.connection
    tables = set(connection.introspection.table_names())
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA secure_delete = ON")
        if TOTP_TABLE in tables:
            move_totp_devices(apps, cursor, quote)
        if {STATIC_DEVICE_TABLE, STATIC_TOKEN_TABLE} <= tables:
            move_backup_codes(apps, cursor, quote)
        for table in (TOTP_TABLE, STATIC_TOKEN_TABLE, STATIC_DEVICE_TABLE):
            if table in tables:
                cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608
                cursor.execute(f"DROP TABLE {quote(table)}")


def open_the_gate(apps, schema_editor) -> None:
    apps.get_model("accounts", "LockdownGate").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_second_factors_at_rest_and_sign_in_locks")]

    operations = [
        migrations.RunPython(move_devices, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(open_the_gate, migrations.RunPython.noop),
    ]
