# BonusRun.plan required, the discarded status, and one payable run per plan and period enforced by the database.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("incentives", "0007_bonus_runs_fill_plan")]

    operations = [
        migrations.AlterField(
            model_name="bonusrun",
            name="plan",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="runs",
                to="incentives.incentiveplan",
            ),
        ),
        migrations.AlterField(
            model_name="bonusrun",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("submitted", "Submitted"),
                    ("approved", "Approved"),
                    ("published", "Published"),
                    ("discarded", "Discarded"),
                ],
                default="draft",
                max_length=12,
                verbose_name="status",
            ),
        ),
        migrations.AddConstraint(
            model_name="bonusrun",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("kind", "regular"), ("status__in", ["submitted", "approved", "published"])
                ),
                fields=("tenant", "plan", "period"),
                name="bonus_one_payable_run",
            ),
        ),
        migrations.AddField(
            model_name="bonuspayout",
            name="adjustment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="incentives.bonusadjustment",
            ),
        ),
        migrations.AddField(
            model_name="bonuspayout",
            name="employee",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="org.employee",
                verbose_name="employee",
            ),
        ),
        migrations.AddField(
            model_name="bonuspayout",
            name="run",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="payouts", to="incentives.bonusrun"
            ),
        ),
        migrations.AddField(
            model_name="bonuspayout",
            name="tenant",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="tenancy.tenant",
            ),
        ),
        migrations.AddField(
            model_name="bonuspayout",
            name="unit",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="org.orgunit",
                verbose_name="unit",
            ),
        ),
        migrations.AddIndex(
            model_name="bonuspayout",
            index=models.Index(
                fields=["tenant", "period", "employee"], name="incentives__tenant__ce2da4_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="bonuspayout",
            index=models.Index(fields=["run", "employee"], name="incentives__run_id_d6d301_idx"),
        ),
    ]
