"""Lead sources and campaigns: what each brings in, campaign attribution, activities, pipeline changes.

- :mod:`.matrix`: the source and campaign matrices, source comparison, speed to lead;
- :mod:`.attribution`: multi-touch campaign attribution;
- :mod:`.activities`: sales activity per opportunity and its relation to winning;
- :mod:`.pipeline_changes`: the pipeline waterfall between two as-of cuts;
- :mod:`.plots`: the charts of the sources notebook.

Examples
--------
>>> from funnel_analysis.sources import MODELS
>>> sorted(MODELS)[:2]
['first_touch', 'last_touch']
"""

from .matrix import (
    source_matrix, campaign_matrix, compare_sources, speed_to_lead, mature_leads, SPEED_BUCKETS,
)
from .attribution import campaign_attribution, attribution_summary, touch_weights, MODELS, NO_CAMPAIGN
from .activities import activity_summary, activity_win_relation, activity_kind, BUCKETS, TYPE_MAP
from .pipeline_changes import pipeline_waterfall, COMPONENTS, SIGNS

__all__ = ["source_matrix", "campaign_matrix", "compare_sources", "speed_to_lead", "mature_leads",
           "SPEED_BUCKETS", "campaign_attribution", "attribution_summary", "touch_weights", "MODELS",
           "NO_CAMPAIGN", "activity_summary", "activity_win_relation", "activity_kind", "BUCKETS",
           "TYPE_MAP", "pipeline_waterfall", "COMPONENTS", "SIGNS"]
