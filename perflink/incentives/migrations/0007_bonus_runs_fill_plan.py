# Fills BonusRun.plan and leaves at most one payable run per plan and period (its own transaction on PostgreSQL).

from django.db import migrations

PAYABLE = ("submitted", "approved", "published")


def fill_plan_and_check_payable(apps, schema_editor):
    """Every run names its plan; where one plan and period had several runs on their way to payment, the extra
    unpublished ones go back to draft (saying why), so at most one stays payable. Two published runs for one plan
    and period cannot be merged automatically: the migration stops and says which."""
    BonusRun = apps.get_model("incentives", "BonusRun")
    for run in BonusRun._base_manager.select_related("plan_version").filter(plan__isnull=True).iterator():
        run.plan_id = run.plan_version.plan_id
        run.save(update_fields=["plan"])
    seen = {}
    for run in BonusRun._base_manager.filter(status__in=PAYABLE).order_by("-published_at", "id"):
        key = (run.tenant_id, run.plan_id, run.period)
        if key not in seen:
            seen[key] = run
            continue
        if run.status == "published":
            raise RuntimeError(
                f"bonus runs {seen[key].pk} and {run.pk} are both published for plan {run.plan_id} and period "
                f"{run.period}: decide which one stands before upgrading (see docs/incentives.md, corrections)"
            )
        run.status = "draft"
        run.status_note = f"升级：同一方案同一期间只能有一个待发放批次（保留 #{seen[key].pk}）"
        run.save(update_fields=["status", "status_note"])


class Migration(migrations.Migration):
    dependencies = [("incentives", "0006_bonus_runs_reproduce")]

    operations = [
        migrations.RunPython(fill_plan_and_check_payable, migrations.RunPython.noop),
    ]
