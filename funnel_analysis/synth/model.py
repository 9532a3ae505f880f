"""The sample org's business model: lead sources, stages, deal paths, amounts, volumes.

The parameters the data are drawn from, so that analyses can be checked
against them: all but the campaign calendar are written to ``truth.json``.
"""

from __future__ import annotations

#: The default of every org-shape option (``generate_sample(field_history=...)``, ``funnel sample
#: --no-field-history``, ...; see :data:`SAMPLE_OPTIONS`). Flipping it to True turns them all on by
#: default, in the API and the CLI, and moves GENERATOR_VERSION to 1.2: it is the one line to change.
ORG_SHAPES_DEFAULT = True

#: Bump when the output for a given seed changes on purpose (1.2: the org shapes on by default;
#: 1.3: the routing of issue 20, ``routing=True``, on by default).
GENERATOR_VERSION = "1.3" if ORG_SHAPES_DEFAULT else "1.1"

#: The export files, in the order they are written.
SAMPLE_FILES = (
    "User.csv",
    "OpportunityStage.csv",
    "Campaign.csv",
    "Account.csv",
    "Contact.csv",
    "Lead.csv",
    "Opportunity.csv",
    "OpportunityHistory.csv",
    "CampaignMember.csv",
    "Task.csv",
    "Event.csv",
)

#: The currency files, written after the others with ``currencies=True``.
CURRENCY_FILES = ("CurrencyType.csv", "DatedConversionRate.csv")

#: Seconds in a day: times are whole seconds since 1970-01-01 UTC, days are day numbers.
_DAY = 86_400

#: Shares of records given a defect that the pipeline stage itself must draw (the rest are in dirty.py)
_SHARE_MISSING_AMOUNT = 0.005  # deals never given an Amount (flag)
_SHARE_IMPORTED_DEALS = 0.01  # historical deals imported with CloseDate < CreatedDate (flag)
_SHARE_CONVERTED_BEFORE_CREATED = 0.002


# ----------------------------------------------------------------------------
# The org's business model (all of it is written to truth.json)
# ----------------------------------------------------------------------------

#: name, share of leads, true lead->opportunity conversion, true win rate, campaign type
_LEAD_SOURCES = (
    ("Web", 0.25, 0.20, 0.28, None),
    ("Paid Search", 0.15, 0.12, 0.18, "Paid Search"),
    ("Email Campaign", 0.12, 0.14, 0.20, "Email"),
    ("Webinar", 0.10, 0.22, 0.22, "Webinar"),
    ("Trade Show", 0.08, 0.25, 0.25, "Trade Show"),
    ("Referral", 0.07, 0.45, 0.45, None),
    ("Partner", 0.08, 0.35, 0.38, None),
    ("Cold Call", 0.15, 0.05, 0.15, None),
)

#: label, sort order, default probability, is_closed, is_won, forecast category
_STAGES = (
    ("Prospecting", 1, 10, False, False, "Pipeline"),
    ("Qualification", 2, 20, False, False, "Pipeline"),
    ("Needs Analysis", 3, 30, False, False, "Pipeline"),
    ("Proposal/Price Quote", 4, 60, False, False, "Best Case"),
    ("Negotiation/Review", 5, 80, False, False, "Commit"),
    ("Closed Won", 6, 100, True, True, "Closed"),
    ("Closed Lost", 7, 0, True, False, "Omitted"),
)
_WON, _LOST, _N_OPEN = 5, 6, 5

#: lognormal days spent in each open stage (median, sigma); index 6 is the
#: pause between a premature Closed Lost and the reopening.
_STAGE_DAYS = ((7.0, 0.8), (10.0, 0.8), (14.0, 0.7), (12.0, 0.7), (9.0, 0.7), (0.0, 0.0), (20.0, 0.6))

