from django.db import models
from django.utils.translation import gettext_lazy as _


class Domain(models.TextChoices):
    """Which part of the insurer a metric describes (the library's grouping)."""

    SALES = "sales", _("Life sales")
    CLAIMS = "claims", _("Claims")
    HR = "hr", _("Human resources")
    FINANCE = "finance", _("Finance")
    IT = "it", _("IT")
    GENERAL = "general", _("General")


class SubjectLevel(models.TextChoices):
    EMPLOYEE = "employee", _("Employee")
    UNIT = "unit", _("Unit")


class Scope(models.TextChoices):
    SELF = "self", _("Own value")
    PARENT = "parent", _("Parent unit's value")
    LINKED = "linked", _("Linked business units' value")


class CalendarDayKind(models.TextChoices):
    DAY_OFF = "off", _("Day off (休)")
    WORKING = "work", _("Working day (班)")


class RunStatus(models.TextChoices):
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RunTrigger(models.TextChoices):
    MANUAL = "manual", _("Started by a user")
    CLI = "cli", _("Command line")
    DATA = "data", _("New or changed records")
    API = "api", _("API")


class TargetSource(models.TextChoices):
    UI = "ui", _("Set on the page")
    FILE = "file", _("Imported from a file")
    API = "api", _("API")
