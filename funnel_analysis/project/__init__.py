"""A team's own project: the org profile, ``funnel init``, and the columns the profile derives.

- :mod:`.profile`: the org profile (``profile.yaml``): :class:`OrgProfile`, :func:`load_profile`,
  finding the project folder (:func:`find_project`), the report parameters it sets;
- :mod:`.business`: the ``business_type`` column (new business, renewal, expansion) from the profile;
- :mod:`.overrides`: :func:`apply_profile`, the profile applied to a loaded org (business types, the
  stage and lead-status overrides);
- :mod:`.init`: :func:`init_project`, the folder ``funnel init DIR`` creates.

Examples
--------
>>> from funnel_analysis.project import OrgProfile
>>> OrgProfile().fiscal_year_start_month
1
"""

from .business import BUSINESS_TYPE_COLUMN, business_type, with_business_type
from .init import CONFIG_FILE, ProjectExistsError, init_project, packaged_notebooks
from .overrides import apply_profile, profile_calendar
from .profile import (
    BUSINESS_TYPES,
    PROFILE_FILE,
    BusinessRule,
    FiscalPeriod,
    OrgProfile,
    ProfileError,
    WorkingCalendar,
    corporate_currency,
    find_project,
    load_profile,
    report_defaults,
)

__all__ = [
    "BUSINESS_TYPES",
    "BUSINESS_TYPE_COLUMN",
    "CONFIG_FILE",
    "PROFILE_FILE",
    "BusinessRule",
    "apply_profile",
    "FiscalPeriod",
    "OrgProfile",
    "ProfileError",
    "ProjectExistsError",
    "WorkingCalendar",
    "business_type",
    "corporate_currency",
    "find_project",
    "init_project",
    "load_profile",
    "packaged_notebooks",
    "profile_calendar",
    "report_defaults",
    "with_business_type",
]
