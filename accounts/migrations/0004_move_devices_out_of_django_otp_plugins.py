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

from encryption.digests import secret_digest

TOTP_TABLE = "otp_totp_totpdevice"
STATIC_DEVICE_TABLE = "otp_static_staticdevice"
STATIC_TOKEN_TABLE = "otp_static_statictoken"
# The same purpose and context as accounts.models.backup_code_digest.
BACKUP_CODE_PURPOSE = "staff-backup-codes"
# Fixed names, quoted the way both PostgreSQL and SQLite read them.
SELECT_TOTP = (
    'SELECT "user_id", "name", "confirmed", "key", "step", "t0", "digits", "tolerance", '
    '"drift", "last_t" FROM "otp_totp_totpdevice"'
)
SELECT_STATIC_DEVICES = 'SELECT "id", "user_id", "name", "confirmed" FROM "otp_static_staticdevice"'
SELECT_STATIC_TOKENS = 'SELECT "token" FROM "otp_static_statictoken" WHERE "device_id" = %s'
DROP = {
    TOTP_TABLE: ('DELETE FROM "otp_totp_totpdevice"', 'DROP TABLE "otp_totp_totpdevice"'),
    STATIC_TOKEN_TABLE: (
        'DELETE FROM "otp_static_statictoken"',
        'DROP TABLE "otp_static_statictoken"',
    ),
    STATIC_DEVICE_TABLE: (
        'DELETE FROM "otp_static_staticdevice"',
        'DROP TABLE "otp_static_staticdevice"',
    ),
}


def move_totp_devices(apps, cursor) -> None:
    device_model = apps.get_model("accounts", "AuthenticatorDevice")
    cursor.execute(SELECT_TOTP)
    for (
        user_id,
        name,
        confirmed,
        key,
        step,
        t0,
        digits,
        tolerance,
        drift,
        last_t,
    ) in cursor.fetchall():
        device_model.objects.create(
            user_id=user_id,
            name=name,
            confirmed=bool(confirmed),
            secret=key,
            step=step,
            t0=t0,
            digits=digits,
            tolerance=tolerance,
            drift=drift,
            last_t=last_t,
        )


def move_backup_codes(apps, cursor) -> None:
    device_model = apps.get_model("accounts", "BackupCodeDevice")
    code_model = apps.get_model("accounts", "BackupCode")
    cursor.execute(SELECT_STATIC_DEVICES)
    for old_id, user_id, name, confirmed in cursor.fetchall():
        device = device_model.objects.create(user_id=user_id, name=name, confirmed=bool(confirmed))
        cursor.execute(SELECT_STATIC_TOKENS, [old_id])
        # Codes are compared lower-case, without spaces or dashes (accounts.services).
        codes = {"".join(token.split()).replace("-", "").lower() for (token,) in cursor.fetchall()}
        code_model.objects.bulk_create(
            code_model(
                device=device,
                digest=secret_digest(BACKUP_CODE_PURPOSE, f"user:{user_id}", code),
            )
            for code in codes
        )


def move_devices(apps, schema_editor) -> None:
    connection = schema_editor.connection
    tables = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA secure_delete = ON")
        if TOTP_TABLE in tables:
            move_totp_devices(apps, cursor)
        if {STATIC_DEVICE_TABLE, STATIC_TOKEN_TABLE} <= tables:
            move_backup_codes(apps, cursor)
        for table, statements in DROP.items():
            if table in tables:
                for statement in statements:
                    cursor.execute(statement)


def open_the_gate(apps, schema_editor) -> None:
    apps.get_model("accounts", "LockdownGate").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_second_factors_at_rest_and_sign_in_locks")]

    operations = [
        migrations.RunPython(move_devices, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(open_the_gate, migrations.RunPython.noop),
    ]
