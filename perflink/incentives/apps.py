from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "perflink.incentives"
    label = "incentives"

    def ready(self) -> None:
        # Calculation runs compute a metric's matured cohort only where something reads it: plans tell them which.
        from perflink.incentives.selectors import cohort_metrics_of_plans
        from perflink.metrics.calc import register_cohort_reader

        register_cohort_reader(cohort_metrics_of_plans)