_PATH = dict(
    p_enter_at_qualification=0.20,  # some deals are created already qualified
    p_skip_stage=0.08,  # jump two stages ahead
    p_move_back=0.05,  # one step backwards (at most once per deal)
    p_reopen=0.03,  # closed lost, then back to an open stage
    p_stall=0.06,  # one stage takes stall_factor times longer
    stall_factor=(4.0, 10.0),
    p_long_stall=0.03,  # ... or is all but forgotten: stale pipeline at the export
    long_stall_factor=(25.0, 60.0),
    lost_at_stage_weights=(0.30, 0.25, 0.20, 0.15, 0.10),  # where lost deals drop out
    lost_duration_factor=1.25,  # dying deals linger
    size_duration_elasticity=0.10,  # bigger companies buy slower
)
_CLOSE_DATE = dict(
    p_snap_expected_to_quarter_end=0.55,
    push_grace_days=7,
    max_pushes=5,
    p_push_to_quarter_end=0.5,
    push_median_days=30,
    quarter_end_window_days=40,
    quarter_end_last_days=12,
    p_pull_to_quarter_end_won=0.60,
    p_pull_to_quarter_end_lost=0.30,
)
_AMOUNT = dict(
    median=18_000.0,
    sigma=0.8,
    employees_elasticity=0.25,
    round_to=100,
    p_change=0.30,
    change_sigma=0.25,
    p_won_discount=0.40,
    won_discount=(0.85, 1.0),
)
_LEADS = dict(
    leads_per_year_at_scale_1=20_000 / 3,
    share_from_existing_accounts=0.15,
    yearly_growth=0.25,
    conversion_delay_median_days=10.0,
    conversion_delay_sigma=0.9,
    conversion_delay_max_days=85.0,
    maturity_days=90,
    disqualify_median_days=35.0,
    disqualify_sigma=0.7,
    weekday_factor=(1.0, 1.05, 1.05, 1.0, 0.9, 0.25, 0.2),
    month_factor=(1.0, 1.0, 1.1, 1.0, 1.05, 1.0, 0.9, 0.8, 1.1, 1.1, 1.0, 0.75),
    seniority_multiplier=(1.35, 1.2, 1.05, 0.95, 0.75),  # C-level, VP, Director, Manager, IC
    seniority_weights=(0.08, 0.12, 0.20, 0.30, 0.30),
    size_multiplier=(0.8, 1.0, 1.2),  # <50, 50-999, >=1000 employees
)
_DUPLICATES = dict(share=0.03, p_triple=0.15)
_ACTIVITY = dict(
    lead_tasks_extra_mean=dict(converted=1.5, disqualified=0.3, working=0.5),
    opp_tasks_mean=dict(won=6.0, lost=2.5, open=3.0),
    opp_events_mean=dict(won=2.2, lost=0.7, open=1.0),
    life_days_norm=40.0,
)

# The campaign calendar (not in truth.json: Campaign.csv holds the campaigns themselves)
_CAMPAIGN_TYPES = ("Webinar", "Trade Show", "Email", "Paid Search")
_CAMPAIGN_PLAN = {  # per year (times sqrt(scale)), promotion days, budget range
    "Webinar": (12, 21, (2_000, 8_000)),
    "Trade Show": (6, 3, (30_000, 80_000)),
    "Email": (12, 10, (1_000, 3_000)),
    "Paid Search": (4, 90, (20_000, 60_000)),
}

#: Key prefix of the Salesforce Ids of each object.
_ID_PREFIX = {
    "leads": "00Q",
    "opportunities": "006",
    "opportunity_history": "008",
    "accounts": "001",
    "contacts": "003",
    "tasks": "00T",
    "events": "00U",
    "campaigns": "701",
    "campaign_members": "00v",
    "users": "005",
    "stages": "01J",
}


# ----------------------------------------------------------------------------
# The org shapes of issue 16 (field history, lead statuses, queues, contact
# roles, custom fields, a joined source): options of their own
# ----------------------------------------------------------------------------

