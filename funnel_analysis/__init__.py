"""funnel-analysis: sales-funnel analytics and forecasting on CRM data, in the open.

>>> import funnel_analysis as fa
>>> sorted(fa.TABLES)[:3]
['accounts', 'activities', 'campaign_members']
"""

from .crm import CrmData, DataQualityReport
from .io import DataLoadError
from .load import load_frames, load_org
from .mapping import load_mapping
from .schema import TABLES

__version__ = "0.1.0"

__all__ = ["CrmData", "DataQualityReport", "DataLoadError", "load_org", "load_frames", "load_mapping",
           "TABLES", "__version__"]
