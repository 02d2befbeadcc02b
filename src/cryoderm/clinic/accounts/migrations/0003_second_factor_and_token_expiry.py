"""Second factors (TOTP devices, recovery codes), the throttle's known-browser column, and
token expiry: tokens issued before this migration expire as new ones would, counted from
their issue (90 days for a user token, 365 for a device token), or in 7 days when that is
already past, so that nothing in use stops without warning."""

import datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The defaults of accounts.tokens (USER_TOKEN_DAYS, DEVICE_TOKEN_DAYS), as they were here.
USER_TOKEN_DAYS, DEVICE_TOKEN_DAYS, GRACE_DAYS = 90, 365, 7


def expire_existing(apps, schema_editor):
    from django.utils import timezone

    soonest = timezone.now() + datetime.timedelta(days=GRACE_DAYS)
    for token in apps.get_model("accounts", "ApiToken").objects.filter(expires_at__isnull=True):
        days = DEVICE_TOKEN_DAYS if token.device_id else USER_TOKEN_DAYS
        token.expires_at = max(token.created_at + datetime.timedelta(days=days), soonest)
        token.save(update_fields=["expires_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(
                help_text="the token is refused from this moment on", null=True
            ),
        ),
        migrations.RunPython(expire_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(help_text="the token is refused from this moment on"),
        ),
        migrations.AddField(
            model_name="loginfailure",
            name="known_device",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text="the known-browser id the attempt carried for this username, or empty",
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="loginfailure",
            name="remote_addr",
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.CreateModel(
            name="TotpDevice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "secret_encrypted",
                    models.TextField(help_text="the base32 secret, Fernet-encrypted"),
                ),
                (
                    "confirmed_at",
                    models.DateTimeField(help_text="when the user proved the app works"),
                ),
                ("last_step", models.BigIntegerField(default=0)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="totp_device",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="RecoveryCode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code_sha256", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="recovery_codes",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["user", "code_sha256"], name="recovery_code_lookup")
                ],
            },
        ),
    ]