#: Every option of :func:`~funnel_analysis.synth.generate_sample` and its default, in signature order.
SAMPLE_OPTIONS = {
    "deleted": True,
    "merged": True,
    "currencies": True,
    "modstamps": True,
    "field_history": ORG_SHAPES_DEFAULT,
    "lead_statuses": ORG_SHAPES_DEFAULT,
    "queues": ORG_SHAPES_DEFAULT,
    "contact_roles": ORG_SHAPES_DEFAULT,
    "custom_fields": ORG_SHAPES_DEFAULT,
    "joined_source": ORG_SHAPES_DEFAULT,
    "routing": ORG_SHAPES_DEFAULT,
}
#: The org-shape options (the ones GENERATOR_VERSION 1.2 adds, and routing: 1.3).
ORG_SHAPES = (
    "field_history",
    "lead_statuses",
    "queues",
    "contact_roles",
    "custom_fields",
    "joined_source",
    "routing",
)

#: The files the org shapes add, in the order they are written.
SHAPE_FILES = (
    "LeadStatus.csv",
    "Group.csv",
    "GroupMember.csv",
    "LeadHistory.csv",
    "OpportunityFieldHistory.csv",
    "OpportunityContactRole.csv",
    "BusinessHours.csv",
    "Holiday.csv",
)

#: Custom lead statuses (``lead_statuses=True``): label, sort order, is_converted, is_default,
#: and the Salesforce default status (``_LEAD_STATUS`` index) it stands for when the option is off.
_CUSTOM_LEAD_STATUSES = (
    ("New", 1, False, True, 0),
    ("Attempting Contact", 2, False, False, 1),
    ("Nurture", 3, False, False, 1),
    ("Qualified", 4, False, False, 1),
    ("Converted", 5, True, False, 2),
    ("Disqualified", 6, False, False, 3),
)

_FIELD_HISTORY = dict(
    retention_months=18,  # rows older than the extract time minus this are gone
    # Lead.Status tracking switched on this share of the way from max(window start, retention cut)
    # to the window end (rounded to the first of a month): no Status rows before it
    status_tracking_on_at=0.25,
    working_median_hours=20.0,
    working_sigma=1.0,
    p_nurture_working=0.4,  # working leads older than 30 days parked in Nurture
    p_nurture_disqualified=0.25,
    p_same_second_qualified=0.04,  # Qualified and Converted written in the same second
    min_same_second=3,
    p_lead_reassigned=0.04,  # a lead handed from one SDR to another
    p_opp_from_sdr=0.30,  # the converting SDR owns the deal first, then hands it to the AE
    p_opp_reassigned=0.05,  # a deal handed from one AE to another
    p_owner_text_first=0.5,  # of the two rows of an Owner change, the Text row gets the lower Id
)
_QUEUES = dict(
    sources=("Web", "Paid Search", "Email Campaign", "Webinar"),
    p_queued=0.6,  # leads of those sources created owned by their region's queue
    pickup_median_hours=3.0,
    pickup_sigma=1.2,
    p_never_picked=0.15,  # of the queued leads still New at the extract
    min_in_queue=3,
)
_CONTACT_ROLES = dict(
    p_no_roles=0.2,
    n_roles_weights=(0.35, 0.30, 0.20, 0.15),  # 1 to 4 contacts
    roles=("Decision Maker", "Economic Buyer", "Technical Buyer", "Evaluator", "Influencer", "Executive Sponsor"),
)
_CUSTOM_FIELDS = dict(
    p_zip=0.7,
    n_zip_00501=3,  # US leads given the Holtsville ZIP (a leading-zero ZIP a numeric parse would break)
    p_score=0.9,
    budget_confirmed_from_stage=2,  # a stage gate: Budget_Confirmed__c once a deal reached Needs Analysis
    contract_years_weights=(0.6, 0.25, 0.15),  # ARR__c = Amount / contract years
)
_JOINED = dict(p_second_deal=0.06, second_deal_days=(20.0, 200.0))

#: Key prefixes of the objects of the org shapes.
_SHAPE_ID_PREFIX = {
    "lead_statuses": "01J",
    "groups": "00G",
    "group_members": "011",
    "lead_history": "017",
    "opportunity_field_history": "017",
    "contact_roles": "00K",
    "business_hours": "01m",
    "holidays": "0C0",
}
