"""funnel-analysis: sales-funnel analytics and forecasting on CRM data, in the open.

The package is layered; imports flow one way (``tests/test_architecture.py`` keeps it so):

- :mod:`.crm`: the data model (load, validate, clean, :class:`CrmData` and its as-of cut);
- one subpackage per report, its analyses and its ``plots``: :mod:`.funnel`, :mod:`.velocity`,
  :mod:`.sources`, :mod:`.forecast`, :mod:`.scoring`, :mod:`.dedupe` (and :mod:`.synth`, the sample org);
- :mod:`.reporting`: the papermill runner, schedules, publishing, the front page;
- :mod:`.cli`: the ``funnel`` command.

:mod:`.stats` (rates with intervals) and :mod:`.periods` (fiscal periods) serve every layer.
The report namespaces are imported on first use, so ``import funnel_analysis`` stays light.

>>> import funnel_analysis as fa
>>> sorted(fa.TABLES)[:3]
['accounts', 'activities', 'business_hours']
>>> fa.funnel.lead_conversion.__module__
'funnel_analysis.funnel.conversion'
"""

from importlib import import_module

from .crm.load import load_frames, load_org
from .crm.mapping import load_mapping
from .crm.model import CrmData, DataQualityReport
from .crm.read import DataLoadError
from .crm.schema import TABLES

__version__ = "0.1.0"

#: Subpackages reachable as attributes (``fa.funnel``), imported when first used.
NAMESPACES = (
    "crm",
    "funnel",
    "velocity",
    "sources",
    "forecast",
    "scoring",
    "dedupe",
    "reconcile",
    "custom",
    "routing",
    "pipeline",
    "synth",
    "project",
    "reporting",
    "stats",
    "periods",
)

__all__ = [
    "CrmData",
    "DataQualityReport",
    "DataLoadError",
    "load_org",
    "load_frames",
    "load_mapping",
    "TABLES",
    "__version__",
    *NAMESPACES,
]


def __getattr__(name: str):
    if name in NAMESPACES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(NAMESPACES))
