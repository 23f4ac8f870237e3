"""
What staff accounts keep beside Django's user: second-factor devices (secrets
encrypted, backup codes hashed), sign-in failures and locks, passwords issued
by an admin, and the emergency lockdown.
"""

import time
from base64 import b32encode
from binascii import unhexlify
from secrets import token_hex
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from encryption.digests import secret_digest, secret_digests
from encryption.fields import EncryptedTextField

BACKUP_CODE_PURPOSE = "staff-backup-codes"


def new_totp_secret() -> str:
    """160 random bits, hex-encoded (RFC 4226 recommends at least 128)."""
    return token_hex(20)


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """
    An authenticator app (TOTP, RFC 6238). The shared secret is an encrypted
    field: a database dump without ENCRYPTION_KEY cannot produce codes. A code
    is accepted once: its time step must be later than the last one used.
    Failures slow down further tries (django-otp's throttling).
    """

    secret = EncryptedTextField(_("secret"), default=new_totp_secret, editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta:
        verbose_name = _("authenticator")

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.secret)

    def get_throttle_factor(self) -> int:
        return settings.OTP_TOTP_THROTTLE_FACTOR

    def verify_token(self, token) -> bool:
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
        totp.time = time.time()
        try:
            number = int(token)
        except (TypeError, ValueError):
            number = None
        # min_t refuses a code from a time step that was already used.
        if number is not None and totp.verify(number, self.tolerance, self.last_t + 1):
            self.last_t = totp.t()
            self.drift = totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
            return True
        self.throttle_increment()
        return False

    @property
    def config_url(self) -> str:
        """The otpauth:// URI an authenticator app scans (Key Uri Format)."""
        issuer = settings.OTP_TOTP_ISSUER.replace(":", "")
        label = f"{issuer}:{self.user.get_username()}"
        query = urlencode(
            {
                "secret": b32encode(self.bin_key).decode(),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        return f"otpauth://totp/{quote(label)}?{query}&issuer={quote(issuer)}"


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """Single-use backup codes, stored only as keyed digests (encryption.digests)."""

    class Meta:
        verbose_name = _("backup codes")

    def get_throttle_factor(self) -> int:
        return settings.OTP_STATIC_THROTTLE_FACTOR

    def verify_token(self, token) -> bool:
        allowed, _details = self.verify_is_allowed()
        if not allowed:
            return False
        digests = backup_code_digests(self.user_id, str(token))
        match = self.codes.filter(digest__in=digests).first()
        if match is None:
            self.throttle_increment()
            return False
        match.delete()
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True


def backup_code_digest(user_id: int, code: str) -> str:
    return secret_digest(BACKUP_CODE_PURPOSE, f"user:{user_id}", code)


def backup_code_digests(user_id: int, code: str) -> list[str]:
    return secret_digests(BACKUP_CODE_PURPOSE, f"user:{user_id}", code)


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("backup code")
        constraints = [
            models.UniqueConstraint(fields=["device", "digest"], name="one_backup_code_digest")
        ]

    def __str__(self) -> str:
        return f"backup code {self.pk}"


class SignInGuard(models.Model):
    """
    Failed passwords and codes of one account from every source together, and
    the account-wide lock they lead to (accounts.throttle counts per source).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_guard"
    )
    failures = models.PositiveIntegerField(_("failed attempts"), default=0)
    counting_since = models.DateTimeField(_("counting since"), null=True, blank=True)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    # Part of every per-source counter's key: bumping it (an admin lifting the
    # locks) forgets them all at once.
    generation = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("sign-in guard")

    def __str__(self) -> str:
        return f"guard for user {self.user_id}"

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


class UnknownSignInTally(models.Model):
    """
    Failed sign-ins under usernames that do not exist, counted per day rather
    than written to the audit log one by one: anyone can produce them, and
    the log must not grow without bound (nor store what was typed).
    """

    day = models.DateField(_("day"), unique=True)
    failures = models.PositiveIntegerField(_("failed sign-ins"), default=0)

    class Meta:
        verbose_name = _("failed sign-ins under unknown usernames")
        verbose_name_plural = verbose_name

    def __str__(self) -> str:
        return f"{self.day}: {self.failures}"


class IssuedPassword(models.Model):
    """
    The account's current password was issued by an admin (new account,
    forgotten password, reset authenticator). It opens only the page where its
    owner chooses their own; nothing else until then.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="issued_password"
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.CharField(_("issued by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("issued password")

    def __str__(self) -> str:
        return f"password issued to user {self.user_id}"


class Lockdown(models.Model):
    """
    One emergency lockdown: while it is in force, only admins (with
    their second factor, as always) can sign in. Rows are kept as history.
    Lifting it from the web takes two admins: one asks, another confirms.
    """

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    started_by = models.CharField(_("started by"), max_length=150, blank=True)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.CharField(_("lifted by"), max_length=150, blank=True)
    lift_requested_at = models.DateTimeField(_("lifting asked at"), null=True, blank=True)
    lift_requested_by = models.CharField(_("lifting asked by"), max_length=150, blank=True)
    in_force = models.BooleanField(_("in force"), default=True)

    class Meta:
        verbose_name = _("lockdown")
        verbose_name_plural = _("lockdowns")
        ordering = ["-started_at"]
        constraints = [
            # At most one lockdown in force at a time.
            models.UniqueConstraint(
                fields=["in_force"],
                condition=models.Q(in_force=True),
                name="one_lockdown_in_force",
            )
        ]

    def __str__(self) -> str:
        return f"lockdown {self.started_at:%Y-%m-%d %H:%M}"


class LockdownGate(models.Model):
    """
    A single row whose write lock is taken first by both starting a lockdown
    and completing a sign-in, so the two never interleave (accounts.lockdown).
    """

    touched_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return "lockdown gate"
