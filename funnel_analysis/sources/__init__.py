"""Lead sources and campaigns: what each brings in, campaign attribution, activities, pipeline changes.

- :mod:`.matrix`: the source and campaign matrices, source comparison, speed to lead (and its
  conversion effect within score bands, an association);
- :mod:`.attribution`: multi-touch campaign attribution;
- :mod:`.activities`: sales activity per opportunity and its relation to winning;
- :mod:`.pipeline_changes`: the pipeline waterfall between two as-of cuts;
- :mod:`.report`: the notebook's sections, one call each on the org (``from funnel_analysis.sources import report``);
- :mod:`.plots`: the charts of the sources notebook.

Examples
--------
>>> from funnel_analysis.sources import MODELS
>>> sorted(MODELS)[:2]
['first_touch', 'last_touch']
"""

from .activities import BUCKETS, TYPE_MAP, activity_kind, activity_summary, activity_win_relation
from .attribution import MODELS, NO_CAMPAIGN, attribution_summary, campaign_attribution, touch_weights
from .matrix import (
    SPEED_BUCKETS,
    campaign_matrix,
    compare_sources,
    mature_leads,
    source_matrix,
    speed_to_lead,
    speed_to_lead_effect,
)
from .pipeline_changes import COMPONENTS, SIGNS, PipelineWaterfall, pipeline_waterfall

__all__ = [
    "source_matrix",
    "campaign_matrix",
    "compare_sources",
    "speed_to_lead",
    "speed_to_lead_effect",
    "mature_leads",
    "SPEED_BUCKETS",
    "campaign_attribution",
    "attribution_summary",
    "touch_weights",
    "MODELS",
    "NO_CAMPAIGN",
    "activity_summary",
    "activity_win_relation",
    "activity_kind",
    "BUCKETS",
    "TYPE_MAP",
    "pipeline_waterfall",
    "PipelineWaterfall",
    "COMPONENTS",
    "SIGNS",
]
