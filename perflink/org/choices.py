from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitKind(models.TextChoices):
    GROUP = "group", _("Group")
    COMPANY = "company", _("Company")
    BRANCH = "branch", _("Branch")
    DEPARTMENT = "department", _("Department")
    TEAM = "team", _("Team")


KIND_DEPTH_ORDER = [UnitKind.GROUP, UnitKind.COMPANY, UnitKind.BRANCH, UnitKind.DEPARTMENT, UnitKind.TEAM]


class UnitType(models.TextChoices):
    BUSINESS = "business", _("Business")
    FUNCTIONAL = "functional", _("Functional")
    MANAGEMENT = "management", _("Management")  # group / company / branch level units


class Category(models.TextChoices):
    SALES = "sales", _("Sales")
    CLAIMS = "claims", _("Claims")
    PRODUCT = "product", _("Product")
    UNDERWRITING = "underwriting", _("Underwriting")
    SERVICE = "service", _("Customer service")
    HR = "hr", _("Human resources")
    FINANCE = "finance", _("Finance")
    IT = "it", _("IT")
    ADMIN = "admin", _("Administration")
    GENERAL = "general", _("General management")


BUSINESS_CATEGORIES = frozenset(
    {Category.SALES, Category.CLAIMS, Category.PRODUCT, Category.UNDERWRITING, Category.SERVICE}
)
FUNCTIONAL_CATEGORIES = frozenset({Category.HR, Category.FINANCE, Category.IT, Category.ADMIN})


class EmploymentType(models.TextChoices):
    AGENT = "agent", _("Agent")
    STAFF = "staff", _("Staff")


class EmployeeStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ON_LEAVE = "on_leave", _("On leave")
    LEFT = "left", _("Left")


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
