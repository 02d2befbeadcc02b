from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("records", "0001_initial")]

    operations = [
        migrations.RemoveConstraint(model_name="referralsignoff", name="one_signoff_per_finding"),
        migrations.RenameField(
            model_name="referralsignoff", old_name="finding_code", new_name="rule_id"
        ),
        migrations.AlterField(
            model_name="referralsignoff",
            name="rule_id",
            field=models.CharField(help_text="The refer finding's rule id", max_length=80),
        ),
        migrations.AlterModelOptions(
            name="referralsignoff", options={"ordering": ["screening", "rule_id"]}
        ),
        migrations.AddConstraint(
            model_name="referralsignoff",
            constraint=models.UniqueConstraint(
                fields=("screening", "rule_id"), name="one_signoff_per_finding"
            ),
        ),
        migrations.AlterField(
            model_name="screeningresponse",
            name="policy",
            field=models.CharField(help_text="Screening policy the verdict used", max_length=200),
        ),
        migrations.AddField(
            model_name="screeningresponse",
            name="modality",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Modality screened for; empty: every modality",
                max_length=20,
            ),
            preserve_default=False,
        ),
        migrations.RemoveField(model_name="clinicpolicy", name="screening_policy"),
        migrations.AddField(
            model_name="clinicpolicy",
            name="screening_policy",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The clinic's screening policy {name, grade_overrides, "
                "waiting_period_days}; empty: cryoderm's default (the stricter reading)",
            ),
        ),
    ]
