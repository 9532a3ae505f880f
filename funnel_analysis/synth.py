"""Synthetic Salesforce-style sample org, with its ground truth.

``generate_sample`` writes one CSV per Salesforce object (``Lead.csv``,
``Opportunity.csv``, ``OpportunityHistory.csv``, ...) exactly as a Data Loader
export would look (API field names as headers, every text field quoted,
``2024-01-19T09:42:24.000+0000`` timestamps, ``true``/``false`` booleans,
18-character IDs), plus a *truth* folder that says what the analyses and the
cleaning pipeline ought to find:

- ``dirty_rows.csv``: every injected defect (file, 0-based data row, column,
  kind, and whether an error rule must quarantine the row, a warning must flag
  it, or the cleaner must silently fix it);
- ``duplicate_clusters.csv``: the injected duplicate leads/contacts/accounts;
- ``source_rates.csv``: the true lead->opportunity conversion and win rate of
  every lead source, and how many leads of each were generated;
- ``truth.json``: the arguments, row counts and every generation parameter.

Design choices worth knowing when using the data
-------------------------------------------------
- Removing the rows whose truth says ``quarantine`` gives back *exactly* the
  simulated org: every quarantine defect is an extra row (a copy of a real
  record with the defect, a fresh or a repeated Id), never a damaged real
  record, so quarantining never cascades into orphans elsewhere.
- ``flag`` rows are real records, kept, and consistent with the rest: a deal
  with no Amount has no Amount in its history either; a lead whose
  ConvertedDate precedes its CreatedDate was re-created after conversion (its
  opportunity still starts on the ConvertedDate).
- ``clean`` rows only differ by form (case/whitespace of a picklist, a
  15-character ID, an e-mail's case, a phone's national format); the truth
  holds the value the cleaner should produce (``clean_value``).
- Conversion is honest: a lead converts with probability
  ``rate[source] * m / mean(m)`` where ``m`` is a mild multiplier from its
  title seniority, company size and industry (so lead scoring has signal),
  normalised within each (source, maturity) group so the mean probability is
  exactly the true rate. Conversion happens at most 85 days after creation,
  so leads created before ``window_end - 90 days`` ("mature") have had their
  full chance. Duplicate leads are never converted and are excluded from the
  counts in ``source_rates.csv``.

Examples
--------
>>> import tempfile, pathlib
>>> from funnel_analysis.synth import generate_sample
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> summary = generate_sample(tmp / "sample", scale=0.02, seed=7)
>>> summary["rows"]["Lead.csv"] >= 400
True
>>> sorted(p.name for p in (tmp / "sample_truth").iterdir())
['dirty_rows.csv', 'duplicate_clusters.csv', 'source_rates.csv', 'truth.json']
"""

from __future__ import annotations

import json
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .ids import to_18
from .schema import TABLES

__all__ = ["generate_sample", "SAMPLE_FILES", "GENERATOR_VERSION"]

#: Bump when the output for a given seed changes on purpose.
GENERATOR_VERSION = "1.0"

#: The export files, in the order they are written.
SAMPLE_FILES = (
    "User.csv", "OpportunityStage.csv", "Campaign.csv", "Account.csv", "Contact.csv",
    "Lead.csv", "Opportunity.csv", "OpportunityHistory.csv", "CampaignMember.csv",
    "Task.csv", "Event.csv",
)

_DAY = 86_400
_STR = pa.string()

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
    p_enter_at_qualification=0.20,   # some deals are created already qualified
    p_skip_stage=0.08,               # jump two stages ahead
    p_move_back=0.05,                # one step backwards (at most once per deal)
    p_reopen=0.03,                   # closed lost, then back to an open stage
    p_stall=0.06,                    # one stage takes stall_factor times longer
    stall_factor=(4.0, 10.0),
    p_long_stall=0.03,               # ... or is all but forgotten: stale pipeline at the export
    long_stall_factor=(25.0, 60.0),
    lost_at_stage_weights=(0.30, 0.25, 0.20, 0.15, 0.10),  # where lost deals drop out
    lost_duration_factor=1.25,       # dying deals linger
    size_duration_elasticity=0.10,   # bigger companies buy slower
)
_CLOSE_DATE = dict(
    p_snap_expected_to_quarter_end=0.55,
    push_grace_days=7, max_pushes=5, p_push_to_quarter_end=0.5, push_median_days=30,
    quarter_end_window_days=40, quarter_end_last_days=12,
    p_pull_to_quarter_end_won=0.60, p_pull_to_quarter_end_lost=0.30,
)
_AMOUNT = dict(
    median=18_000.0, sigma=0.8, employees_elasticity=0.25, round_to=100,
    p_change=0.30, change_sigma=0.25, p_won_discount=0.40, won_discount=(0.85, 1.0),
)
_LEADS = dict(
    leads_per_year_at_scale_1=20_000 / 3, share_from_existing_accounts=0.15, yearly_growth=0.25,
    conversion_delay_median_days=10.0, conversion_delay_sigma=0.9, conversion_delay_max_days=85.0,
    maturity_days=90, disqualify_median_days=35.0, disqualify_sigma=0.7,
    weekday_factor=(1.0, 1.05, 1.05, 1.0, 0.9, 0.25, 0.2),
    month_factor=(1.0, 1.0, 1.1, 1.0, 1.05, 1.0, 0.9, 0.8, 1.1, 1.1, 1.0, 0.75),
    seniority_multiplier=(1.35, 1.2, 1.05, 0.95, 0.75),   # C-level, VP, Director, Manager, IC
    seniority_weights=(0.08, 0.12, 0.20, 0.30, 0.30),
    size_multiplier=(0.8, 1.0, 1.2),                     # <50, 50-999, >=1000 employees
)
_DUPLICATES = dict(share=0.03, p_triple=0.15)
_ACTIVITY = dict(
    lead_tasks_extra_mean=dict(converted=1.5, disqualified=0.3, working=0.5),
    opp_tasks_mean=dict(won=6.0, lost=2.5, open=3.0),
    opp_events_mean=dict(won=2.2, lost=0.7, open=1.0),
    life_days_norm=40.0,
)

# Regions and countries: name, ISO, region, share of companies, name culture,
# web TLD, calling code, cities (name, area code, allowed first digits, subscriber length)
_REGIONS = ("NA", "EMEA", "APAC", "LATAM")
_COUNTRIES = (
    ("United States", "US", "NA", 0.37, "en", "com", "1",
     (("New York", "212", "23456789", 7), ("San Francisco", "415", "23456789", 7),
      ("Chicago", "312", "23456789", 7), ("Boston", "617", "23456789", 7),
      ("Austin", "512", "23456789", 7), ("Seattle", "206", "23456789", 7),
      ("Denver", "303", "23456789", 7), ("Atlanta", "404", "23456789", 7),
      ("Miami", "305", "23456789", 7), ("Houston", "713", "23456789", 7),
      ("San Jose", "408", "23456789", 7))),
    ("Canada", "CA", "NA", 0.05, "en", "ca", "1",
     (("Toronto", "416", "23456789", 7), ("Vancouver", "604", "23456789", 7),
      ("Montreal", "514", "23456789", 7), ("Calgary", "403", "23456789", 7))),
    ("United Kingdom", "GB", "EMEA", 0.10, "en", "co.uk", "44",
     (("London", "20", "378", 8), ("Manchester", "161", "2345789", 7), ("Edinburgh", "131", "2345", 7))),
    ("Germany", "DE", "EMEA", 0.08, "de", "de", "49",
     (("Berlin", "30", "2345689", 8), ("Munich", "89", "2345689", 8),
      ("Hamburg", "40", "2345689", 8), ("Frankfurt", "69", "2345689", 8))),
    ("France", "FR", "EMEA", 0.05, "fr", "fr", "33",
     (("Paris", "1", "2345789", 8), ("Lyon", "4", "2345789", 8))),
    ("Netherlands", "NL", "EMEA", 0.04, "nl", "nl", "31",
     (("Amsterdam", "20", "23456789", 7), ("Rotterdam", "10", "23456789", 7))),
    ("China", "CN", "APAC", 0.10, "zh", "com.cn", "86",
     (("Beijing", "10", "23456", 8), ("Shanghai", "21", "23456", 8), ("Shenzhen", "755", "23456", 8),
      ("Guangzhou", "20", "23456", 8), ("Hangzhou", "571", "23456", 8), ("Chengdu", "28", "23456", 8),
      ("Nanjing", "25", "23456", 8), ("Wuhan", "27", "23456", 8))),
    ("Japan", "JP", "APAC", 0.04, "ja", "co.jp", "81",
     (("Tokyo", "3", "2345689", 8), ("Osaka", "6", "2345689", 8))),
    ("Australia", "AU", "APAC", 0.04, "en", "com.au", "61",
     (("Sydney", "2", "89", 8), ("Melbourne", "3", "89", 8))),
    ("Singapore", "SG", "APAC", 0.02, "en", "sg", "65", (("Singapore", "6", "12345", 7),)),
    ("India", "IN", "APAC", 0.03, "in", "in", "91",
     (("Mumbai", "22", "2346", 8), ("Bangalore", "80", "234", 8))),
    ("Brazil", "BR", "LATAM", 0.05, "pt", "com.br", "55",
     (("Sao Paulo", "11", "2345", 8), ("Rio de Janeiro", "21", "2345", 8))),
    ("Mexico", "MX", "LATAM", 0.03, "es", "com.mx", "52",
     (("Mexico City", "55", "1234579", 8), ("Guadalajara", "33", "1234579", 8))),
)
_CN = [c[1] for c in _COUNTRIES].index("CN")
# Business hours of each region, as the UTC hour around which records are created
_REGION_HOUR_UTC = (16.0, 10.0, 3.0, 15.0)

# Legal suffixes: text, equivalence group (the dedup variants swap within a group)
_SUFFIXES = (
    ("Inc", "inc"), ("Inc.", "inc"), (", Inc.", "inc"), ("Incorporated", "inc"),
    ("LLC", "llc"), ("L.L.C.", "llc"), ("Corp.", "corp"), ("Corp", "corp"), ("Corporation", "corp"),
    ("Co.", "co"), ("Company", "co"),
    ("Ltd", "ltd"), ("Ltd.", "ltd"), ("Limited", "ltd"), ("PLC", "plc"), ("plc", "plc"),
    ("GmbH", "gmbh"), ("GMBH", "gmbh"), ("AG", "ag"), ("A.G.", "ag"),
    ("SA", "sa"), ("S.A.", "sa"), ("SAS", "sas"), ("S.A.S.", "sas"),
    ("B.V.", "bv"), ("BV", "bv"), ("K.K.", "kk"), ("KK", "kk"),
    ("Co., Ltd.", "coltd"), ("Co. Ltd", "coltd"),
    ("Pty Ltd", "pty"), ("Pty. Ltd.", "pty"), ("Pte. Ltd.", "pte"), ("Pte Ltd", "pte"),
    ("Pvt. Ltd.", "pvt"), ("Pvt Ltd", "pvt"), ("Ltda.", "ltda"), ("Ltda", "ltda"),
    ("S.A. de C.V.", "sadecv"), ("SA de CV", "sadecv"),
    ("有限公司", "youxian"), ("股份有限公司", "gufen"),
)
_COUNTRY_SUFFIX_GROUPS = {
    "US": ("inc", "llc", "corp", "co"), "CA": ("inc", "corp", "ltd"), "GB": ("ltd", "plc"),
    "DE": ("gmbh", "ag"), "FR": ("sa", "sas"), "NL": ("bv",), "CN": ("youxian", "gufen"),
    "JP": ("kk", "coltd"), "AU": ("pty",), "SG": ("pte",), "IN": ("pvt",), "BR": ("ltda",),
    "MX": ("sadecv",),
}

#: Industry picklist, and the words that make a company name of that industry
_INDUSTRIES = (
    ("Technology", ("Software", "Systems", "Technologies", "Labs", "Networks", "Analytics", "Digital", "Cloud", "Data"), 1.15),
    ("Manufacturing", ("Manufacturing", "Industries", "Components", "Machinery", "Materials", "Robotics"), 0.9),
    ("Finance", ("Capital", "Financial", "Holdings", "Advisors", "Investments"), 1.1),
    ("Healthcare", ("Health", "Medical", "Biotech", "Pharma", "Diagnostics"), 1.0),
    ("Retail", ("Retail", "Brands", "Goods", "Outfitters", "Supply"), 0.85),
    ("Education", ("Learning", "Education", "Academy"), 0.85),
    ("Energy", ("Energy", "Power", "Solar", "Utilities"), 0.95),
    ("Transportation", ("Logistics", "Freight", "Transport", "Shipping"), 0.95),
    ("Media", ("Media", "Studios", "Publishing"), 0.9),
    ("Consulting", ("Consulting", "Group", "Associates", "Partners", "Solutions"), 1.0),
    ("Food & Beverage", ("Foods", "Beverages", "Kitchens"), 0.85),
    ("Telecommunications", ("Telecom", "Communications", "Wireless"), 1.05),
)

_SYL1 = ("Ac", "Al", "Am", "Ar", "Ax", "Bel", "Bri", "Cal", "Cor", "Cy", "Dal", "Del", "Dyn", "El", "Em",
         "Fal", "Gen", "Hal", "Hel", "Kal", "Kor", "Lum", "Mar", "Max", "Mer", "Nov", "Nex", "Or", "Pan",
         "Pol", "Quan", "Ra", "Sol", "Syn", "Tal", "Tek", "Ter", "Tri", "Val", "Ven", "Ver", "Vi", "Zen", "Zy")
_SYL2 = ("a", "an", "ar", "as", "ex", "ia", "io", "is", "ix", "on", "or", "os", "um", "us", "ara", "ena",
         "ica", "ium", "ora", "ent", "ic", "ly", "ta", "tis", "tra", "va", "ve", "via", "wave", "ware",
         "point", "path", "peak", "core", "line", "bridge", "stone", "field", "gate", "works")
_ADJ = ("Blue", "North", "Bright", "Red", "Silver", "Green", "Clear", "Swift", "True", "Prime", "Golden",
        "Iron", "Black", "White", "Grand", "Pacific", "Atlantic", "Summit", "Pioneer", "Evergreen",
        "Crystal", "Eagle", "Harbor", "Maple", "Oak", "Cedar", "Granite", "Falcon", "Liberty", "Polar")
_NOUN = ("River", "Peak", "Harbor", "Bridge", "Stone", "Field", "Rock", "Ridge", "Lake", "Valley", "Point",
         "Wave", "Star", "Forge", "Grove", "Crest", "Gate", "Path", "Light", "Wind", "Bay", "Mountain",
         "Creek", "Arrow", "Anchor", "Beacon", "Compass", "Lantern", "Meadow", "Shore")

# Chinese company names: city + two/three-character brand + industry word + suffix.
# Pinyin syllables are unique in each pool and pool 1 is prefix-free, so the
# pinyin domain of a name is unambiguous (no accidental shared websites).
_ZH_CITIES = (("北京", "北京", "Beijing", "bj"), ("上海", "上海", "Shanghai", "sh"), ("深圳", "深圳", "Shenzhen", "sz"),
              ("广州", "廣州", "Guangzhou", "gz"), ("杭州", "杭州", "Hangzhou", "hz"), ("成都", "成都", "Chengdu", "cd"),
              ("南京", "南京", "Nanjing", "nj"), ("武汉", "武漢", "Wuhan", "wh"))
_ZH_B1 = (("华", "華", "hua"), ("瑞", "瑞", "rui"), ("恒", "恆", "heng"), ("天", "天", "tian"), ("中", "中", "zhong"),
          ("博", "博", "bo"), ("金", "金", "jin"), ("宏", "宏", "hong"), ("新", "新", "xin"), ("鼎", "鼎", "ding"),
          ("汇", "匯", "hui"), ("海", "海", "hai"), ("云", "雲", "yun"), ("智", "智", "zhi"), ("长", "長", "chang"),
          ("东", "東", "dong"), ("安", "安", "an"), ("百", "百", "bai"), ("创", "創", "chuang"), ("达", "達", "da"),
          ("丰", "豐", "feng"), ("广", "廣", "guang"), ("国", "國", "guo"), ("航", "航", "hang"), ("佳", "佳", "jia"),
          ("凯", "凱", "kai"), ("蓝", "藍", "lan"), ("联", "聯", "lian"), ("明", "明", "ming"), ("鹏", "鵬", "peng"),
          ("启", "啟", "qi"), ("荣", "榮", "rong"), ("盛", "盛", "sheng"), ("泰", "泰", "tai"), ("伟", "偉", "wei"),
          ("祥", "祥", "xiang"))
_ZH_B2 = (("信", "信", "xin"), ("达", "達", "da"), ("通", "通", "tong"), ("科", "科", "ke"), ("源", "源", "yuan"),
          ("泰", "泰", "tai"), ("德", "德", "de"), ("丰", "豐", "feng"), ("成", "成", "cheng"), ("飞", "飛", "fei"),
          ("光", "光", "guang"), ("辉", "輝", "hui"), ("杰", "傑", "jie"), ("立", "立", "li"), ("龙", "龍", "long"),
          ("茂", "茂", "mao"), ("纳", "納", "na"), ("鹏", "鵬", "peng"), ("祺", "祺", "qi"), ("锐", "銳", "rui"),
          ("胜", "勝", "sheng"), ("图", "圖", "tu"), ("维", "維", "wei"), ("翔", "翔", "xiang"), ("耀", "耀", "yao"),
          ("宇", "宇", "yu"), ("越", "越", "yue"), ("展", "展", "zhan"), ("卓", "卓", "zhuo"), ("邦", "邦", "bang"),
          ("驰", "馳", "chi"), ("帆", "帆", "fan"), ("桥", "橋", "qiao"), ("润", "潤", "run"), ("森", "森", "sen"),
          ("拓", "拓", "tuo"))
_ZH_INDUSTRY = (("科技", "科技", "tech", "Technology"), ("信息技术", "信息技術", "it", "Technology"),
                ("软件", "軟件", "soft", "Technology"), ("电子", "電子", "elec", "Manufacturing"),
                ("物流", "物流", "logistics", "Transportation"), ("医疗器械", "醫療器械", "med", "Healthcare"),
                ("贸易", "貿易", "trade", "Retail"), ("制造", "製造", "mfg", "Manufacturing"),
                ("金融服务", "金融服務", "fin", "Finance"), ("咨询", "諮詢", "consulting", "Consulting"),
                ("能源", "能源", "energy", "Energy"), ("传媒", "傳媒", "media", "Media"))

# People. First names carry their nicknames (for the Bob/Robert duplicates).
_FIRST = {
    "en": ("James:Jim", "Robert:Bob", "John:Jack", "Michael:Mike", "William:Bill", "David:Dave", "Richard:Rick",
           "Joseph:Joe", "Thomas:Tom", "Christopher:Chris", "Daniel:Dan", "Matthew:Matt", "Anthony:Tony",
           "Steven:Steve", "Andrew:Andy", "Joshua:Josh", "Kenneth:Ken", "Edward:Ed", "Timothy:Tim",
           "Jonathan:Jon", "Benjamin:Ben", "Samuel:Sam", "Nicholas:Nick", "Alexander:Alex", "Patrick:Pat",
           "Gregory:Greg", "Brian", "Kevin", "Jason", "Ryan", "Eric", "Mark", "Paul", "Scott", "Mary",
           "Patricia:Patty", "Jennifer:Jen", "Linda", "Elizabeth:Liz", "Barbara:Barb", "Susan:Sue",
           "Jessica:Jess", "Sarah", "Karen", "Nancy", "Margaret:Maggie", "Lisa", "Emily", "Michelle",
           "Amanda:Mandy", "Melissa:Missy", "Deborah:Deb", "Stephanie:Steph", "Rebecca:Becky",
           "Katherine:Kate", "Christine:Chris", "Samantha:Sam", "Victoria:Vicky", "Olivia", "Emma",
           "Sophia", "Grace", "Laura", "Rachel", "Megan", "Hannah"),
    "de": ("Lukas", "Leon", "Maximilian:Max", "Felix", "Jonas", "Paul", "Tobias:Tobi", "Stefan", "Andreas:Andi",
           "Michael", "Thomas", "Jürgen", "Klaus", "Anna", "Lena", "Laura", "Julia", "Sarah",
           "Katharina:Kathi", "Sabine", "Petra", "Claudia", "Jana", "Sophie"),
    "fr": ("Jean", "Pierre", "Louis", "Lucas", "Hugo", "Thomas", "Nicolas:Nico", "Julien", "Antoine",
           "François", "Camille", "Léa", "Chloé", "Manon", "Emma", "Inès", "Marie", "Sophie", "Isabelle",
           "Nathalie", "Céline", "Élodie"),
    "nl": ("Daan", "Sem", "Lucas", "Jesse", "Bram", "Thijs", "Ruben", "Pieter:Piet", "Jan", "Willem:Wim",
           "Sanne", "Emma", "Julia", "Lotte", "Fleur", "Anouk", "Femke", "Lisa", "Eva", "Iris"),
    "ja": ("Hiroshi", "Takeshi", "Kenji", "Yuki", "Haruto", "Sota", "Daiki", "Kaito", "Ren", "Yuto", "Akira",
           "Satoshi", "Yui", "Aoi", "Hina", "Sakura", "Yuna", "Mei", "Miku", "Haruka", "Naoko", "Keiko"),
    "in": ("Aarav", "Vivaan", "Aditya", "Arjun", "Rohan", "Rahul", "Amit", "Vikram", "Sanjay", "Rajesh",
           "Priya", "Ananya", "Diya", "Isha", "Kavya", "Neha", "Pooja", "Sneha", "Divya", "Anjali"),
    "es": ("José:Pepe", "Juan", "Luis", "Carlos", "Jorge", "Miguel", "Alejandro:Alex", "Fernando:Nando",
           "Diego", "Javier", "Francisco:Paco", "María", "Guadalupe:Lupe", "Ana", "Sofía", "Valentina",
           "Camila", "Daniela", "Fernanda", "Gabriela:Gaby", "Lucía"),
    "pt": ("João", "Pedro", "Lucas", "Gabriel", "Mateus", "Rafael:Rafa", "Gustavo:Guga", "Felipe", "Bruno",
           "Thiago", "Ana", "Maria", "Beatriz:Bia", "Juliana", "Larissa", "Camila", "Fernanda", "Mariana",
           "Letícia", "Bruna"),
}
_LAST = {
    "en": ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
           "Martinez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
           "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
           "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts",
           "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris",
           "Murphy", "Cook", "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Kelly",
           "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "Hughes",
           "Price", "Sanders", "Patel", "Nguyen", "Kim", "Chen", "Wang", "O'Brien", "McDonald", "Sullivan",
           "Foster", "Russell", "Fischer", "Khan"),
    "de": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
           "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
           "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Werner", "Krause",
           "Lehmann"),
    "fr": ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
           "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
           "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François"),
    "nl": ("de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit",
           "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen",
           "Dekker", "Brouwer"),
    "ja": ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi",
           "Kato", "Yoshida", "Yamada", "Sasaki", "Yamaguchi", "Matsumoto", "Inoue", "Kimura", "Hayashi",
           "Shimizu", "Mori"),
    "in": ("Sharma", "Verma", "Gupta", "Singh", "Kumar", "Patel", "Reddy", "Iyer", "Nair", "Mehta", "Shah",
           "Rao", "Joshi", "Desai", "Kapoor", "Malhotra", "Chopra", "Banerjee", "Mukherjee", "Das"),
    "es": ("Hernández", "García", "Martínez", "López", "González", "Rodríguez", "Pérez", "Sánchez", "Ramírez",
           "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres", "Díaz",
           "Gutiérrez", "Ruiz"),
    "pt": ("Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
           "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira",
           "Barbosa"),
}
# Chinese: simplified, traditional, pinyin
_ZH_SURNAMES = (("王", "王", "Wang"), ("李", "李", "Li"), ("张", "張", "Zhang"), ("刘", "劉", "Liu"),
                ("陈", "陳", "Chen"), ("杨", "楊", "Yang"), ("黄", "黃", "Huang"), ("赵", "趙", "Zhao"),
                ("吴", "吳", "Wu"), ("周", "周", "Zhou"), ("徐", "徐", "Xu"), ("孙", "孫", "Sun"), ("马", "馬", "Ma"),
                ("朱", "朱", "Zhu"), ("胡", "胡", "Hu"), ("郭", "郭", "Guo"), ("何", "何", "He"), ("林", "林", "Lin"),
                ("罗", "羅", "Luo"), ("郑", "鄭", "Zheng"))
_ZH_GIVEN = (("伟", "偉", "Wei"), ("芳", "芳", "Fang"), ("娜", "娜", "Na"), ("敏", "敏", "Min"), ("静", "靜", "Jing"),
             ("丽", "麗", "Li"), ("强", "強", "Qiang"), ("磊", "磊", "Lei"), ("军", "軍", "Jun"), ("洋", "洋", "Yang"),
             ("勇", "勇", "Yong"), ("艳", "艷", "Yan"), ("杰", "傑", "Jie"), ("涛", "濤", "Tao"), ("明", "明", "Ming"),
             ("超", "超", "Chao"), ("秀英", "秀英", "Xiuying"), ("华", "華", "Hua"), ("建国", "建國", "Jianguo"),
             ("晓东", "曉東", "Xiaodong"), ("海燕", "海燕", "Haiyan"), ("志强", "志強", "Zhiqiang"),
             ("丹", "丹", "Dan"), ("鹏", "鵬", "Peng"), ("婷", "婷", "Ting"), ("斌", "斌", "Bin"))

_TITLES = (  # by seniority: C-level, VP, Director, Manager, individual contributor
    ("CEO", "CFO", "CTO", "COO", "Chief Revenue Officer", "Chief Data Officer"),
    ("VP Sales", "VP Marketing", "VP Engineering", "VP Operations", "VP Finance", "SVP, Procurement"),
    ("Director of IT", "Director of Operations", "Sales Director", "Marketing Director", "Head of Data"),
    ("IT Manager", "Operations Manager", "Marketing Manager", "Procurement Manager", "Project Manager"),
    ("Analyst", "Engineer", "Consultant", "Specialist", "Coordinator", "Data Scientist"),
)
_ZH_TITLES = (("总经理", "首席技术官"), ("副总裁",), ("技术总监", "销售总监"), ("销售经理", "项目经理"), ("工程师", "分析师"))

_PRODUCTS = ("Platform License", "Enterprise Plan", "Analytics Add-on", "Professional Services", "Team Plan",
             "Data Integration", "Premium Support", "Expansion Seats")
_LEAD_STATUS = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
_CAMPAIGN_TYPES = ("Webinar", "Trade Show", "Email", "Paid Search")
_CAMPAIGN_PLAN = {  # per year (times sqrt(scale)), promotion days, budget range
    "Webinar": (12, 21, (2_000, 8_000)), "Trade Show": (6, 3, (30_000, 80_000)),
    "Email": (12, 10, (1_000, 3_000)), "Paid Search": (4, 90, (20_000, 60_000)),
}
_WEBINAR_TOPICS = ("Pipeline Forecasting 101", "Data-Driven Sales", "Revenue Operations Deep Dive",
                   "Winning Enterprise Deals", "Customer Analytics Live", "Product Tour")
_TRADE_SHOWS = ("SaaS Connect", "DataWorld Expo", "CloudSummit", "Revenue Summit", "AI Business Forum",
                "TechFair")
_TASK_SUBJECTS = {"Call": ("Call", "Follow-up call", "Intro call", "Left voicemail", "Discovery call"),
                  "Email": ("Email: Intro", "Email: Follow-up", "Sent pricing", "Sent proposal", "Email: Case study")}
_EVENT_SUBJECTS = ("Discovery meeting", "Product demo", "Technical deep dive", "Proposal review",
                   "Negotiation meeting", "Executive briefing")

# ----------------------------------------------------------------------------
# Dirty data: which defects each file receives, and how often
# ----------------------------------------------------------------------------

_EXPECTED = {
    "missing_id": "quarantine", "duplicate_id": "quarantine", "unparseable_date": "quarantine",
    "unparseable_amount": "quarantine", "negative_amount": "quarantine",
    "probability_out_of_range": "quarantine", "orphan_history": "quarantine",
    "orphan_campaign_member": "quarantine",
    "missing_amount": "flag", "bad_email": "flag", "close_before_created": "flag",
    "converted_before_created": "flag",
    "picklist_variant": "clean", "id15": "clean", "email_case": "clean", "phone_format": "clean",
}
#: Defects that are added as extra rows (copies of clean records), so that
#: quarantining them leaves the simulated org intact.
_EXTRA_ROW_KINDS = ("missing_id", "duplicate_id", "unparseable_date", "unparseable_amount",
                    "negative_amount", "probability_out_of_range", "orphan_history", "orphan_campaign_member")

# (kind, candidate columns, share of rows -- or an int: a fixed count for the small tables)
_DIRTY_SPECS = {
    "Lead.csv": (
        ("missing_id", ("lead_id",), 0.002), ("duplicate_id", ("lead_id",), 0.003),
        ("unparseable_date", ("created_date",), 0.003), ("bad_email", ("email",), 0.004),
        ("picklist_variant", ("lead_source", "status", "industry"), 0.008),
        ("id15", ("converted_opportunity_id", "converted_account_id", "converted_contact_id", "owner_id"), 0.005),
        ("email_case", ("email",), 0.006), ("phone_format", ("phone",), 0.008),
    ),
    "Opportunity.csv": (
        ("missing_id", ("opportunity_id",), 0.002), ("duplicate_id", ("opportunity_id",), 0.003),
        ("unparseable_date", ("close_date", "created_date"), 0.003),
        ("unparseable_amount", ("amount",), 0.003), ("negative_amount", ("amount",), 0.003),
        ("probability_out_of_range", ("probability",), 0.003),
        ("picklist_variant", ("stage_name", "lead_source", "type", "forecast_category"), 0.01),
        ("id15", ("account_id", "owner_id", "campaign_id"), 0.006),
    ),
    "OpportunityHistory.csv": (
        ("missing_id", ("history_id",), 0.001), ("duplicate_id", ("history_id",), 0.002),
        ("unparseable_date", ("created_date", "close_date"), 0.002),
        ("unparseable_amount", ("amount",), 0.002), ("probability_out_of_range", ("probability",), 0.002),
        ("orphan_history", ("opportunity_id",), 0.003),
        ("picklist_variant", ("stage_name", "forecast_category"), 0.005),
        ("id15", ("opportunity_id", "created_by_id"), 0.005),
    ),
    "Account.csv": (
        ("missing_id", ("account_id",), 0.003), ("duplicate_id", ("account_id",), 0.004),
        ("unparseable_date", ("created_date",), 0.003),
        ("picklist_variant", ("industry", "type", "region"), 0.01), ("phone_format", ("phone",), 0.01),
        ("id15", ("owner_id",), 0.005),
    ),
    "Contact.csv": (
        ("missing_id", ("contact_id",), 0.002), ("duplicate_id", ("contact_id",), 0.003),
        ("unparseable_date", ("created_date",), 0.003), ("bad_email", ("email",), 0.005),
        ("email_case", ("email",), 0.006), ("phone_format", ("phone",), 0.008),
        ("picklist_variant", ("lead_source",), 0.006), ("id15", ("account_id", "owner_id"), 0.006),
    ),
    "Task.csv": (
        ("missing_id", ("activity_id",), 0.001), ("duplicate_id", ("activity_id",), 0.002),
        ("unparseable_date", ("activity_date",), 0.002),
        ("picklist_variant", ("status", "type", "priority"), 0.006), ("id15", ("who_id", "what_id"), 0.005),
    ),
    "Event.csv": (
        ("missing_id", ("activity_id",), 0.002), ("duplicate_id", ("activity_id",), 0.002),
        ("unparseable_date", ("activity_date",), 0.003),
        ("picklist_variant", ("type",), 0.006), ("id15", ("who_id", "what_id"), 0.005),
    ),
    "Campaign.csv": (
        ("duplicate_id", ("campaign_id",), 1), ("unparseable_date", ("start_date", "end_date"), 1),
        ("picklist_variant", ("type", "status"), 2),
    ),
    "CampaignMember.csv": (
        ("missing_id", ("campaign_member_id",), 0.001), ("duplicate_id", ("campaign_member_id",), 0.002),
        ("orphan_campaign_member", ("campaign_id",), 0.003),
        ("unparseable_date", ("created_date", "first_responded_date"), 0.002),
        ("picklist_variant", ("status",), 0.006), ("id15", ("campaign_id", "lead_id", "contact_id"), 0.005),
    ),
    "User.csv": (
        ("bad_email", ("email",), 1), ("email_case", ("email",), 1), ("picklist_variant", ("role", "region"), 1),
    ),
}
_SHARE_MISSING_AMOUNT = 0.005     # deals never given an Amount (flag)
_SHARE_IMPORTED_DEALS = 0.01      # historical deals imported with CloseDate < CreatedDate (flag)
_SHARE_CONVERTED_BEFORE_CREATED = 0.002

_ID_PREFIX = {
    "leads": "00Q", "opportunities": "006", "opportunity_history": "008", "accounts": "001",
    "contacts": "003", "tasks": "00T", "events": "00U", "campaigns": "701", "campaign_members": "00v",
    "users": "005", "stages": "01J",
}

# ----------------------------------------------------------------------------
# Small vectorised helpers
# ----------------------------------------------------------------------------

_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_SUFFIX_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)
_TWO_DIGITS = pa.array([f"{i:02d}" for i in range(100)], _STR)
_NULL = pa.scalar(None, _STR)


def _pool(values) -> pa.Array:
    return pa.array(list(values), _STR)


def _take(pool: pa.Array, idx, valid=None) -> pa.Array:
    """pool[idx] as an Arrow string array; rows where ``valid`` is False are null."""
    idx = np.asarray(idx, dtype=np.int64)
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    if mask is not None:
        idx = np.where(mask, 0, idx)
    return pool.take(pa.array(idx, mask=mask))


def _cat(*parts, sep: str = "") -> pa.Array:
    """Element-wise concatenation (null if any part is null)."""
    return pc.binary_join_element_wise(*parts, sep)


def _where(cond, a, b) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(cond, dtype=bool)), a, b)


def _null_where(arr: pa.Array, cond) -> pa.Array:
    cond = np.asarray(cond, dtype=bool)
    if not cond.any():
        return arr
    return pc.if_else(pa.array(cond), _NULL, arr)


def _s_int(x, valid=None) -> pa.Array:
    x = np.asarray(x, dtype=np.int64)
    return pa.array(x, mask=None if valid is None else ~np.asarray(valid, bool)).cast(_STR)


def _s_money(x) -> pa.Array:
    """Money as a plain number with two decimals (``25300.00``); NaN -> empty."""
    x = np.asarray(x, dtype=float)
    valid = np.isfinite(x)
    cents = np.round(np.where(valid, x, 0.0) * 100).astype(np.int64)
    neg, c = cents < 0, np.abs(cents)
    s = _cat(pa.array(c // 100).cast(_STR), _TWO_DIGITS.take(pa.array(c % 100)), sep=".")
    if neg.any():
        s = _where(neg, _cat("-", s), s)
    return _null_where(s, ~valid)


def _fixed_width(m: np.ndarray, valid=None) -> pa.Array:
    """Arrow strings from an (n, width) uint8 matrix of ASCII, zero-copy-ish and fast."""
    n, width = m.shape
    small = width * (n + 1) < 2**31
    offsets = np.arange(0, width * (n + 1), width, dtype=np.int32 if small else np.int64)
    mask = None
    if valid is not None:
        valid = np.asarray(valid, bool)
        if not valid.all():
            mask = pa.py_buffer(np.packbits(valid, bitorder="little"))
    arr = pa.Array.from_buffers(_STR if small else pa.large_string(), n,
                                [mask, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(m))])
    return arr if small else arr.cast(_STR)


def _put_digits(mt: np.ndarray, row: int, value: np.ndarray, width: int) -> None:
    """Write ``value`` zero-padded into rows row..row+width of a *transposed* (width, n) byte matrix.

    Rows of the transposed matrix are contiguous, so each digit is one streaming
    pass; int32 division is about twice as fast as int64.
    """
    v = value.astype(np.int32, copy=True)
    for k in range(row + width - 1, row - 1, -1):
        v, r = np.divmod(v, 10)
        np.add(r, 48, out=mt[k], casting="unsafe")


def _civil(days: np.ndarray):
    """(year, month, day) of days since 1970-01-01 (H. Hinnant's algorithm; 3x faster than datetime64)."""
    z = days.astype(np.int64) + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _date_bytes(days: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` of each day as an (n, 10) byte matrix.

    Records span a few thousand distinct days, so the text of each day is made
    once and gathered: far cheaper than date arithmetic per row.
    """
    if not len(days):
        return np.empty((0, 10), np.uint8)
    lo = int(days.min())
    span = np.arange(lo, int(days.max()) + 1)
    y, mo, d = _civil(span)
    mt = np.empty((10, len(span)), np.uint8)
    _put_digits(mt, 0, y, 4)
    mt[4] = mt[7] = ord("-")
    _put_digits(mt, 5, mo, 2)
    _put_digits(mt, 8, d, 2)
    return np.ascontiguousarray(mt.T)[days - lo]


_TOD: list = []


def _tod_bytes() -> np.ndarray:
    """``HH:MM:SS`` of every second of a day, (86400, 8) bytes, built once."""
    if not _TOD:
        t = np.arange(_DAY)
        mt = np.empty((8, _DAY), np.uint8)
        _put_digits(mt, 0, t // 3600, 2)
        mt[2] = mt[5] = ord(":")
        _put_digits(mt, 3, t // 60 % 60, 2)
        _put_digits(mt, 6, t % 60, 2)
        _TOD.append(np.ascontiguousarray(mt.T))
    return _TOD[0]


def _s_date(days, valid=None) -> pa.Array:
    """Dates as ``2024-01-19``."""
    days = np.asarray(days, dtype=np.int64)
    if valid is not None:
        days = np.where(valid, days, days[valid][0] if np.any(valid) else 0)
    return _fixed_width(_date_bytes(days), valid)


_TS_TAIL = np.frombuffer(b".000+0000", np.uint8)


def _s_ts(sec, valid=None) -> pa.Array:
    """Salesforce API timestamps, ``2024-01-19T09:42:24.000+0000`` (UTC).

    Assembled from per-day and per-second byte tables: ``pc.strftime`` is ~15x slower.
    """
    sec = np.asarray(sec, dtype=np.int64)
    if valid is not None:
        sec = np.where(valid, sec, sec[valid][0] if np.any(valid) else 0)
    days, tod = np.divmod(sec, _DAY)
    m = np.empty((len(sec), 28), np.uint8)
    m[:, :10] = _date_bytes(days)
    m[:, 10] = ord("T")
    m[:, 11:19] = _tod_bytes()[tod]
    m[:, 19:] = _TS_TAIL
    return _fixed_width(m, valid)


def _s_bool(b) -> pa.Array:
    return _where(b, pa.scalar("true"), pa.scalar("false"))


def _sf_id_matrix(prefix: str, pod: bytes, counters: np.ndarray) -> np.ndarray:
    """18-character Salesforce IDs as an (n, 18) byte matrix: prefix + pod + base62 counter + suffix.

    The case-encoding suffix (what ``ids.to_18`` computes per string) is done
    with ``packbits`` over the whole matrix, so a million IDs take milliseconds.
    """
    counters = np.asarray(counters, dtype=np.int64)
    n = len(counters)
    mt = np.empty((18, n), dtype=np.uint8)      # transposed: each character is one contiguous row
    mt[0:3] = np.frombuffer(prefix.encode(), np.uint8)[:, None]
    mt[3:5] = np.frombuffer(pod, np.uint8)[:, None]
    # two 5-digit halves in int32 arithmetic (62**5 < 2**31) is much faster than int64
    hi, lo = np.divmod(counters, 62**5)
    for half, start in ((hi.astype(np.int32), 5), (lo.astype(np.int32), 10)):
        for k in range(start + 4, start - 1, -1):
            half, r = np.divmod(half, 62)
            mt[k] = _B62[r]
    for j in range(3):
        bits = np.zeros(n, np.uint8)
        for i in range(5):
            c = mt[5 * j + i]
            bits |= (((c >= 65) & (c <= 90)).astype(np.uint8) << i)
        mt[15 + j] = _SUFFIX_ALPHABET[bits]
    return np.ascontiguousarray(mt.T)


def _sf_ids(prefix: str, pod: bytes, counters: np.ndarray) -> pa.Array:
    return _fixed_width(_sf_id_matrix(prefix, pod, counters))


def _id_ref(ids: np.ndarray, idx, valid=None) -> pa.Array:
    """Reference column: ``ids`` (an ``S18`` array by entity) at ``idx``; null where not ``valid``.

    Gathering fixed-width bytes in numpy is ~2x faster than an Arrow string take.
    """
    idx = np.asarray(idx, np.int64)
    if valid is not None:
        idx = np.where(valid, idx, 0)
    g = ids[idx] if len(ids) else np.zeros(len(idx), "S18")
    return _fixed_width(g.view(np.uint8).reshape(len(idx), 18), valid)


def _overlay(base: pa.Array, mask: np.ndarray, values: pa.Array) -> pa.Array:
    """``base`` with the rows where ``mask`` is True replaced by ``values`` (in order)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return base
    return pc.replace_with_mask(base, pa.array(mask), values)


def _ascii(s: str) -> str:
    """Lower-case ASCII slug of a name, for e-mail local parts and domains."""
    s = s.replace("ß", "ss")
    s = unicodedata.normalize("NFKD", s)
    return "".join(ch for ch in s if ch.isascii() and ch.isalnum()).lower()


def _lognormal(rng, median, sigma, size):
    return median * np.exp(sigma * rng.standard_normal(size))


def _quarter_end_day(day: np.ndarray) -> np.ndarray:
    """Day number (days since 1970-01-01) of the last day of the quarter."""
    months = np.asarray(day, dtype="int64").astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    next_q = (months // 3 + 1) * 3
    return next_q.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1


def _choice_by_group(rng, group: np.ndarray, members: list[np.ndarray]) -> np.ndarray:
    """For each row, a random element of ``members[group[row]]`` (vectorised)."""
    sizes = np.array([len(m) for m in members])
    width = max(1, sizes.max())
    table = np.full((len(members), width), -1, dtype=np.int64)
    for g, m in enumerate(members):
        table[g, :len(m)] = m
    pick = np.floor(rng.random(len(group)) * sizes[group]).astype(np.int64)
    return table[group, pick]


def _repeat_children(counts: np.ndarray, lo: np.ndarray, hi: np.ndarray, rng):
    """Children of parents with ``counts`` each, uniformly timed in [lo, hi)."""
    parent = np.repeat(np.arange(len(counts)), counts)
    t = lo[parent] + np.floor(rng.random(len(parent)) * np.maximum(hi[parent] - lo[parent], 1)).astype(np.int64)
    return parent, t


# ----------------------------------------------------------------------------
# Name pools (built once)
# ----------------------------------------------------------------------------

@dataclass
class _NamePools:
    first: pa.Array
    first_ascii: pa.Array
    first_alt: pa.Array      # traditional characters for Chinese, else the same name
    first_pinyin: pa.Array   # romanised Chinese, else the same name
    first_nick: np.ndarray   # index of the nickname entry, -1 if none
    last: pa.Array
    last_ascii: pa.Array
    last_alt: pa.Array
    last_pinyin: pa.Array
    first_range: np.ndarray  # (n_cultures, 2) half-open index ranges of formal names
    last_range: np.ndarray
    cultures: tuple


def _build_name_pools() -> _NamePools:
    cultures = ("en", "de", "fr", "nl", "ja", "in", "es", "pt", "zh")
    firsts, f_rng, nick_of = [], [], []      # rows: (name, ascii slug, traditional, pinyin)
    for cu in cultures:
        lo = len(firsts)
        if cu == "zh":
            firsts += [(simp, _ascii(pin), trad, pin) for simp, trad, pin in _ZH_GIVEN]
        else:
            for entry in _FIRST[cu]:
                name, _, nick = entry.partition(":")
                if nick:
                    nick_of.append((len(firsts), nick))
                firsts.append((name, _ascii(name), name, name))
        f_rng.append((lo, len(firsts)))
    # nicknames live after the formal names so they are never drawn for a clean record
    f_nick = np.full(len(firsts) + len(nick_of), -1)
    for owner, nick in nick_of:
        f_nick[owner] = len(firsts)
        firsts.append((nick, _ascii(nick), nick, nick))
    lasts, l_rng = [], []
    for cu in cultures:
        lo = len(lasts)
        if cu == "zh":
            lasts += [(simp, _ascii(pin), trad, pin) for simp, trad, pin in _ZH_SURNAMES]
        else:
            lasts += [(name, _ascii(name), name, name) for name in _LAST[cu]]
        l_rng.append((lo, len(lasts)))
    f_cols = [_pool(col) for col in zip(*firsts)]
    l_cols = [_pool(col) for col in zip(*lasts)]
    return _NamePools(
        f_cols[0], f_cols[1], f_cols[2], f_cols[3], f_nick,
        l_cols[0], l_cols[1], l_cols[2], l_cols[3],
        np.array(f_rng), np.array(l_rng), cultures,
    )


@dataclass
class _CompanyPools:
    brand: pa.Array          # western brand names, nice ones first
    brand_slug: pa.Array
    n_brand_base: int        # two-syllable + adjective/noun brands
    desc: pa.Array           # descriptor words ("Analytics")
    desc_slug: pa.Array
    desc_industry: np.ndarray
    zh_brand: pa.Array       # simplified, traditional, pinyin of 2- then 3-character brands
    zh_brand_trad: pa.Array
    zh_brand_pinyin: pa.Array
    n_zh_brand_base: int
    suffix: pa.Array         # suffix text as joined to a name (leading space unless a comma or Chinese)
    suffix_group: np.ndarray
    country_suffixes: list   # per country: suffix indices allowed in clean data


def _build_company_pools(extended: bool) -> _CompanyPools:
    brands = [a + b for a in _SYL1 for b in _SYL2]
    brands += [f"{a} {b}" for a in _ADJ for b in _NOUN]
    n_base = len(brands)
    if extended:   # three-syllable brands, only for large scales (building them takes a while)
        brands += [a + b + c for a in _SYL1 for b in _SYL2 for c in _SYL2 if b[-1] != c[0] and b != c]
    # "Ac"+"ar"+"a" spells "Ac"+"ara": keep one brand per slug, or two companies
    # would share a name and a website without being in the duplicate truth
    by_slug = {}
    for b in brands:
        by_slug.setdefault(b.replace(" ", "").lower(), b)
    slugs, brands = list(by_slug), list(by_slug.values())
    assert brands[:n_base] == [a + b for a in _SYL1 for b in _SYL2] + [f"{a} {b}" for a in _ADJ for b in _NOUN]
    desc, desc_ind = [], []
    for i, (_, words, _) in enumerate(_INDUSTRIES):
        desc += list(words)
        desc_ind += [i] * len(words)
    # (simplified, traditional, pinyin) of each brand: two characters, then three if needed
    zh_rows = [tuple(x + y for x, y in zip(a, b)) for a in _ZH_B1 for b in _ZH_B2]
    n_zh_base = len(zh_rows)
    if extended:
        zh_rows += [tuple(x + y + z for x, y, z in zip(a, b, c))
                    for a in _ZH_B1 for b in _ZH_B2[:18] for c in _ZH_B2[18:]]
    zh_rows = list({row[2]: row for row in reversed(zh_rows)}.values())[::-1]   # one brand per pinyin
    assert len({row[2] for row in zh_rows[:n_zh_base]}) == n_zh_base
    zh, zh_t, zh_p = zip(*zh_rows)
    suffix_text = [(s if s.startswith(",") or not s.isascii() else " " + s) for s, _ in _SUFFIXES]
    groups = [g for _, g in _SUFFIXES]
    group_ids = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    country_suffixes = []
    for c in _COUNTRIES:
        allowed = _COUNTRY_SUFFIX_GROUPS[c[1]]
        country_suffixes.append(np.array([i for i, g in enumerate(groups) if g in allowed]))
    return _CompanyPools(
        _pool(brands), _pool(slugs), n_base,
        _pool(desc), _pool(_ascii(d) for d in desc), np.array(desc_ind),
        _pool(zh), _pool(zh_t), _pool(zh_p), n_zh_base,
        _pool(suffix_text), np.array([group_ids[g] for g in groups]), country_suffixes,
    )


_POOLS: dict = {}


def _name_pools() -> _NamePools:
    if "names" not in _POOLS:
        _POOLS["names"] = _build_name_pools()
    return _POOLS["names"]


def _company_pools(extended: bool) -> _CompanyPools:
    if extended not in _POOLS:
        _POOLS[extended] = _build_company_pools(extended)
    return _POOLS[extended]


# ----------------------------------------------------------------------------
# The simulation
# ----------------------------------------------------------------------------

@dataclass
class _File:
    """One export file being assembled: canonical column -> Arrow string array."""

    name: str
    table: str
    key: str
    prefix: str
    columns: dict
    protected: np.ndarray                 # rows that must stay clean (duplicates, flagged records)
    copy_ok: np.ndarray | None = None     # rows that may be copied with a fresh Id
    country_iso: np.ndarray | None = None  # per row, for national phone formats
    preassigned: list = field(default_factory=list)  # (kind, column, rows) already in the data

    @property
    def n(self) -> int:
        return len(next(iter(self.columns.values())))


class _Sim:
    def __init__(self, seed: int, scale: float, start, years: int):
        self.seed, self.scale, self.years = int(seed), float(scale), int(years)
        t0 = pd.Timestamp(start)
        if t0.tzinfo is not None:
            t0 = t0.tz_convert("UTC").tz_localize(None)
        t0 = t0.normalize()
        t1 = t0 + pd.DateOffset(years=self.years)
        self.start_str, self.end_str = t0.date().isoformat(), t1.date().isoformat()
        self.t0, self.t1 = int(t0.value // 10**9), int(t1.value // 10**9)
        self.mature_cut = self.t1 - _LEADS["maturity_days"] * _DAY
        names = ("users", "companies", "leads", "campaigns", "accounts", "contacts", "opps", "history",
                 "members", "activities", "duplicates", "ids", "dirty")
        self.rng = dict(zip(names, np.random.default_rng(self.seed).spawn(len(names))))
        self.names = _name_pools()
        # per-country lookups
        self.c_iso = np.array([c[1] for c in _COUNTRIES])
        self.c_region = np.array([_REGIONS.index(c[2]) for c in _COUNTRIES])
        self.c_weight = np.array([c[3] for c in _COUNTRIES])
        self.c_culture = np.array([self.names.cultures.index(c[4]) for c in _COUNTRIES])
        cities = [(ci, *city) for ci, c in enumerate(_COUNTRIES) for city in c[7]]
        self.city_country = np.array([c[0] for c in cities])
        self.city_name = _pool(c[1] for c in cities)
        self.city_area = [c[2] for c in cities]
        self.city_first_digits = [c[3] for c in cities]
        self.city_sub_len = np.array([c[4] for c in cities])
        self.city_e164_prefix = _pool("+" + _COUNTRIES[c[0]][6] + c[2] for c in cities)
        self.country_cities = [np.flatnonzero(self.city_country == ci) for ci in range(len(_COUNTRIES))]
        self.pod = bytes(_B62[self.rng["ids"].integers(36, 62, 2)])  # the org's instance, e.g. "bm"
        self.title_pool = _pool([t for level in _TITLES for t in level] + [t for level in _ZH_TITLES for t in level])
        self.id_next = {}

    # -- identifiers ---------------------------------------------------------
    def new_counters(self, kind: str, n: int) -> np.ndarray:
        """Increasing ID counters of one key prefix, with small gaps like a real org."""
        rng = self.rng["ids"]
        start = self.id_next.get(kind)
        if start is None:
            start = int(rng.integers(62**5, 3 * 62**5))
        counters = start + np.cumsum(rng.integers(1, 4, n))
        self.id_next[kind] = int(counters[-1]) + 1 if n else start
        return counters

    def new_ids(self, kind: str, n: int) -> pa.Array:
        return _sf_ids(_ID_PREFIX[kind], self.pod, self.new_counters(kind, n))

    # -- time ----------------------------------------------------------------
    def arrivals(self, rng, n: int, region: np.ndarray, lo: int | None = None, hi: int | None = None):
        """Creation timestamps: business days, yearly growth, seasonality, local office hours."""
        lo = self.t0 if lo is None else lo
        hi = self.t1 if hi is None else hi
        d0, n_days = lo // _DAY, max(1, (hi - lo) // _DAY)
        d = np.arange(n_days)
        dates = (d0 + d).astype("datetime64[D]")
        weekday = (d0 + d + 3) % 7
        month = dates.astype("datetime64[M]").astype(np.int64) % 12
        w = ((1 + _LEADS["yearly_growth"]) ** (d / 365.25) * np.array(_LEADS["weekday_factor"])[weekday]
             * np.array(_LEADS["month_factor"])[month])
        day = rng.choice(n_days, size=n, p=w / w.sum())
        hour = np.array(_REGION_HOUR_UTC)[region] + 2.5 * rng.standard_normal(n)
        tod = np.clip(hour * 3600, 0, _DAY - 1).astype(np.int64)
        return (d0 + day) * _DAY + tod

    # -- people --------------------------------------------------------------
    def people(self, rng, culture: np.ndarray):
        fr, lr = self.names.first_range, self.names.last_range
        first = fr[culture, 0] + np.floor(rng.random(len(culture)) * (fr[culture, 1] - fr[culture, 0])).astype(np.int64)
        last = lr[culture, 0] + np.floor(rng.random(len(culture)) * (lr[culture, 1] - lr[culture, 0])).astype(np.int64)
        return first, last

    def unique_people(self, rng, group: np.ndarray, culture: np.ndarray, first, last, pattern, fixed=None):
        """Re-draw names until no two people of the same company share a name or an e-mail.

        Accidental namesakes at one company would look like duplicates to a
        de-duplicator and are not in the truth, so they are not allowed.
        ``fixed`` rows (people copied from elsewhere) are never re-drawn. After
        the first pass only the companies that had a clash are checked again.
        """
        n = len(group)
        fixed = np.zeros(n, bool) if fixed is None else fixed
        first, last, pattern = first.copy(), last.copy(), pattern.copy()
        n_first, n_last = len(self.names.first), len(self.names.last)
        rows = np.arange(n)
        for it in range(200):
            g, fx = group[rows], fixed[rows]
            codes = self.email_local(first[rows], last[rows], pattern[rows]).dictionary_encode().indices.to_numpy()
            prio = np.argsort(~fx, kind="stable")          # fixed rows claim their name first
            name_key = (g * n_first + first[rows]) * n_last + last[rows]
            mail_key = g * (int(codes.max(initial=0)) + 1) + codes
            dup = np.zeros(len(rows), bool)
            dup[prio] = (pd.Series(name_key[prio]).duplicated().to_numpy()
                         | pd.Series(mail_key[prio]).duplicated().to_numpy())
            bad = rows[dup & ~fx]
            if not len(bad):
                return first, last, pattern
            f2, l2 = self.people(rng, culture[bad])
            first[bad], pattern[bad] = f2, rng.integers(0, 4, len(bad))
            if it > 5:   # small name pools (Chinese) at big companies: vary the surname too
                last[bad] = l2
            rows = np.flatnonzero(np.isin(group, np.unique(group[bad])))
        raise RuntimeError("could not draw unique names")  # pragma: no cover

    def email_local(self, first, last, pattern) -> pa.Array:
        f = _take(self.names.first_ascii, first)
        lname = _take(self.names.last_ascii, last)
        initial = pc.utf8_slice_codeunits(f, 0, 1)
        return _where(pattern == 0, _cat(f, ".", lname),
                      _where(pattern == 1, _cat(initial, lname),
                             _where(pattern == 2, _cat(f, "_", lname), _cat(f, lname))))

    def full_name(self, first_s: pa.Array, last_s: pa.Array, is_zh: np.ndarray) -> pa.Array:
        # Chinese names are written family name first, without a space
        return _where(is_zh, _cat(last_s, first_s), _cat(first_s, " ", last_s))

    def titles(self, rng, seniority: np.ndarray, is_zh: np.ndarray) -> np.ndarray:
        """Index into ``self.title_pool`` (half of the Chinese contacts have Chinese titles)."""
        en = [t for level in _TITLES for t in level]
        off_en = np.cumsum([0] + [len(x) for x in _TITLES])
        off_zh = np.cumsum([0] + [len(x) for x in _ZH_TITLES])
        n_en = np.array([len(x) for x in _TITLES])[seniority]
        n_zh = np.array([len(x) for x in _ZH_TITLES])[seniority]
        u = rng.random(len(seniority))
        use_zh = is_zh & (rng.random(len(seniority)) < 0.5)
        return np.where(use_zh, len(en) + off_zh[seniority] + np.floor(u * n_zh),
                        off_en[seniority] + np.floor(u * n_en)).astype(np.int64)

    def phone_str(self, city: np.ndarray, number: np.ndarray, valid=None) -> pa.Array:
        """E.164 text of a (city, subscriber number) pair."""
        out = _cat(_take(self.city_e164_prefix, city), pa.array(np.asarray(number, np.int64)).cast(_STR))
        return out if valid is None else _null_where(out, ~np.asarray(valid, bool))

    def phones(self, rng, city: np.ndarray) -> np.ndarray:
        """Subscriber numbers valid in the city's area code (checked with phonenumbers in the tests)."""
        n = len(city)
        sub_len = self.city_sub_len[city]
        first_digit = np.empty(n, np.int64)
        for ci in np.unique(city):
            m = city == ci
            digits = np.array([int(d) for d in self.city_first_digits[ci]])
            first_digit[m] = digits[rng.integers(0, len(digits), m.sum())]
        rest = np.floor(rng.random(n) * 10.0 ** (sub_len - 1)).astype(np.int64)
        number = first_digit * 10 ** (sub_len - 1) + rest
        # NANP exchanges may not end in "11"
        nanp = np.isin(self.city_country[city], [0, 1])
        exch = number // 10**4
        bad = nanp & (exch % 100 == 11)
        return np.where(bad, number + 10**4, number)

    # -- users ---------------------------------------------------------------
    def make_users(self):
        rng = self.rng["users"]
        n_target = max(12, int(round(30 * self.scale ** 0.25)))
        region_w = np.array([self.c_weight[self.c_region == r].sum() for r in range(4)])
        region, role = [], []
        for r in range(4):
            n_r = max(3, int(round(region_w[r] * n_target)))
            n_sdr = max(1, int(round(0.4 * (n_r - 1))))
            region += [r] * n_r
            role += ["Manager"] + ["SDR"] * n_sdr + ["AE"] * (n_r - 1 - n_sdr)
        region, role = np.array(region), np.array(role)
        n = len(region)
        country = np.array([rng.choice(np.flatnonzero(self.c_region == r), p=self.c_weight[self.c_region == r]
                                       / self.c_weight[self.c_region == r].sum()) for r in region])
        culture = self.c_culture[country]
        first, last = self.people(rng, culture)
        first, last, _ = self.unique_people(rng, np.zeros(n, np.int64), culture, first, last, np.zeros(n, np.int64))
        is_zh = country == _CN
        f_s, l_s = _take(self.names.first, first), _take(self.names.last, last)
        email = _cat(self.email_local(first, last, np.zeros(n, np.int64)), "@salesorg.example.com")
        active = rng.random(n) > 0.08
        # every region keeps an active manager, SDR and AE
        for r in range(4):
            for ro in ("Manager", "SDR", "AE"):
                active[np.flatnonzero((region == r) & (role == ro))[0]] = True
        created = self.t0 - (rng.integers(60, 1200, n) * _DAY) + (rng.integers(8, 18, n) * 3600)
        manager = np.array([np.flatnonzero((region == r) & (role == "Manager"))[0] for r in region])
        manager = np.where(role == "Manager", -1, manager)
        self.users = dict(n=n, region=region, role=role, first=f_s, last=l_s, name=self.full_name(f_s, l_s, is_zh),
                          email=email, active=active, created=created, manager=manager)
        self.sdr_by_region = [np.flatnonzero((region == r) & (role == "SDR") & active) for r in range(4)]
        self.ae_by_region = [np.flatnonzero((region == r) & (role == "AE") & active) for r in range(4)]
        self.managers = np.flatnonzero(role == "Manager")

    # -- companies -----------------------------------------------------------
    def make_companies(self):
        rng = self.rng["companies"]
        # a company of a given size creates leads at a given rate: longer windows hold more of them
        n_leads = max(100, int(round(_LEADS["leads_per_year_at_scale_1"] * self.years * self.scale)))
        n_pre = max(20, int(round(1000 * self.scale)))
        n = n_pre + max(50, int(round(0.8 * n_leads)))
        country = rng.choice(len(_COUNTRIES), n, p=self.c_weight / self.c_weight.sum())
        is_zh = country == _CN
        w_idx, z_idx = np.flatnonzero(~is_zh), np.flatnonzero(is_zh)
        # the nicer two-syllable brands suffice while they fill at most half of the name space
        base_space = (len(_SYL1) * len(_SYL2) + len(_ADJ) * len(_NOUN)) * sum(len(x[1]) for x in _INDUSTRIES)
        self.cp = cp = _company_pools(extended=2 * len(w_idx) > base_space)
        # western: unique (brand, descriptor) pairs; nicer brands first unless the scale needs more
        n_desc = len(cp.desc)
        n_city, n_ind = len(_ZH_CITIES), len(_ZH_INDUSTRY)
        if len(w_idx) > len(cp.brand) * n_desc or len(z_idx) > len(cp.zh_brand) * n_city * n_ind:
            raise ValueError(f"scale {self.scale:g} needs more distinct company names than the pools hold")
        space = min(len(cp.brand) * n_desc, max(2 * len(w_idx), cp.n_brand_base * n_desc))
        codes = rng.choice(space, len(w_idx), replace=False)
        brand, desc = codes // n_desc, codes % n_desc
        # chinese: unique (city, industry word, brand)
        zspace = min(len(cp.zh_brand) * n_city * n_ind, max(2 * len(z_idx), cp.n_zh_brand_base * n_city * n_ind))
        zcodes = rng.choice(zspace, len(z_idx), replace=False)
        zcity, zind, zbrand = zcodes % n_city, (zcodes // n_city) % n_ind, zcodes // (n_city * n_ind)

        industry = np.empty(n, np.int64)
        industry[w_idx] = cp.desc_industry[desc]
        ind_names = [x[0] for x in _INDUSTRIES]
        industry[z_idx] = np.array([ind_names.index(x[3]) for x in _ZH_INDUSTRY])[zind]

        # name parts: base (without legal suffix) and suffix index (-1: none)
        base_w = _cat(_take(cp.brand, brand), " ", _take(cp.desc, desc))
        zc = [x[0] for x in _ZH_CITIES]
        zi = [x[0] for x in _ZH_INDUSTRY]
        base_z = _cat(_take(_pool(zc), zcity), _take(cp.zh_brand, zbrand), _take(_pool(zi), zind))
        suffix = np.full(n, -1, np.int64)
        has_suffix = np.where(is_zh, rng.random(n) < 0.92, rng.random(n) < 0.75)
        for ci in range(len(_COUNTRIES)):
            m = (country == ci) & has_suffix
            allowed = cp.country_suffixes[ci]
            if ci == _CN:   # 有限公司 is far more common than 股份有限公司
                suffix[m] = np.where(rng.random(m.sum()) < 0.85, allowed[0], allowed[-1])
            else:
                suffix[m] = allowed[rng.integers(0, len(allowed), m.sum())]
        base = self.merge(n, w_idx, base_w, z_idx, base_z)
        name = _where(suffix >= 0, _cat(base, _take(cp.suffix, suffix, suffix >= 0)), base)

        # web domains: unique because the name parts are unique
        tld = _take(_pool(c[5] for c in _COUNTRIES), country)
        dom_w = _cat(_take(cp.brand_slug, brand), "-", _take(cp.desc_slug, desc))
        dom_z = _cat(_take(cp.zh_brand_pinyin, zbrand), "-", _take(_pool(x[2] for x in _ZH_INDUSTRY), zind), "-",
                     _take(_pool(x[3] for x in _ZH_CITIES), zcity))
        domain = _cat(self.merge(n, w_idx, dom_w, z_idx, dom_z), ".", tld)

        # the HQ city: chinese names carry theirs
        city = _choice_by_group(rng, country, self.country_cities)
        zh_city_names = [x[2] for x in _ZH_CITIES]
        cn_cities = self.country_cities[_CN]
        cn_lookup = np.array([cn_cities[[_COUNTRIES[_CN][7][k][0] for k in range(len(cn_cities))].index(nm)]
                              for nm in zh_city_names])
        city[z_idx] = cn_lookup[zcity]

        employees = np.clip(np.round(_lognormal(rng, 150, 1.4, n)), 3, 250_000).astype(np.int64)
        revenue = np.round(employees * _lognormal(rng, 180_000, 0.5, n), -3)
        self.co = dict(
            n=n, n_pre=n_pre, n_leads=n_leads, country=country, is_zh=is_zh, industry=industry,
            base=base, suffix=suffix, name=name, domain=domain, website=_cat("www.", domain),
            city=city, employees=employees, revenue=revenue, phone_num=self.phones(rng, city),
            z_idx=z_idx, zcity=zcity, zbrand=zbrand, zind=zind,
            popularity=_lognormal(rng, 1.0, 1.0, n),
            # pre-existing accounts became customers before the window
            pre_created=self.t0 - rng.integers(30, 5 * 365, n_pre) * _DAY + rng.integers(8 * 3600, 18 * 3600, n_pre),
        )

    @staticmethod
    def merge(n, idx_a, a: pa.Array, idx_b, b: pa.Array) -> pa.Array:
        """Interleave two arrays computed for disjoint row sets back into row order."""
        order = np.empty(n, np.int64)
        order[idx_a] = np.arange(len(idx_a))
        order[idx_b] = len(idx_a) + np.arange(len(idx_b))
        return pa.concat_arrays([a, b]).take(pa.array(order))

    # -- leads ---------------------------------------------------------------
    def make_leads(self):
        rng, co = self.rng["leads"], self.co
        n, n_pre = co["n_leads"], co["n_pre"]
        from_existing = rng.random(n) < _LEADS["share_from_existing_accounts"]
        pop = co["popularity"][n_pre:]
        comp = np.where(from_existing, rng.integers(0, n_pre, n),
                        n_pre + rng.choice(co["n"] - n_pre, n, p=pop / pop.sum()))
        country = co["country"][comp]
        region = self.c_region[country]
        culture = self.c_culture[country]
        created = self.arrivals(rng, n, region)
        first, last = self.people(rng, culture)
        pattern = rng.integers(0, 4, n)
        first, last, pattern = self.unique_people(rng, comp, culture, first, last, pattern)
        is_zh = culture == self.names.cultures.index("zh")
        seniority = rng.choice(5, n, p=_LEADS["seniority_weights"])
        source = rng.choice(len(_LEAD_SOURCES), n, p=[s[1] for s in _LEAD_SOURCES])

        # conversion: true rate of the source, tilted by seniority/size/industry,
        # renormalised so that the mean probability of each (source, maturity)
        # group is exactly the true rate
        emp = co["employees"][comp]
        size_band = np.digitize(emp, [50, 1000])
        m = (np.array(_LEADS["seniority_multiplier"])[seniority] * np.array(_LEADS["size_multiplier"])[size_band]
             * np.array([x[2] for x in _INDUSTRIES])[co["industry"][comp]])
        mature = created < self.mature_cut
        rate = np.array([s[2] for s in _LEAD_SOURCES])
        p = np.empty(n)
        for s in range(len(_LEAD_SOURCES)):
            for mat in (True, False):
                g = (source == s) & (mature == mat)
                if g.any():
                    p[g] = rate[s] * m[g] / m[g].mean()
        assert p.max() < 1.0
        will_convert = rng.random(n) < p
        delay = np.minimum(_lognormal(rng, _LEADS["conversion_delay_median_days"], _LEADS["conversion_delay_sigma"], n),
                           _LEADS["conversion_delay_max_days"])
        conv_t = created + np.maximum((delay * _DAY).astype(np.int64), 600)
        converted = will_convert & (conv_t < self.t1)
        disq_t = created + (_lognormal(rng, _LEADS["disqualify_median_days"], _LEADS["disqualify_sigma"], n) * _DAY).astype(np.int64)
        disqualified = ~converted & (disq_t < self.t1)
        age_days = (self.t1 - created) / _DAY
        working = ~converted & ~disqualified & (rng.random(n) < 1 - np.exp(-age_days / 7.0))
        status = np.where(converted, 2, np.where(disqualified, 3, np.where(working, 1, 0)))
        life_end = np.where(converted, conv_t, np.where(disqualified, disq_t, self.t1))

        person_city = co["city"][comp]
        self.lead = dict(
            n=n, comp=comp, country=country, region=region, culture=culture, is_zh=is_zh, created=created,
            first=first, last=last, pattern=pattern, seniority=seniority, title=self.titles(rng, seniority, is_zh),
            has_title=rng.random(n) < 0.9, phone_city=person_city, phone_num=self.phones(rng, person_city),
            has_phone=rng.random(n) < 0.8,
            has_email=rng.random(n) < 0.97, has_size=rng.random(n) < 0.55, has_industry=rng.random(n) < 0.85,
            has_website=rng.random(n) < 0.5, company_no_suffix=rng.random(n) < 0.25,
            source=source, p_convert=p, mature=mature, will_convert=will_convert,
            converted=converted, conv_t=np.where(converted, conv_t, -1), status=status, life_end=life_end,
            owner=_choice_by_group(rng, region, self.sdr_by_region),
        )

    # -- campaigns and the responses that created leads ----------------------
    def make_campaigns(self):
        rng = self.rng["campaigns"]
        k = max(1, int(round(np.sqrt(self.scale))))
        span = self.t1 - self.t0
        rows = []
        for ti, ctype in enumerate(_CAMPAIGN_TYPES):
            per_year, promo_days, budget = _CAMPAIGN_PLAN[ctype]
            count = max(2, per_year * k * self.years)
            spacing = span / count
            # the first campaign of each type starts before the window, so early leads have one
            starts = (self.t0 - spacing / 2 + spacing * np.arange(count)
                      + rng.uniform(-0.2, 0.2, count) * spacing).astype(np.int64)
            starts = np.sort(starts // _DAY)
            for j, sd in enumerate(starts):
                rows.append((ti, int(sd), int(sd + promo_days), budget))
        nc = len(rows)
        ctype = np.array([r[0] for r in rows])
        start_d = np.array([r[1] for r in rows])
        end_d = np.array([r[2] for r in rows])
        lo = np.array([r[3][0] for r in rows], float)
        hi = np.array([r[3][1] for r in rows], float)
        budget = np.round(lo + rng.random(nc) * (hi - lo), -2)
        end_day = self.t1 // _DAY
        completed = end_d < end_day
        actual = np.where(completed, np.round(budget * rng.uniform(0.8, 1.15, nc), 2),
                          np.round(budget * rng.uniform(0.2, 0.7, nc), 2))
        names = []
        for i in range(nc):
            d = pd.Timestamp(int(start_d[i]) * _DAY, unit="s")
            q = f"{d.year} Q{(d.month - 1) // 3 + 1}"
            t = _CAMPAIGN_TYPES[ctype[i]]
            if t == "Webinar":
                names.append(f"{q} Webinar: {_WEBINAR_TOPICS[i % len(_WEBINAR_TOPICS)]} ({d:%b %d})")
            elif t == "Trade Show":
                names.append(f"{_TRADE_SHOWS[i % len(_TRADE_SHOWS)]} {d.year} ({_REGIONS[i % 4]}, {d:%b %d})")
            elif t == "Email":
                names.append(f"Newsletter {d:%B %Y} #{i}")
            else:
                names.append(f"Paid Search {q} #{i}")
        created = (start_d - rng.integers(7, 45, nc)) * _DAY + rng.integers(8 * 3600, 18 * 3600, nc)
        self.camp = dict(n=nc, type=ctype, start=start_d, end=end_d, budget=budget, actual=actual,
                         completed=completed, name=_pool(names), created=created,
                         owner=self.managers[rng.integers(0, len(self.managers), nc)])

        # leads of a campaign-type source mostly responded to the latest campaign of that type
        L = self.lead
        src_type = np.array([(_CAMPAIGN_TYPES.index(s[4]) if s[4] else -1) for s in _LEAD_SOURCES])[L["source"]]
        lead_camp = np.full(L["n"], -1, np.int64)
        created_day = L["created"] // _DAY
        for ti in range(len(_CAMPAIGN_TYPES)):
            cidx = np.flatnonzero(ctype == ti)
            m = src_type == ti
            pos = np.searchsorted(start_d[cidx], created_day[m], side="right") - 1
            ok = (pos >= 0) & (rng.random(m.sum()) < 0.9)
            lead_camp[np.flatnonzero(m)[ok]] = cidx[pos[ok]]
        L["campaign"] = lead_camp

    # -- accounts ------------------------------------------------------------
    def make_accounts(self):
        rng, co, L = self.rng["accounts"], self.co, self.lead
        n_pre = co["n_pre"]
        conv = np.flatnonzero(L["converted"])
        conv = conv[np.argsort(L["conv_t"][conv], kind="stable")]
        comp_conv = L["comp"][conv]
        new = comp_conv >= n_pre
        uniq, first_pos = np.unique(comp_conv[new], return_index=True)
        creators = conv[new][first_pos]
        acct_comp = np.concatenate([np.arange(n_pre), uniq])
        created = np.concatenate([co["pre_created"], L["conv_t"][creators]])
        comp_to_acct = np.full(co["n"], -1, np.int64)
        comp_to_acct[acct_comp] = np.arange(len(acct_comp))
        creator_lead = np.full(len(acct_comp), -1, np.int64)
        creator_lead[n_pre:] = creators
        region = self.c_region[co["country"][acct_comp]]
        n = len(acct_comp)
        self.acct = dict(
            n=n, comp=acct_comp, created=created, region=region, creator_lead=creator_lead,
            owner=_choice_by_group(rng, region, self.ae_by_region),
            has_phone=rng.random(n) < 0.9, has_website=rng.random(n) < 0.95,
            pre=np.arange(n) < n_pre,
        )
        L["account"] = np.where(L["converted"], comp_to_acct[L["comp"]], -1)
        self.comp_to_acct = comp_to_acct

    # -- opportunities and their stage history --------------------------------
    def make_opportunities(self):
        rng, L, A, co = self.rng["opps"], self.lead, self.acct, self.co
        conv = np.flatnonzero(L["converted"])
        n_sim = len(conv)
        n_imp = int(round(_SHARE_IMPORTED_DEALS * n_sim))
        n = n_sim + n_imp
        acct = np.concatenate([L["account"][conv], rng.integers(0, co["n_pre"], n_imp)])
        emp = co["employees"][A["comp"][acct]]
        source = np.concatenate([L["source"][conv], np.full(n_imp, -1)])
        win_rate = np.array([s[3] for s in _LEAD_SOURCES])
        won = np.concatenate([rng.random(n_sim) < win_rate[L["source"][conv]], rng.random(n_imp) < 0.6])
        owner = np.where(rng.random(n) < 0.9, A["owner"][acct],
                         _choice_by_group(rng, A["region"][acct], self.ae_by_region))
        amount0 = np.round(_lognormal(rng, _AMOUNT["median"], _AMOUNT["sigma"], n)
                           * (emp / 150.0) ** _AMOUNT["employees_elasticity"], -2)
        amount0 = np.maximum(amount0, 500.0)
        camp = np.concatenate([np.where(rng.random(n_sim) < 0.9, L["campaign"][conv], -1), np.full(n_imp, -1)])
        new_business = np.concatenate([A["creator_lead"][L["account"][conv]] == conv, np.zeros(n_imp, bool)])
        missing_amount = np.zeros(n, bool)
        k_missing = int(round(_SHARE_MISSING_AMOUNT * n_sim))
        missing_amount[rng.choice(n_sim, k_missing, replace=False)] = True
        self.opp = dict(n=n, n_sim=n_sim, lead=np.concatenate([conv, np.full(n_imp, -1)]), account=acct,
                        source=source, won_draw=won, owner=owner, campaign=camp, new_business=new_business,
                        imported=np.arange(n) >= n_sim, missing_amount=missing_amount,
                        product=rng.integers(0, len(_PRODUCTS), n))
        created = np.empty(n, np.int64)
        created[:n_sim] = L["conv_t"][conv]
        # imported deals: one migration batch early in the window, closed long before
        batch_day = self.t0 // _DAY + int(rng.integers(20, 60))
        created[n_sim:] = batch_day * _DAY + 2 * 3600 + np.arange(n_imp) * 7
        self.opp["created"] = created
        hist = self.simulate_paths(rng, n_sim, won[:n_sim], created[:n_sim], emp[:n_sim], amount0[:n_sim],
                                   missing_amount[:n_sim])
        # imported deals: a single history row, already closed, CloseDate in the past
        imp_stage = np.where(won[n_sim:], _WON, _LOST)
        imp_close = batch_day - rng.integers(30, 700, n_imp)
        h_opp = np.concatenate([hist["opp"], np.arange(n_sim, n)])
        h_time = np.concatenate([hist["time"], created[n_sim:]])
        h_stage = np.concatenate([hist["stage"], imp_stage])
        h_close = np.concatenate([hist["close"], imp_close])
        h_amount = np.concatenate([hist["amount"], amount0[n_sim:]])
        self.hist = dict(n=len(h_opp), opp=h_opp, time=h_time, stage=h_stage, close=h_close, amount=h_amount)
        # the opportunity row is the state of its last history row
        order = np.lexsort((h_time, h_opp))
        last = order[np.r_[h_opp[order][1:] != h_opp[order][:-1], True]]
        self.opp.update(stage=h_stage[last], close=h_close[last], amount=h_amount[last],
                        last_time=h_time[last])
        assert np.array_equal(h_opp[last], np.arange(n))
        st = np.array(_STAGES, dtype=object)
        self.opp["is_closed"] = st[:, 3].astype(bool)[self.opp["stage"]]
        self.opp["is_won"] = st[:, 4].astype(bool)[self.opp["stage"]]
        self.opp["path_stats"] = hist["stats"]

    def simulate_paths(self, rng, n, won, created, emp, amount0, missing_amount):
        """Stage paths, durations, close-date pushes and amount changes, as history events.

        Vectorised over deals; the loops run over path steps (<= 14) and pushes (<= 5).
        """
        P, C, AM = _PATH, _CLOSE_DATE, _AMOUNT
        S = 14
        entry = np.where(rng.random(n) < P["p_enter_at_qualification"], 1, 0)
        drop = np.maximum(rng.choice(_N_OPEN, n, p=P["lost_at_stage_weights"]), entry)
        target = np.where(won, _N_OPEN - 1, drop)
        reopen = rng.random(n) < P["p_reopen"]
        path = np.full((n, S + 1), -1, np.int64)
        path[:, 0] = entry
        cur = entry.copy()
        done = np.zeros(n, bool)
        pending = np.zeros(n, bool)
        reopened = np.zeros(n, bool)
        back_used = np.zeros(n, bool)
        skipped = np.zeros(n, bool)
        for t in range(1, S + 1):
            act = ~done
            nxt = cur.copy()
            # a premature Closed Lost goes back to the stage before the target
            m_re = act & pending
            nxt[m_re] = np.maximum(target[m_re] - 1, 0)
            at = act & ~pending & (cur == target)
            pre = at & reopen & ~reopened
            nxt[at] = np.where(won[at], _WON, _LOST)
            nxt[pre] = _LOST
            mv = act & ~pending & (cur < target)
            u = rng.random(n)
            back = mv & (u < P["p_move_back"]) & (cur > 0) & ~back_used
            skip = mv & ~back & (u >= P["p_move_back"]) & (u < P["p_move_back"] + P["p_skip_stage"]) & (cur + 2 <= target)
            fwd = mv & ~back & ~skip
            nxt[back] = cur[back] - 1
            nxt[skip] = cur[skip] + 2
            nxt[fwd] = cur[fwd] + 1
            back_used |= back
            skipped |= skip
            done |= at & ~pre
            pending = (pending & ~m_re) | pre
            reopened |= pre
            path[act, t] = nxt[act]
            cur = nxt
            if done.all():
                break
        assert done.all(), "stage paths did not terminate"
        steps = (path >= 0).sum(axis=1) - 1          # transitions per deal

        # time spent in each state before the next transition
        state = path[:, :-1]
        valid = path[:, 1:] >= 0
        med = np.array([d[0] for d in _STAGE_DAYS])
        sig = np.array([d[1] for d in _STAGE_DAYS])
        st_safe = np.where(valid, state, 0)
        dur = med[st_safe] * np.exp(sig[st_safe] * rng.standard_normal(state.shape))
        size_f = np.clip((emp / 150.0) ** P["size_duration_elasticity"], 0.7, 1.6)
        dur *= size_f[:, None] * np.where(won, 1.0, P["lost_duration_factor"])[:, None]
        u_stall = rng.random(n)
        stall = u_stall < P["p_stall"] + P["p_long_stall"]
        stall_step = np.floor(rng.random(n) * steps).astype(np.int64)
        stall_f = np.where(u_stall < P["p_long_stall"], rng.uniform(*P["long_stall_factor"], n),
                           rng.uniform(*P["stall_factor"], n))
        rows = np.flatnonzero(stall)
        dur[rows, stall_step[rows]] *= stall_f[rows]
        dur = np.where(valid, np.maximum(dur, 0.05), 0.0)
        T = created[:, None] + np.concatenate(
            [np.zeros((n, 1), np.int64), np.cumsum((dur * _DAY).astype(np.int64), axis=1)], axis=1)

        # quarter-end seasonality: final closes are pulled into the last days of the quarter
        last_col = steps
        t_final = T[np.arange(n), last_col]
        day = t_final // _DAY
        qe = _quarter_end_day(day)
        p_pull = np.where(won, C["p_pull_to_quarter_end_won"], C["p_pull_to_quarter_end_lost"])
        target_day = qe - np.floor(rng.random(n) * C["quarter_end_last_days"]).astype(np.int64)
        pull = (qe - day <= C["quarter_end_window_days"]) & (rng.random(n) < p_pull) & (target_day > day)
        t_final = np.where(pull, target_day * _DAY + t_final % _DAY, t_final)
        T[np.arange(n), last_col] = t_final

        # expected close date set at creation, often the end of a quarter
        planned = np.array([med[e:_N_OPEN].sum() for e in range(_N_OPEN)])[entry] * _lognormal(rng, 1.0, 0.35, n)
        cd0 = created // _DAY + np.maximum(planned.astype(np.int64), 7)
        snap = rng.random(n) < C["p_snap_expected_to_quarter_end"]
        cd0 = np.where(snap, _quarter_end_day(cd0), cd0)

        # the first close (a premature Closed Lost or the final one)
        is_close = (path == _WON) | (path == _LOST)
        first_close_col = np.argmax(is_close, axis=1)
        t_close1 = T[np.arange(n), first_close_col]

        ev_opp, ev_t, ev_stage, ev_close, ev_amount = [], [], [], [], []

        def add(o, t, stage=None, close=None, amount=None):
            k = len(o)
            ev_opp.append(o)
            ev_t.append(t)
            ev_stage.append(np.full(k, -1) if stage is None else stage)
            ev_close.append(np.full(k, -1) if close is None else close)
            ev_amount.append(np.full(k, np.nan) if amount is None else amount)

        # creation row carries the full state
        add(np.arange(n), created, entry, cd0, np.where(missing_amount, np.nan, amount0))
        # stage changes; closing rows set CloseDate to the day of closing; a
        # reopening sets a fresh expected date
        o_idx, t_idx = np.nonzero(path[:, 1:] >= 0)
        t_idx = t_idx + 1
        stg = path[o_idx, t_idx]
        when = T[o_idx, t_idx]
        closing = (stg == _WON) | (stg == _LOST)
        reopening = path[o_idx, t_idx - 1] == _LOST
        close_val = np.where(closing, when // _DAY, -1)
        close_val = np.where(reopening, when // _DAY + np.maximum(_lognormal(rng, 30, 0.4, len(when)), 7).astype(np.int64),
                             close_val)
        # amounts: one negotiated change mid-deal, and a discount on signature
        # (recorded on the Closed Won row, as Salesforce logs both in one change)
        change = (rng.random(n) < AM["p_change"]) & ~missing_amount & (t_close1 - created > 2 * _DAY)
        t_change = created + (rng.uniform(0.15, 0.85, n) * (t_close1 - created)).astype(np.int64)
        amount1 = np.maximum(np.round(amount0 * _lognormal(rng, 1.0, AM["change_sigma"], n), -2), 500.0)
        amount1 = np.where(amount1 == amount0, amount0 + 100.0, amount1)   # a change row changes something
        amount_at_close = np.where(change, amount1, amount0)
        disc = np.maximum(np.round(amount_at_close * rng.uniform(*AM["won_discount"], n), -2), 500.0)
        disc = np.where(disc == amount_at_close, np.maximum(disc - 100.0, 400.0), disc)
        final_won = (stg == _WON) & (rng.random(len(stg)) < AM["p_won_discount"]) & ~missing_amount[o_idx]
        add(o_idx, when, stg, close_val, np.where(final_won, disc[o_idx], np.nan))
        add(np.flatnonzero(change), t_change[change], amount=amount1[change])

        # close-date pushes while the deal runs past its expected date
        cd = cd0.copy()
        n_push = np.zeros(n, np.int64)
        for _ in range(C["max_pushes"]):
            need = t_close1 > (cd + 1 + C["push_grace_days"]) * _DAY
            if not need.any():
                break
            tp = (cd + 1) * _DAY + (rng.random(n) * C["push_grace_days"] * _DAY).astype(np.int64)
            push_day = tp // _DAY
            to_q = rng.random(n) < C["p_push_to_quarter_end"]
            new_cd = np.where(to_q, _quarter_end_day(push_day + 20),
                              push_day + np.maximum(_lognormal(rng, C["push_median_days"], 0.5, n), 7).astype(np.int64))
            new_cd = np.maximum(new_cd, push_day + 7)
            idx = np.flatnonzero(need)
            add(idx, tp[idx], close=new_cd[idx])
            cd = np.where(need, new_cd, cd)
            n_push += need

        e_opp = np.concatenate(ev_opp)
        e_t = np.concatenate(ev_t).astype(np.int64)
        e_stage = np.concatenate(ev_stage)
        e_close = np.concatenate(ev_close)
        e_amount = np.concatenate(ev_amount)
        seq = np.arange(len(e_opp))
        order = np.lexsort((seq, e_t, e_opp))
        e_opp, e_t, e_stage, e_close, e_amount = e_opp[order], e_t[order], e_stage[order], e_close[order], e_amount[order]
        # strictly increasing timestamps within a deal: ties get +1 s
        r = np.arange(len(e_opp))
        u = e_t - r + e_opp * (10**12)
        e_t = np.maximum.accumulate(u) + r - e_opp * (10**12)

        # forward-fill the state (each deal starts with a full creation row)
        def ffill(v, valid):
            idx = np.where(valid, r, 0)
            np.maximum.accumulate(idx, out=idx)
            return v[idx]
        e_stage = ffill(e_stage, e_stage >= 0)
        e_close = ffill(e_close, e_close >= 0)
        e_amount = ffill(e_amount, np.isfinite(e_amount) | (np.r_[True, e_opp[1:] != e_opp[:-1]]))
        # the export is taken at window end: later events have not happened yet
        keep = e_t < self.t1
        stats = dict(deals=int(n), reopened=int(reopened.sum()), moved_back=int(back_used.sum()),
                     skipped_a_stage=int(skipped.sum()), stalled=int(stall.sum()),
                     long_stalled=int((u_stall < P["p_long_stall"]).sum()),
                     pulled_to_quarter_end=int(pull.sum()), pushes=int(n_push.sum()),
                     amount_changes=int(change.sum()))
        return dict(opp=e_opp[keep], time=e_t[keep], stage=e_stage[keep], close=e_close[keep],
                    amount=e_amount[keep], stats=stats)

    # -- contacts ------------------------------------------------------------
    def make_contacts(self):
        rng, L, A, co = self.rng["contacts"], self.lead, self.acct, self.co
        conv = np.flatnonzero(L["converted"])
        # every converted lead became a contact of its account
        lam = np.where(A["pre"], 1.8, 0.7)
        n_extra = rng.poisson(lam)
        e_acct = np.repeat(np.arange(A["n"]), n_extra)
        lo = A["created"][e_acct]
        hi = np.where(A["pre"][e_acct], self.t1, np.minimum(lo + 365 * _DAY, self.t1))
        e_created = lo + (rng.random(len(e_acct)) * (hi - lo)).astype(np.int64)
        acct = np.concatenate([L["account"][conv], e_acct])
        comp = A["comp"][acct]
        country = co["country"][comp]
        culture = self.c_culture[country]
        ne = len(e_acct)
        f_e, l_e = self.people(rng, culture[len(conv):])
        first = np.concatenate([L["first"][conv], f_e])
        last = np.concatenate([L["last"][conv], l_e])
        pattern = np.concatenate([L["pattern"][conv], rng.integers(0, 4, ne)])
        fixed = np.arange(len(acct)) < len(conv)
        first, last, pattern = self.unique_people(rng, acct, culture, first, last, pattern, fixed=fixed)
        seniority = rng.choice(5, ne, p=_LEADS["seniority_weights"])
        is_zh = culture == self.names.cultures.index("zh")
        n = len(acct)
        src = np.concatenate([L["source"][conv], np.where(rng.random(ne) < 0.6, rng.integers(0, len(_LEAD_SOURCES), ne), -1)])
        extra_city = co["city"][comp[len(conv):]]
        phone_extra = self.phones(rng, extra_city)
        self.contact = dict(
            n=n, lead=np.concatenate([conv, np.full(ne, -1)]), account=acct, comp=comp, country=country,
            culture=culture, is_zh=is_zh, first=first, last=last, pattern=pattern,
            title=np.concatenate([L["title"][conv], self.titles(rng, seniority, is_zh[len(conv):])]),
            has_title=np.concatenate([L["has_title"][conv], rng.random(ne) < 0.9]),
            phone_city=np.concatenate([L["phone_city"][conv], extra_city]),
            phone_num=np.concatenate([L["phone_num"][conv], phone_extra]),
            has_phone=np.concatenate([L["has_phone"][conv], rng.random(ne) < 0.85]),
            has_email=np.concatenate([L["has_email"][conv], rng.random(ne) < 0.97]),
            created=np.concatenate([L["conv_t"][conv], e_created]), source=src,
            owner=A["owner"][acct],
        )
        L["contact"] = np.full(L["n"], -1, np.int64)
        L["contact"][conv] = np.arange(len(conv))

    # -- campaign members ----------------------------------------------------
    def make_members(self):
        rng, L, K, Cc = self.rng["members"], self.lead, self.camp, self.contact
        # responses that created the lead
        resp = np.flatnonzero(L["campaign"] >= 0)
        r_created = np.minimum(L["created"][resp] + rng.integers(30, 300, len(resp)), self.t1 - 1)
        # e-mail sends to existing leads (not yet converted) and contacts
        email_c = np.flatnonzero(K["type"] == _CAMPAIGN_TYPES.index("Email"))
        email_start = K["start"][email_c]

        def sends(created_t, share, p_respond, blocked_after=None):
            k = int(round(share * len(created_t)))
            who = rng.choice(len(created_t), k, replace=True)
            first_ok = np.searchsorted(email_start, created_t[who] // _DAY + 1)
            span = len(email_c) - first_ok
            ok = span > 0
            pick = first_ok + np.floor(rng.random(k) * np.maximum(span, 1)).astype(np.int64)
            pick = np.minimum(pick, len(email_c) - 1)
            camp = email_c[pick]
            t = K["start"][camp] * _DAY + rng.integers(8 * 3600, 18 * 3600, k)
            ok &= t < self.t1
            if blocked_after is not None:
                ok &= ~((blocked_after[who] >= 0) & (blocked_after[who] < t))
            responded = ok & (rng.random(k) < p_respond)
            t_resp = t + (rng.random(k) * 5 * _DAY).astype(np.int64)
            responded &= t_resp < self.t1
            return who[ok], camp[ok], t[ok], responded[ok], t_resp[ok]

        lw, lc, lt, lr, ltr = sends(L["created"], 0.4, 0.08, blocked_after=L["conv_t"])
        cw, cc, ct, cr, ctr = sends(Cc["created"], 0.5, 0.15)
        lead = np.concatenate([resp, lw, np.full(len(cw), -1)])
        contact = np.concatenate([np.full(len(resp) + len(lw), -1), cw])
        camp = np.concatenate([L["campaign"][resp], lc, cc])
        created = np.concatenate([r_created, lt, ct])
        responded = np.concatenate([np.ones(len(resp), bool), lr, cr])
        resp_day = np.concatenate([r_created // _DAY, ltr // _DAY, ctr // _DAY])
        # one membership per (campaign, person): keep the earliest
        person = np.where(lead >= 0, lead, L["n"] + contact)
        order = np.lexsort((created, person, camp))
        key = camp[order] * (L["n"] + Cc["n"] + 1) + person[order]
        keep = order[np.r_[True, key[1:] != key[:-1]]]
        keep.sort()
        self.member = dict(n=len(keep), lead=lead[keep], contact=contact[keep], campaign=camp[keep],
                           created=created[keep], responded=responded[keep], resp_day=resp_day[keep])

    # -- activities ----------------------------------------------------------
    def make_activities(self):
        rng, L, O, Cc = self.rng["activities"], self.lead, self.opp, self.contact
        ex = _ACTIVITY["lead_tasks_extra_mean"]
        conv, disq, work = L["status"] == 2, L["status"] == 3, L["status"] == 1
        lam = np.where(conv, ex["converted"], np.where(disq, ex["disqualified"], ex["working"]))
        n_lead_tasks = np.where(conv | disq | work, 1 + rng.poisson(lam), 0)
        lp, lt = _repeat_children(n_lead_tasks, L["created"], L["life_end"], rng)

        # deals: more activity on deals that win, and on longer deals
        sim = ~O["imported"]
        closed_in_window = O["is_closed"]
        life_end = np.where(closed_in_window, O["last_time"], self.t1)
        life_days = (life_end - O["created"]) / _DAY
        f = np.clip(life_days / _ACTIVITY["life_days_norm"], 0.4, 2.5)
        tm, em = _ACTIVITY["opp_tasks_mean"], _ACTIVITY["opp_events_mean"]
        lam_t = np.where(O["is_won"], tm["won"], np.where(O["is_closed"], tm["lost"], tm["open"]))
        lam_e = np.where(O["is_won"], em["won"], np.where(O["is_closed"], em["lost"], em["open"]))
        n_ot = np.where(sim, rng.poisson(lam_t * f), 0)
        n_oe = np.where(sim, rng.poisson(lam_e * f), 0)
        op, ot = _repeat_children(n_ot, O["created"], life_end, rng)
        ep, et = _repeat_children(n_oe, O["created"], life_end, rng)

        # tasks: lead tasks then deal tasks
        n_l, n_o = len(lp), len(op)
        n = n_l + n_o
        when = np.concatenate([lt, ot])
        parent_created = np.concatenate([L["created"][lp], O["created"][op]])
        created = np.maximum(when - (rng.random(n) * 2 * _DAY).astype(np.int64), parent_created)
        is_call = rng.random(n) < 0.55
        # recent tasks may still be open
        recent = when > self.t1 - 10 * _DAY
        open_task = recent & (rng.random(n) < 0.5)
        status = np.where(open_task, np.where(rng.random(n) < 0.5, 1, 2), 0)   # Completed, Not Started, In Progress
        opp_contact = L["contact"][O["lead"][op]] if n_o else np.zeros(0, np.int64)
        self.task = dict(
            n=n, who_lead=np.concatenate([lp, np.full(n_o, -1)]),
            who_contact=np.concatenate([np.full(n_l, -1), opp_contact]),
            what_opp=np.concatenate([np.full(n_l, -1), op]),
            account=np.concatenate([np.full(n_l, -1), O["account"][op]]),
            when=when, created=created, is_call=is_call, status=status,
            priority=rng.choice(3, n, p=[0.8, 0.15, 0.05]),
            owner=np.concatenate([L["owner"][lp], O["owner"][op]]),
            subject=rng.integers(0, 5, n),
        )
        ev_created = np.maximum(et - (rng.random(len(ep)) * 10 * _DAY).astype(np.int64), O["created"][ep])
        self.event = dict(
            n=len(ep), who_contact=L["contact"][O["lead"][ep]] if len(ep) else np.zeros(0, np.int64),
            what_opp=ep, account=O["account"][ep], when=et, created=ev_created,
            duration=np.array([30, 45, 60, 90])[rng.choice(4, len(ep), p=[0.3, 0.2, 0.4, 0.1])],
            subject=rng.integers(0, len(_EVENT_SUBJECTS), len(ep)), owner=O["owner"][ep],
        )

    # -- duplicates ----------------------------------------------------------
    def make_duplicates(self):
        """Same person/company entered again, with a new Id and realistic variations."""
        rng = self.rng["duplicates"]
        self.clusters = []   # (table, cluster, entity index, is_original, variation)
        self._dup_leads(rng)
        self._dup_contacts(rng)
        self._dup_accounts(rng)

    def _pick_originals(self, rng, eligible: np.ndarray):
        n_records = eligible.sum()
        share = _DUPLICATES["share"]
        n_orig = int(round(share * n_records / (1 + _DUPLICATES["p_triple"])))
        orig = np.sort(rng.choice(np.flatnonzero(eligible), min(n_orig, int(n_records)), replace=False))
        copies = np.where(rng.random(len(orig)) < _DUPLICATES["p_triple"], 2, 1)
        return orig, np.repeat(orig, copies), np.repeat(np.arange(len(orig)), copies)

    def _person_variants(self, rng, src_first, src_last, is_zh, email_local_src, domain, has_email):
        """Varied copies of people; returns first, last strings, name, email and the variation names."""
        N = self.names
        k = len(src_first)
        f_s, l_s = _take(N.first, src_first), _take(N.last, src_last)
        has_nick = N.first_nick[src_first] >= 0
        # western: nickname, swapped names, initial, typo ; chinese: traditional, pinyin
        kind_w = rng.choice(4, k, p=[0.35, 0.2, 0.2, 0.25])
        kind_w = np.where((kind_w == 0) & ~has_nick, 3, kind_w)
        kind_z = rng.choice(2, k, p=[0.6, 0.4])
        same_trad = (pc.equal(_take(N.first_alt, src_first), f_s).to_numpy(zero_copy_only=False)
                     & pc.equal(_take(N.last_alt, src_last), l_s).to_numpy(zero_copy_only=False))
        kind_z = np.where(same_trad, 1, kind_z)
        first, last = f_s, l_s
        nick = _take(N.first, np.where(has_nick, N.first_nick[src_first], 0))
        initial = _cat(pc.utf8_slice_codeunits(f_s, 0, 1), ".")
        s = l_s
        a, b = pc.utf8_slice_codeunits(s, 1, 2), pc.utf8_slice_codeunits(s, 2, 3)
        swapped = _cat(pc.utf8_slice_codeunits(s, 0, 1), b, a, pc.utf8_slice_codeunits(s, 3, 100))
        dropped = _cat(pc.utf8_slice_codeunits(s, 0, 2), pc.utf8_slice_codeunits(s, 3, 100))
        same = pc.equal(a, b).to_numpy(zero_copy_only=False) | (pc.utf8_length(s).to_numpy() < 4)
        typo = _where(same, _cat(s, pc.utf8_slice_codeunits(s, -1, 100)), _where(rng.random(k) < 0.5, swapped, dropped))
        w_first = _where(kind_w == 0, nick, _where(kind_w == 1, l_s, _where(kind_w == 2, initial, f_s)))
        w_last = _where(kind_w == 1, f_s, _where(kind_w == 3, typo, l_s))
        z_first = _where(kind_z == 0, _take(N.first_alt, src_first), _take(N.first_pinyin, src_first))
        z_last = _where(kind_z == 0, _take(N.last_alt, src_last), _take(N.last_pinyin, src_last))
        first = _where(is_zh, z_first, w_first)
        last = _where(is_zh, z_last, w_last)
        # pinyin names are written western style
        name = _where(is_zh & (kind_z == 0), _cat(last, first), _cat(first, " ", last))
        variation = np.where(is_zh, np.array(["traditional", "pinyin"])[kind_z],
                             np.array(["nickname", "swapped_names", "initial", "typo"])[kind_w])
        # e-mail: same address, its case changed, or missing
        ek = rng.choice(3, k, p=[0.5, 0.35, 0.15])
        email = _cat(email_local_src, "@", domain)
        email = _where(ek == 1, pc.utf8_title(email), email)
        email = _null_where(email, (ek == 2) | ~has_email)
        variation = np.where(ek == 1, np.char.add(variation, "+email_case"), variation)
        return first, last, name, email, variation

    def _dup_leads(self, rng):
        L, co = self.lead, self.co
        orig, src, cl = self._pick_originals(rng, np.ones(L["n"], bool))
        k = len(src)
        comp = L["comp"][src]
        local = self.email_local(L["first"][src], L["last"][src], L["pattern"][src])
        first, last, name, email, variation = self._person_variants(
            rng, L["first"][src], L["last"][src], L["is_zh"][src], local, co["domain"].take(pa.array(comp)),
            L["has_email"][src])
        company, cvar = self.company_variants(rng, comp)
        use_cvar = rng.random(k) < 0.4
        company = _where(use_cvar, company, self.lead_company(src))
        variation = np.where(use_cvar, np.char.add(np.char.add(variation, "+"), cvar.astype(str)), variation)
        # the duplicate arrives later (a second form fill), or earlier if that falls outside the window
        shift = (rng.uniform(1, 180, k) * _DAY).astype(np.int64)
        created = L["created"][src] + shift
        created = np.where(created >= self.t1, np.maximum(L["created"][src] - shift, self.t0 + 3600), created)
        age = (self.t1 - created) / _DAY
        status = np.where(age > 60, np.where(rng.random(k) < 0.7, 3, 1), np.where(rng.random(k) < 0.5, 1, 0))
        self.lead_dups = dict(n=k, src=src, first=first, last=last, name=name, email=email, company=company,
                              created=created, status=status, source=rng.integers(0, len(_LEAD_SOURCES), k),
                              owner=_choice_by_group(rng, L["region"][src], self.sdr_by_region))
        self._record_clusters("leads", orig, src, cl, L["n"], variation)

    def _dup_contacts(self, rng):
        C, co = self.contact, self.co
        orig, src, cl = self._pick_originals(rng, np.ones(C["n"], bool))
        k = len(src)
        local = self.email_local(C["first"][src], C["last"][src], C["pattern"][src])
        first, last, name, email, variation = self._person_variants(
            rng, C["first"][src], C["last"][src], C["is_zh"][src], local,
            co["domain"].take(pa.array(C["comp"][src])), C["has_email"][src])
        shift = (rng.uniform(1, 240, k) * _DAY).astype(np.int64)
        created = C["created"][src] + shift
        created = np.where(created >= self.t1, np.maximum(C["created"][src] - shift, self.t0 - 30 * _DAY), created)
        no_account = rng.random(k) < 0.2
        variation = np.where(no_account, np.char.add(variation, "+no_account"), variation)
        self.contact_dups = dict(n=k, src=src, first=first, last=last, name=name, email=email, created=created,
                                 no_account=no_account)
        self._record_clusters("contacts", orig, src, cl, C["n"], variation)

    def _dup_accounts(self, rng):
        A, co = self.acct, self.co
        orig, src, cl = self._pick_originals(rng, np.ones(A["n"], bool))
        k = len(src)
        comp = A["comp"][src]
        name, variation = self.company_variants(rng, comp, force=True)
        # websites typed differently
        wk = rng.choice(4, k, p=[0.4, 0.25, 0.2, 0.15])
        dom = co["domain"].take(pa.array(comp))
        website = _where(wk == 0, _cat("www.", dom), _where(wk == 1, dom, _where(wk == 2, _cat("http://www.", dom, "/"),
                                                                                  _cat("https://", dom))))
        website = _null_where(website, rng.random(k) < 0.1)
        shift = (rng.uniform(1, 300, k) * _DAY).astype(np.int64)
        created = A["created"][src] + shift
        created = np.where(created >= self.t1, A["created"][src] - shift, created)
        self.acct_dups = dict(n=k, src=src, name=name, website=website, created=created,
                              owner=_choice_by_group(rng, A["region"][src], self.ae_by_region),
                              has_phone=rng.random(k) < 0.6)
        self._record_clusters("accounts", orig, src, cl, A["n"], variation.astype(str))

    def _record_clusters(self, table, orig, src, cl, n_base, variation):
        self.clusters.append(dict(table=table, orig=orig, dup_index=n_base + np.arange(len(src)), cluster=cl,
                                  variation=np.asarray(variation, dtype=str)))

    def company_variants(self, rng, comp, force=False):
        """Company name as somebody else would type it: suffix variant, case, typo, 有限公司, traditional."""
        co, cp = self.co, self.cp
        k = len(comp)
        suffix = co["suffix"][comp]
        base = co["base"].take(pa.array(comp))
        is_zh = co["is_zh"][comp]
        # another suffix of the same legal form
        alt = suffix.copy()
        has = suffix >= 0
        group = np.where(has, cp.suffix_group[np.maximum(suffix, 0)], -1)
        for g in np.unique(group[has]):
            members = np.flatnonzero(cp.suffix_group == g)
            m = group == g
            if len(members) > 1:   # another member of the group, never the same text
                j = rng.integers(0, len(members) - 1, m.sum())
                cur = np.searchsorted(members, suffix[m])
                alt[m] = members[np.where(j >= cur, j + 1, j)]
        w = rng.choice(4, k, p=[0.35, 0.25, 0.2, 0.2])   # alt suffix, drop suffix, upper case, typo
        w = np.where((w == 0) & ((alt == suffix) | ~has), 2, w)
        w = np.where((w == 1) & ~has, 2, w)
        with_suffix = lambda b, s: _where(s >= 0, _cat(b, _take(cp.suffix, s, s >= 0)), b)  # noqa: E731
        orig = with_suffix(base, suffix)
        b = base
        a_, b_ = pc.utf8_slice_codeunits(b, 2, 3), pc.utf8_slice_codeunits(b, 3, 4)
        typo_base = _cat(pc.utf8_slice_codeunits(b, 0, 2), b_, a_, pc.utf8_slice_codeunits(b, 4, 200))
        same = pc.equal(a_, b_).to_numpy(zero_copy_only=False)
        typo_base = _where(same, _cat(pc.utf8_slice_codeunits(b, 0, 3), pc.utf8_slice_codeunits(b, 4, 200)), typo_base)
        west = _where(w == 0, with_suffix(base, alt), _where(w == 1, base, _where(w == 2, pc.utf8_upper(orig),
                                                                                     with_suffix(typo_base, suffix))))
        wvar = np.array(["suffix_variant", "suffix_dropped", "upper_case", "typo"])[w]
        # chinese: traditional characters, 有限公司 dropped, or the city prefix dropped
        zk = rng.choice(3, k, p=[0.4, 0.35, 0.25])
        zk = np.where((zk == 1) & ~has, 0, zk)
        zc = co["zcity"]
        zpos = np.full(co["n"], -1, np.int64)
        zpos[co["z_idx"]] = np.arange(len(co["z_idx"]))
        zp = np.maximum(zpos[comp], 0)
        trad = _cat(_take(_pool(x[1] for x in _ZH_CITIES), zc[zp] if len(zc) else np.zeros(k, np.int64)),
                    _take(cp.zh_brand_trad, co["zbrand"][zp] if len(zc) else np.zeros(k, np.int64)),
                    _take(_pool(x[1] for x in _ZH_INDUSTRY), co["zind"][zp] if len(zc) else np.zeros(k, np.int64)))
        trad = with_suffix(trad, suffix)
        no_city = with_suffix(pc.utf8_slice_codeunits(base, 2, 200), suffix)
        zh = _where(zk == 0, trad, _where(zk == 1, base, no_city))
        zvar = np.array(["traditional", "suffix_dropped", "city_dropped"])[zk]
        return _where(is_zh, zh, west), np.where(is_zh, zvar, wvar)

    def lead_company(self, lead_idx) -> pa.Array:
        """The Company field of leads: the legal name, or without its suffix (as typed in a web form)."""
        co, L = self.co, self.lead
        comp = L["comp"][lead_idx]
        return _where(L["company_no_suffix"][lead_idx], co["base"].take(pa.array(comp)),
                      co["name"].take(pa.array(comp)))

    # ------------------------------------------------------------------------
    # assembling the export files
    # ------------------------------------------------------------------------
    def order_and_ids(self, kind: str, created: np.ndarray):
        """File order (by creation, like an export sorted by Id); Ids in file order and by entity."""
        order = np.argsort(created, kind="stable")
        counters = self.new_counters(kind, len(order))
        pos = np.empty(len(order), np.int64)
        pos[order] = np.arange(len(order))
        m = _sf_id_matrix(_ID_PREFIX[kind], self.pod, counters)
        return order, _fixed_width(m), m.view("S18").ravel()[pos]

    @staticmethod
    def split_order(order: np.ndarray, n_base: int, dup_src: np.ndarray):
        """For a file of n_base records + duplicates: which rows are duplicates, the
        record each row copies its data from, and the duplicate index of the duplicate rows."""
        is_dup = order >= n_base
        dpos = order[is_dup] - n_base
        src = order.copy()
        src[is_dup] = dup_src[dpos]
        return is_dup, src, dpos

    def iter_files(self):
        """Yield (name, _File) for every export file, in dependency order.

        Columns are Arrow strings built directly in file order.

        Numbers are permuted into file order first and formatted once; only the
        duplicate rows are overlaid afterwards. (Formatting in entity order and
        then permuting every string column cost twice as much.)
        """
        L, co, A, C, O, H = self.lead, self.co, self.acct, self.contact, self.opp, self.hist
        names = self.names
        src_pool = _pool(s[0] for s in _LEAD_SOURCES)
        ind_pool = _pool(x[0] for x in _INDUSTRIES)
        country_pool = _pool(c[0] for c in _COUNTRIES)
        region_pool = _pool(_REGIONS)
        ta = lambda x: pa.array(np.asarray(x, np.int64))  # noqa: E731

        # users -----------------------------------------------------------
        U = self.users
        o, u_file, u_ids = self.order_and_ids("users", U["created"])
        cols = {
            "owner_id": u_file, "first_name": U["first"].take(ta(o)), "last_name": U["last"].take(ta(o)),
            "name": U["name"].take(ta(o)), "email": U["email"].take(ta(o)),
            "role": _pool(U["role"][o]), "region": _take(region_pool, U["region"][o]),
            "manager_id": _id_ref(u_ids, U["manager"][o], U["manager"][o] >= 0),
            "is_active": _s_bool(U["active"][o]), "created_date": _s_ts(U["created"][o]),
        }
        yield "User.csv", self._file("User.csv", "users", "owner_id", "users", cols, o)

        # stages ------------------------------------------------------------
        st_ids = self.new_ids("stages", len(_STAGES))
        cols = {
            "Id": st_ids, "stage_name": _pool(s[0] for s in _STAGES), "sort_order": _s_int([s[1] for s in _STAGES]),
            "default_probability": _s_int([s[2] for s in _STAGES]), "is_closed": _s_bool([s[3] for s in _STAGES]),
            "is_won": _s_bool([s[4] for s in _STAGES]), "forecast_category": _pool(s[5] for s in _STAGES),
            "is_active": _s_bool(np.ones(len(_STAGES), bool)),
        }
        yield "OpportunityStage.csv", self._file("OpportunityStage.csv", "stages", "stage_name", "stages", cols,
                                                   np.arange(len(_STAGES)))

        # campaigns -----------------------------------------------------------
        K = self.camp
        o, k_file, k_ids = self.order_and_ids("campaigns", K["created"])
        in_progress = ~K["completed"][o]
        cols = {
            "campaign_id": k_file, "name": K["name"].take(ta(o)), "type": _take(_pool(_CAMPAIGN_TYPES), K["type"][o]),
            "status": _where(in_progress, pa.scalar("In Progress"), pa.scalar("Completed")),
            "start_date": _s_date(K["start"][o]), "end_date": _s_date(K["end"][o]),
            "budgeted_cost": _s_money(K["budget"][o]), "actual_cost": _s_money(K["actual"][o]),
            "is_active": _s_bool(in_progress), "owner_id": _id_ref(u_ids, K["owner"][o]),
            "created_date": _s_ts(K["created"][o]),
        }
        yield "Campaign.csv", self._file("Campaign.csv", "campaigns", "campaign_id", "campaigns", cols, o)

        # accounts (+ duplicates) ----------------------------------------------
        D = self.acct_dups
        nA = A["n"]
        created_all = np.concatenate([A["created"], D["created"]])
        o, a_file, a_ids = self.order_and_ids("accounts", created_all)
        is_dup, src, dpos = self.split_order(o, nA, D["src"])
        comp = A["comp"][src]
        won_acct = np.zeros(nA, bool)
        won_acct[O["account"][O["is_won"]]] = True
        a_type = np.where(is_dup, 0, np.where(A["pre"][src] | won_acct[src], 1, 0))
        has_phone = np.concatenate([A["has_phone"], D["has_phone"]])[o]
        cols = {
            "account_id": a_file,
            "name": _overlay(co["name"].take(ta(comp)), is_dup, D["name"].take(ta(dpos))),
            "type": _take(_pool(["Prospect", "Customer"]), a_type),
            "industry": _take(ind_pool, co["industry"][comp]),
            "region": _take(region_pool, self.c_region[co["country"][comp]]),
            "annual_revenue": _s_money(co["revenue"][comp]),
            "number_of_employees": _s_int(co["employees"][comp]),
            "billing_city": _take(self.city_name, co["city"][comp]),
            "billing_country": _take(country_pool, co["country"][comp]),
            "phone": self.phone_str(co["city"][comp], co["phone_num"][comp], has_phone),
            "website": _overlay(_null_where(co["website"].take(ta(comp)), ~A["has_website"][src]), is_dup,
                                D["website"].take(ta(dpos))),
            "owner_id": _id_ref(u_ids, np.concatenate([A["owner"], D["owner"]])[o]),
            "created_date": _s_ts(created_all[o]),
        }
        yield "Account.csv", self._file("Account.csv", "accounts", "account_id", "accounts", cols, o,
                                          protected=self._cluster_mask("accounts", nA + D["n"]),
                                          country=co["country"][comp])

        # contacts (+ duplicates) ---------------------------------------------
        D = self.contact_dups
        nC = C["n"]
        created_all = np.concatenate([C["created"], D["created"]])
        o, c_file, c_ids = self.order_and_ids("contacts", created_all)
        is_dup, src, dpos = self.split_order(o, nC, D["src"])
        f_o, l_o = _take(names.first, C["first"][src]), _take(names.last, C["last"][src])
        email = _cat(self.email_local(C["first"][src], C["last"][src], C["pattern"][src]), "@",
                     co["domain"].take(ta(C["comp"][src])))
        acct = np.concatenate([C["account"], np.where(D["no_account"], -1, C["account"][D["src"]])])[o]
        cols = {
            "contact_id": c_file,
            "account_id": _id_ref(a_ids, acct, acct >= 0),
            "first_name": _overlay(f_o, is_dup, D["first"].take(ta(dpos))),
            "last_name": _overlay(l_o, is_dup, D["last"].take(ta(dpos))),
            "name": _overlay(self.full_name(f_o, l_o, C["is_zh"][src]), is_dup, D["name"].take(ta(dpos))),
            "title": _take(self.title_pool, C["title"][src], C["has_title"][src]),
            "email": _overlay(_null_where(email, ~C["has_email"][src]), is_dup, D["email"].take(ta(dpos))),
            "phone": self.phone_str(C["phone_city"][src], C["phone_num"][src], C["has_phone"][src]),
            "lead_source": _take(src_pool, C["source"][src], C["source"][src] >= 0),
            "mailing_country": _take(country_pool, C["country"][src]),
            "owner_id": _id_ref(u_ids, C["owner"][src]),
            "created_date": _s_ts(created_all[o]),
        }
        yield "Contact.csv", self._file("Contact.csv", "contacts", "contact_id", "contacts", cols, o,
                                          protected=self._cluster_mask("contacts", nC + D["n"]),
                                          country=C["country"][src])

        # opportunities -----------------------------------------------------------
        o, o_file, o_ids = self.order_and_ids("opportunities", O["created"])
        st_label = _pool(s[0] for s in _STAGES)
        st_prob = np.array([s[2] for s in _STAGES])
        st_fc = _pool(s[5] for s in _STAGES)
        stage, source, camp = O["stage"][o], O["source"][o], O["campaign"][o]
        comp_o = A["comp"][O["account"][o]]
        cols = {
            "opportunity_id": o_file, "account_id": _id_ref(a_ids, O["account"][o]),
            "name": _cat(co["base"].take(ta(comp_o)), " - ", _take(_pool(_PRODUCTS), O["product"][o])),
            "created_date": _s_ts(O["created"][o]), "stage_name": _take(st_label, stage),
            "amount": _s_money(O["amount"][o]), "probability": _s_int(st_prob[stage]),
            "close_date": _s_date(O["close"][o]), "is_closed": _s_bool(O["is_closed"][o]),
            "is_won": _s_bool(O["is_won"][o]),
            "lead_source": _take(src_pool, source, source >= 0),
            "type": _where(O["new_business"][o], pa.scalar("New Business"), pa.scalar("Existing Business")),
            "forecast_category": _take(st_fc, stage),
            "campaign_id": _id_ref(k_ids, camp, camp >= 0),
            "owner_id": _id_ref(u_ids, O["owner"][o]),
        }
        special = O["missing_amount"] | O["imported"]
        pre = [("missing_amount", "amount", np.flatnonzero(O["missing_amount"])),
               ("close_before_created", "close_date", np.flatnonzero(O["imported"]))]
        yield "Opportunity.csv", self._file("Opportunity.csv", "opportunities", "opportunity_id", "opportunities",
                                              cols, o, protected=special, preassigned=pre)

        # opportunity history --------------------------------------------------------
        o, h_file, _ = self.order_and_ids("opportunity_history", H["time"])
        h_opp, h_stage = H["opp"][o], H["stage"][o]
        cols = {
            "history_id": h_file, "opportunity_id": _id_ref(o_ids, h_opp),
            "created_by_id": _id_ref(u_ids, O["owner"][h_opp]), "created_date": _s_ts(H["time"][o]),
            "stage_name": _take(st_label, h_stage), "amount": _s_money(H["amount"][o]),
            "probability": _s_int(st_prob[h_stage]), "close_date": _s_date(H["close"][o]),
            "forecast_category": _take(st_fc, h_stage),
        }
        # rows of the flagged deals stay as they are (their Amount/CloseDate is the point)
        yield "OpportunityHistory.csv", self._file("OpportunityHistory.csv", "opportunity_history", "history_id",
                                                     "opportunity_history", cols, o, protected=special[H["opp"]])

        # leads (+ duplicates) -------------------------------------------------------
        D = self.lead_dups
        nL, nD = L["n"], D["n"]
        # flagged: a few converted leads re-created after conversion (ConvertedDate < CreatedDate)
        rng = self.rng["dirty"]
        cand = np.flatnonzero(L["converted"] & (L["conv_t"] + 31 * _DAY < self.t1)
                              & ~self._cluster_mask("leads", nL + nD)[:nL])
        k_cbc = min(len(cand), int(round(_SHARE_CONVERTED_BEFORE_CREATED * nL)))
        cbc = np.sort(rng.choice(cand, k_cbc, replace=False))
        lead_created = L["created"].copy()
        lead_created[cbc] = ((L["conv_t"][cbc] // _DAY + rng.integers(1, 31, k_cbc)) * _DAY
                             + rng.integers(8 * 3600, 18 * 3600, k_cbc))
        created_all = np.concatenate([lead_created, D["created"]])
        o, l_file, l_ids = self.order_and_ids("leads", created_all)
        is_dup, src, dpos = self.split_order(o, nL, D["src"])
        opp_of_lead = np.full(nL, -1, np.int64)
        opp_of_lead[O["lead"][~O["imported"]]] = np.flatnonzero(~O["imported"])
        self.lead["opp"] = opp_of_lead
        comp = L["comp"][src]
        conv = L["converted"][src] & ~is_dup
        size_ok = L["has_size"][src]
        f_o, l_o = _take(names.first, L["first"][src]), _take(names.last, L["last"][src])
        email = _cat(self.email_local(L["first"][src], L["last"][src], L["pattern"][src]), "@",
                     co["domain"].take(ta(comp)))
        company = _where(L["company_no_suffix"][src], co["base"].take(ta(comp)), co["name"].take(ta(comp)))
        source = L["source"][src].copy()
        source[is_dup] = D["source"][dpos]
        status = L["status"][src].copy()
        status[is_dup] = D["status"][dpos]
        owner = L["owner"][src].copy()
        owner[is_dup] = D["owner"][dpos]
        cols = {
            "lead_id": l_file, "created_date": _s_ts(created_all[o]),
            "first_name": _overlay(f_o, is_dup, D["first"].take(ta(dpos))),
            "last_name": _overlay(l_o, is_dup, D["last"].take(ta(dpos))),
            "name": _overlay(self.full_name(f_o, l_o, L["is_zh"][src]), is_dup, D["name"].take(ta(dpos))),
            "title": _take(self.title_pool, L["title"][src], L["has_title"][src]),
            "email": _overlay(_null_where(email, ~L["has_email"][src]), is_dup, D["email"].take(ta(dpos))),
            "phone": self.phone_str(L["phone_city"][src], L["phone_num"][src], L["has_phone"][src]),
            "company": _overlay(company, is_dup, D["company"].take(ta(dpos))),
            "website": _null_where(co["website"].take(ta(comp)), ~(L["has_website"][src] & ~is_dup)),
            "country": _take(country_pool, L["country"][src]),
            "lead_source": _take(src_pool, source),
            "status": _take(_pool(_LEAD_STATUS), status),
            "industry": _take(ind_pool, co["industry"][comp], L["has_industry"][src]),
            "number_of_employees": _s_int(co["employees"][comp], size_ok),
            "annual_revenue": _null_where(_s_money(co["revenue"][comp]), ~size_ok),
            "owner_id": _id_ref(u_ids, owner),
            "is_converted": _s_bool(conv),
            "converted_date": _s_date(L["conv_t"][src] // _DAY, conv),
            "converted_account_id": _id_ref(a_ids, L["account"][src], conv),
            "converted_contact_id": _id_ref(c_ids, L["contact"][src], conv),
            "converted_opportunity_id": _id_ref(o_ids, opp_of_lead[src], conv),
        }
        protected = self._cluster_mask("leads", nL + nD)
        protected[cbc] = True
        copy_ok = np.concatenate([~L["converted"], np.zeros(nD, bool)])  # a copy of a converted lead would claim its deal
        yield "Lead.csv", self._file("Lead.csv", "leads", "lead_id", "leads", cols, o, protected=protected,
                                       country=L["country"][src], copy_ok=copy_ok,
                                       preassigned=[("converted_before_created", "converted_date", cbc)])
        self.ids = {"users": u_ids, "campaigns": k_ids, "accounts": a_ids, "contacts": c_ids,
                    "opportunities": o_ids, "leads": l_ids}

        # campaign members -------------------------------------------------------------
        M = self.member
        o, m_file, _ = self.order_and_ids("campaign_members", M["created"])
        lead, contact, responded = M["lead"][o], M["contact"][o], M["responded"][o]
        cols = {
            "campaign_member_id": m_file, "campaign_id": _id_ref(k_ids, M["campaign"][o]),
            "lead_id": _id_ref(l_ids, lead, lead >= 0),
            "contact_id": _id_ref(c_ids, contact, contact >= 0),
            "status": _where(responded, pa.scalar("Responded"), pa.scalar("Sent")),
            "has_responded": _s_bool(responded),
            "first_responded_date": _s_date(M["resp_day"][o], responded),
            "created_date": _s_ts(M["created"][o]),
        }
        yield "CampaignMember.csv", self._file("CampaignMember.csv", "campaign_members", "campaign_member_id",
                                                 "campaign_members", cols, o)

        # tasks and events ------------------------------------------------------------------
        T = self.task
        o, t_file, _ = self.order_and_ids("tasks", T["created"])
        who_lead, who_contact, what, acct = T["who_lead"][o], T["who_contact"][o], T["what_opp"][o], T["account"][o]
        is_call, subject, status = T["is_call"][o], T["subject"][o], T["status"][o]
        cols = {
            "activity_id": t_file,
            "who_id": _where(who_lead >= 0, _id_ref(l_ids, who_lead, who_lead >= 0),
                             _id_ref(c_ids, who_contact, who_contact >= 0)),
            "what_id": _id_ref(o_ids, what, what >= 0),
            "account_id": _id_ref(a_ids, acct, acct >= 0),
            "subject": _where(is_call, _take(_pool(_TASK_SUBJECTS["Call"]), subject),
                              _take(_pool(_TASK_SUBJECTS["Email"]), subject)),
            "activity_date": _s_date(T["when"][o] // _DAY),
            "status": _take(_pool(["Completed", "Not Started", "In Progress"]), status),
            "priority": _take(_pool(["Normal", "High", "Low"]), T["priority"][o]),
            "type": _where(is_call, pa.scalar("Call"), pa.scalar("Email")),
            "is_closed": _s_bool(status == 0),
            "owner_id": _id_ref(u_ids, T["owner"][o]), "created_date": _s_ts(T["created"][o]),
        }
        yield "Task.csv", self._file("Task.csv", "activities", "activity_id", "tasks", cols, o)
        E = self.event
        o, e_file, _ = self.order_and_ids("events", E["created"])
        who = E["who_contact"][o]
        cols = {
            "activity_id": e_file, "who_id": _id_ref(c_ids, who, who >= 0),
            "what_id": _id_ref(o_ids, E["what_opp"][o]), "account_id": _id_ref(a_ids, E["account"][o]),
            "subject": _take(_pool(_EVENT_SUBJECTS), E["subject"][o]),
            "activity_date": _s_date(E["when"][o] // _DAY), "type": _take(_pool(["Meeting"]), np.zeros(E["n"])),
            "duration_in_minutes": _s_int(E["duration"][o]),
            "owner_id": _id_ref(u_ids, E["owner"][o]), "created_date": _s_ts(E["created"][o]),
        }
        yield "Event.csv", self._file("Event.csv", "activities", "activity_id", "events", cols, o)

    def _cluster_mask(self, table: str, n: int) -> np.ndarray:
        mask = np.zeros(n, bool)
        for c in self.clusters:
            if c["table"] == table:
                mask[c["orig"]] = True
                mask[c["dup_index"]] = True
        return mask

    def _file(self, name, table, key, kind, cols, order, protected=None, country=None, copy_ok=None,
              preassigned=()):
        """Wrap file-ordered columns; ``protected``/``copy_ok``/``preassigned`` come in entity order,
        ``country`` (per row, for phone formats) in file order."""
        n = len(order)
        pos = np.empty(n, np.int64)
        pos[order] = np.arange(n)
        return _File(
            name=name, table=table, key=key, prefix=kind, columns=cols,
            protected=np.zeros(n, bool) if protected is None else np.asarray(protected)[order],
            copy_ok=None if copy_ok is None else np.asarray(copy_ok)[order],
            country_iso=None if country is None else self.c_iso[np.asarray(country)],
            preassigned=[(k, c, np.sort(pos[rows])) for k, c, rows in preassigned],
        )


# ----------------------------------------------------------------------------
# Dirty data injection
# ----------------------------------------------------------------------------

def _normalise_picklist(value: str) -> str:
    return " ".join(value.split()).casefold()


def _picklist_variant(value: str, style: int) -> str:
    variants = (value.lower(), value.upper(), " " + value, value + " ", value.replace(" ", "  ", 1),
                " " + value.lower() + " ", value.upper() + " ")
    out = variants[style % len(variants)]
    if out == value:
        out = value.lower() + "  " if value.lower() != value else " " + value + " "
    assert _normalise_picklist(out) == _normalise_picklist(value)
    return out


def _bad_date(value: str, style: int, is_datetime: bool) -> str:
    year = value[:4] if value and value[:4].isdigit() else "2024"
    time_part = "T10:15:00.000+0000" if is_datetime else ""
    options = (f"{year}-02-30{time_part}", f"31/31/{year}", "not a date", f"{year}-04-31{time_part}",
               f"{year}-02-31")
    return options[style % len(options)]


def _bad_amount(value: str, style: int) -> str:
    options = ("12,5k", "ca. 30000", "30k EUR", "1.2.3", "TBD")
    return options[style % len(options)]


def _bad_email(value: str, style: int) -> str:
    local, _, domain = value.partition("@")
    options = (f"{local}@@{domain}", f"{local}.{domain}", f"{local} at {domain}", f"@{domain}", f"{local}@")
    return options[style % len(options)]


def _email_case(value: str, style: int) -> str:
    options = (value.upper(), " " + value, value[:1].upper() + value[1:] + " ",
               value.title(), "  " + value.upper())
    out = options[style % len(options)]
    return out if out != value else value.upper() + " "


# How each country writes numbers at home: trunk prefix, and whether "00" is its international prefix
_PHONE_STYLE = {"US": ("", False), "CA": ("", False), "GB": ("0", True), "DE": ("0", True), "FR": ("0", True),
                "NL": ("0", True), "CN": ("0", True), "JP": ("0", False), "AU": ("0", False), "SG": ("", False),
                "IN": ("0", True), "BR": ("", False), "MX": ("", True)}


def _phone_format(value: str, iso: str, style: int) -> str:
    """The same E.164 number written the way people do at home (parseable with the row's country).

    Plain string templates (the tests check every one with ``phonenumbers``):
    a per-row ``phonenumbers`` round trip cost seconds at scale 50.
    """
    country = next(c for c in _COUNTRIES if c[1] == iso)
    cc = country[6]
    nsn = value[1 + len(cc):]
    area = max((c[1] for c in country[7] if nsn.startswith(c[1])), key=len)
    sub = nsn[len(area):]
    trunk, idd00 = _PHONE_STYLE[iso]
    if cc == "1":
        options = (f"({area}) {sub[:3]}-{sub[3:]}", f"{area}.{sub[:3]}.{sub[3:]}", f"1-{area}-{sub[:3]}-{sub[3:]}",
                   f"+1 {area}-{sub[:3]}-{sub[3:]}", f"{area}-{sub[:3]}-{sub[3:]}")
    else:
        if iso == "SG":
            area, sub = "", nsn
        h = len(sub) // 2
        grouped = f"{sub[:h]} {sub[h:]}"
        national = f"({area}) {sub[:h]}-{sub[h:]}" if iso == "BR" else f"{trunk}{area} {grouped}".strip()
        options = [national, f"+{cc} {area} {grouped}".replace("  ", " "), f"{trunk}{area}-{sub}".lstrip("-")]
        if idd00:
            options.append(f"00{cc} {area} {grouped}".replace("  ", " "))
    out = options[style % len(options)]
    return out if out != value else options[0]


def _extra_value(kind: str, col: str, old, style: int):
    """The defect written into an extra row (a copy of a clean row)."""
    if kind == "missing_id":
        return ""
    if kind == "duplicate_id":
        return old
    if kind == "unparseable_date":
        return _bad_date(old, style, col.endswith("created_date"))
    if kind == "unparseable_amount":
        return _bad_amount(old, style)
    if kind == "negative_amount":
        return "-" + old
    if kind == "probability_out_of_range":
        return ("150", "-5", "120", "200", "-10", "101")[style % 6]
    return None   # orphans: a fresh Id of the referenced object, filled in later


def _inplace_value(kind: str, old: str, iso: str, style: int) -> tuple[str, str]:
    """(written value, value the cleaner should produce) of an in-place defect."""
    if kind == "picklist_variant":
        return _picklist_variant(old, style), old
    if kind == "id15":
        return old[:15], old
    if kind == "email_case":
        return _email_case(old, style), old
    if kind == "bad_email":
        return _bad_email(old, style), ""
    if kind == "phone_format":
        return _phone_format(old, iso, style), old
    raise ValueError(kind)  # pragma: no cover


def _inject(sim: _Sim, f: _File, rng) -> list[dict]:
    """Apply the file's defects; returns the truth records (final row positions).

    Values are pulled and pushed in bulk per column (a defect touches a few
    percent of rows, but per-cell Arrow access would still cost seconds).
    """
    n = f.n
    cols = f.columns
    used = f.protected.copy()
    # (row, is_extra, column, kind, written, clean) ; extra rows are numbered n, n+1, ...
    defects: list[tuple] = []
    for kind, col, rows in f.preassigned:
        used[rows] = True
        vals = cols[col].take(pa.array(rows, pa.int64())).to_pylist()
        defects += [(int(r), col, kind, "" if v is None else v, "") for r, v in zip(rows, vals)]
    valid_cache = {c: pc.is_valid(cols[c]).to_numpy(zero_copy_only=False) for c in cols}
    edits: dict[str, list[tuple[int, str]]] = {}
    extras: list[tuple[int, str, str, object]] = []   # (source row, kind, column, value)

    for kind, cand_cols, share in _DIRTY_SPECS.get(f.name, ()):
        count = share if isinstance(share, int) else int(round(share * n))
        if count <= 0:
            continue
        colmask = np.stack([valid_cache[c] for c in cand_cols], axis=1)
        elig = ~used
        if kind in _EXTRA_ROW_KINDS:
            # the copied source row stays clean and the copy carries the defect
            if kind not in ("missing_id", "duplicate_id"):
                elig &= colmask.any(axis=1)
                if f.copy_ok is not None:
                    elig &= f.copy_ok
        else:
            elig &= colmask.any(axis=1)
        pool = np.flatnonzero(elig)
        if not len(pool):
            continue
        rows = np.sort(rng.choice(pool, min(count, len(pool)), replace=False))
        used[rows] = True
        # a column of each row among those that hold a value
        which = np.argmax(rng.random((len(rows), len(cand_cols))) * colmask[rows], axis=1)
        styles = rng.integers(0, 1000, len(rows))
        for ci, col in enumerate(cand_cols):
            sel = which == ci
            if not sel.any():
                continue
            r_sel, st_sel = rows[sel].tolist(), styles[sel].tolist()
            olds = cols[col].take(pa.array(r_sel, pa.int64())).to_pylist()
            if kind in _EXTRA_ROW_KINDS:
                extras += [(r, kind, col, _extra_value(kind, col, old, st)) for r, old, st in zip(r_sel, olds, st_sel)]
                continue
            iso = f.country_iso[rows[sel]] if f.country_iso is not None else [""] * len(r_sel)
            for r, old, st, cc in zip(r_sel, olds, st_sel, iso):
                new, clean = _inplace_value(kind, old, str(cc), st)
                edits.setdefault(col, []).append((r, new))
                defects.append((r, col, kind, new, clean))

    # in-place edits, one replace per column
    for col, changes in edits.items():
        changes.sort()
        mask = np.zeros(n, bool)
        mask[[r for r, _ in changes]] = True
        cols[col] = pc.replace_with_mask(cols[col], pa.array(mask), pa.array([v for _, v in changes], _STR))
    key_vals_orig = cols[f.key]

    # extra rows: copies of clean rows, each with its one defect
    k = len(extras)
    extra_keys: list = []
    if k:
        extras.sort(key=lambda e: e[0])
        src = np.array([e[0] for e in extras])
        copy = {c: v.take(pa.array(src)) for c, v in cols.items()}
        fresh = sim.new_ids(f.prefix, k).to_pylist()
        targets = {"orphan_history": "opportunities", "orphan_campaign_member": "campaigns"}
        orphans = {kind: iter(sim.new_ids(obj, n_k).to_pylist()) for kind, obj in targets.items()
                   if (n_k := sum(e[1] == kind for e in extras))}
        extra_keys = copy[f.key].to_pylist()
        changes: dict[str, dict[int, str]] = {}
        for j, (r, kind, col, value) in enumerate(extras):
            if kind == "missing_id":
                extra_keys[j] = None
            elif kind == "duplicate_id":
                pass
            else:
                extra_keys[j] = fresh[j]
                if kind in targets:       # an Id of the right object that no record has
                    value = next(orphans[kind])
                changes.setdefault(col, {})[j] = value
            defects.append((n + j, col, kind, value, ""))
        copy[f.key] = pa.array(extra_keys, _STR)
        for col, ch in changes.items():
            vals = copy[col].to_pylist()
            for j, v in ch.items():
                vals[j] = v
            copy[col] = pa.array(vals, _STR)
        # interleave: every copy lands somewhere after its source row. The
        # result is a zero-copy concatenation of slices (a take over every
        # column would cost more than writing the file).
        after = rng.integers(src, n)                      # inserted after this original row
        ins = np.argsort(after, kind="stable")
        cuts = after[ins] + 1
        final_pos = np.empty(n + k, np.int64)
        final_pos[:n] = np.arange(n) + np.searchsorted(cuts, np.arange(n), side="right")
        final_pos[n + ins] = cuts + np.arange(k)
        base, extra_t = pa.table(cols), pa.table(copy)
        bounds = np.concatenate([[0], cuts, [n]]).tolist()
        pieces = []
        for j in range(k):
            pieces.append(base.slice(bounds[j], bounds[j + 1] - bounds[j]))
            pieces.append(extra_t.slice(int(ins[j]), 1))
        pieces.append(base.slice(bounds[k], n - bounds[k]))
        joined = pa.concat_tables(pieces)
        f.columns = {c: joined.column(c) for c in cols}
    else:
        final_pos = np.arange(n)
    # record ids: from the pre-interleave columns (indexing a many-chunk column is slow)
    in_place_rows = [d[0] for d in defects if d[0] < n]
    ids_in_place = dict(zip(in_place_rows, key_vals_orig.take(pa.array(in_place_rows, pa.int64())).to_pylist()))
    out = []
    for row, col, kind, written, clean in defects:
        rid = ids_in_place[row] if row < n else extra_keys[row - n]
        out.append(dict(table=f.table, file=f.name, row=int(final_pos[row]), record_id=rid or "", column=col,
                        kind=kind, expected=_EXPECTED[kind], written_value=written or "", clean_value=clean))
    return out


# ----------------------------------------------------------------------------
# Headers, writing, truth
# ----------------------------------------------------------------------------

#: Where the written header differs from ``schema.py``'s ``sf_name``: custom
#: fields keep their ``__c`` (Region__c), and OpportunityStage holds category
#: labels ("Best Case"), i.e. the ForecastCategoryName field (a schema alias).
_HEADER_OVERRIDES = {("stages", "forecast_category"): "ForecastCategoryName"}
_CUSTOM_FIELDS = {"region"}


def _header(table: str, column: str) -> str:
    if (table, column) in _HEADER_OVERRIDES:
        return _HEADER_OVERRIDES[(table, column)]
    spec = TABLES[table].column(column)
    if spec is None:          # OpportunityStage.Id: real exports have it, the schema keys on the label
        return column
    sf = spec.sf_name
    if column in _CUSTOM_FIELDS and not sf.endswith("__c"):
        sf += "__c"
    return sf


def _write_csv(f: _File, path: Path) -> int:
    table = pa.table({_header(f.table, c): v for c, v in f.columns.items()})
    # small batches stay in cache: measured faster than large ones
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed", batch_size=1024))
    return path.stat().st_size


def _truth_clusters(sim: _Sim) -> pd.DataFrame:
    frames = []
    for c in sim.clusters:
        ids = sim.ids[c["table"]]
        n_orig = len(c["orig"])
        prefix = c["table"] + "-"
        orig_ids = _id_ref(ids, c["orig"]).to_pylist()
        dup_ids = _id_ref(ids, c["dup_index"]).to_pylist()
        cid = [f"{prefix}{i:06d}" for i in range(n_orig)]
        frames.append(pd.DataFrame({"table": c["table"], "cluster_id": cid, "record_id": orig_ids,
                                    "is_original": True, "variation": ""}))
        frames.append(pd.DataFrame({"table": c["table"], "cluster_id": [cid[k] for k in c["cluster"]],
                                    "record_id": dup_ids, "is_original": False, "variation": c["variation"]}))
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(["table", "cluster_id", "is_original", "record_id"], ascending=[True, True, False, True],
                          kind="stable")
    out["is_original"] = out["is_original"].map({True: "true", False: "false"})
    return out.reset_index(drop=True)


def _source_rates(sim: _Sim) -> pd.DataFrame:
    L = sim.lead
    rows = []
    for s, (name, share, conv, win, ctype) in enumerate(_LEAD_SOURCES):
        g = L["source"] == s
        mat = g & L["mature"]
        o = sim.opp
        og = (o["source"] == s) & ~o["imported"]
        closed = og & o["is_closed"]
        rows.append(dict(
            lead_source=name, true_conversion_rate=conv, true_win_rate=win, lead_share=share,
            campaign_type=ctype or "", n_leads=int(g.sum()), n_mature_leads=int(mat.sum()),
            n_converted=int((g & L["converted"]).sum()), n_converted_mature=int((mat & L["converted"]).sum()),
            n_duplicate_leads=int((sim.lead_dups["source"] == s).sum()),
            n_opportunities=int(og.sum()), n_closed=int(closed.sum()), n_won=int((og & o["is_won"]).sum()),
            mean_p_convert_mature=float(L["p_convert"][mat].mean()) if mat.any() else float("nan"),
        ))
    return pd.DataFrame(rows)


def generate_sample(out_dir, *, scale: float = 1.0, seed: int = 0, truth_dir=None,
                    start: str = "2023-01-01", years: int = 3) -> dict:
    """Write a synthetic Salesforce export of a B2B company and its ground truth.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the export (created if needed); one CSV per object
        (:data:`SAMPLE_FILES`), headers are Salesforce API field names.
    scale : float, default 1.0
        Size of the company: 1.0 creates about 20,000 leads and 4,000
        opportunities per 3 years (so over the default window), 50 about a
        million leads; everything scales linearly (users and campaigns
        sub-linearly). Headers are the schema's ``sf_name``; custom fields
        keep their ``__c`` (``Region__c``, ``Role__c``) and OpportunityStage
        writes ``ForecastCategoryName`` (a schema alias).
    seed : int, default 0
        Seed of ``numpy.random.default_rng``. Identical arguments give
        byte-identical files.
    truth_dir : str or Path, optional
        Folder for the ground truth; default: a sibling of ``out_dir`` named
        ``<out_dir>_truth``.
    start : str, default "2023-01-01"
        First day of the simulated window (UTC).
    years : int, default 3
        Length of the window. The export is taken at its end: later events
        have not happened, so recent leads and deals are still open.

    Returns
    -------
    dict
        ``out_dir``, ``truth_dir``, ``rows`` (data rows per file), ``bytes``
        (size per file), ``dirty_rows`` (count per expected action),
        ``duplicate_records`` and ``seconds``.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> s = generate_sample(tmp / "org", scale=0.02, seed=3)
    >>> opps = pd.read_csv(tmp / "org" / "Opportunity.csv", dtype=str, keep_default_na=False)
    >>> len(opps) == s["rows"]["Opportunity.csv"]
    True
    >>> truth = pd.read_csv(tmp / "org_truth" / "dirty_rows.csv")
    >>> sorted(truth["expected"].unique())
    ['clean', 'flag', 'quarantine']
    """
    t_begin = time.perf_counter()
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    if int(years) != years or years < 1:
        raise ValueError(f"years must be a positive whole number, got {years!r}")
    out = Path(out_dir)
    truth = Path(truth_dir) if truth_dir is not None else out.with_name(out.name + "_truth")
    out.mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)

    sim = _Sim(seed, scale, start, int(years))
    sim.make_users()
    sim.make_companies()
    sim.make_leads()
    sim.make_campaigns()
    sim.make_accounts()
    sim.make_opportunities()
    sim.make_contacts()
    sim.make_members()
    sim.make_activities()
    sim.make_duplicates()
    clean_rows, rows, dirty, writes = {}, {}, [], {}
    rng = sim.rng["dirty"]
    # Files are written by a background thread (pyarrow releases the GIL) while
    # the next one is built; every random draw stays in this thread, in a fixed
    # order, so the output is still byte-identical for a seed.
    with ThreadPoolExecutor(max_workers=1) as writer:
        for name, f in sim.iter_files():
            _self_check_ids(f)
            clean_rows[name] = f.n
            dirty += _inject(sim, f, rng)
            rows[name] = f.n
            writes[name] = writer.submit(_write_csv, f, out / name)
            del f
        sizes = {name: writes[name].result() for name in SAMPLE_FILES}
    rows = {name: rows[name] for name in SAMPLE_FILES}
    clean_rows = {name: clean_rows[name] for name in SAMPLE_FILES}

    dirty_df = pd.DataFrame(dirty, columns=["table", "file", "row", "record_id", "column", "kind", "expected",
                                            "written_value", "clean_value"])
    dirty_df = dirty_df.sort_values(["file", "row"], kind="stable").reset_index(drop=True)
    _write_frame(dirty_df, truth / "dirty_rows.csv")
    clusters = _truth_clusters(sim)
    _write_frame(clusters, truth / "duplicate_clusters.csv")
    rates = _source_rates(sim)
    _write_frame(rates, truth / "source_rates.csv")
    info = _truth_json(sim, rows, clean_rows, dirty_df, clusters)
    (truth / "truth.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    return dict(
        out_dir=str(out), truth_dir=str(truth), rows=rows, bytes=sizes,
        dirty_rows=dirty_df["expected"].value_counts().sort_index().to_dict(),
        duplicate_records=int((clusters["is_original"] == "false").sum()),
        seconds=round(time.perf_counter() - t_begin, 3),
    )


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n")


def _self_check_ids(f: _File) -> None:
    """The vectorised ID suffix must agree with ``ids.to_18`` (cheap spot check)."""
    if f.name != "OpportunityStage.csv":
        for v in f.columns[f.key][:3].to_pylist():
            assert to_18(v[:15]) == v, (f.name, v)


def _truth_json(sim: _Sim, rows, clean_rows, dirty_df, clusters) -> dict:
    return dict(
        generator="funnel_analysis.synth", version=GENERATOR_VERSION,
        seed=sim.seed, scale=sim.scale, start=sim.start_str, years=sim.years,
        window_start=sim.start_str + "T00:00:00.000+0000", window_end=sim.end_str + "T00:00:00.000+0000",
        export_time=sim.end_str + "T00:00:00.000+0000",
        mature_leads_created_before=pd.Timestamp(sim.mature_cut, unit="s").strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        truth_files={
            "dirty_rows.csv": ("one row per injected defect: table (canonical), file, row (0-based data row), "
                               "record_id (the Id written in that row, may be empty), column (canonical), kind, "
                               "expected (quarantine | flag | clean), written_value (the cell as written), "
                               "clean_value (for expected == clean: the value the cleaner should produce)"),
            "duplicate_clusters.csv": ("table, cluster_id, record_id for every record of every injected duplicate "
                                       "cluster (original included), is_original, variation (how a duplicate "
                                       "differs from its original)"),
            "source_rates.csv": ("per lead source: true_conversion_rate, true_win_rate, and the counts generated "
                                 "(n_leads excludes duplicate and quarantined rows; *_mature: created before "
                                 "mature_leads_created_before)"),
        },
        rows_written=rows,
        rows_simulated=clean_rows,
        note=("rows_simulated = rows_written minus the extra rows that carry quarantine defects; "
              "removing every dirty_rows.csv row with expected == 'quarantine' gives back the simulated org."),
        dirty_rows=dict(
            by_kind=dirty_df.groupby(["file", "kind"]).size().rename("n").reset_index()
            .to_dict(orient="records"),
            expected_by_kind=_EXPECTED,
            extra_row_kinds=list(_EXTRA_ROW_KINDS),
            specs={k: [dict(kind=a, columns=list(b), share_or_count=c) for a, b, c in v]
                   for k, v in _DIRTY_SPECS.items()},
            share_missing_amount=_SHARE_MISSING_AMOUNT, share_imported_deals=_SHARE_IMPORTED_DEALS,
            share_converted_before_created=_SHARE_CONVERTED_BEFORE_CREATED,
            notes=("missing_amount deals have no Amount in their history either; close_before_created are "
                   "historical deals imported early in the window with one history row; converted_before_created "
                   "leads keep their conversion (ConvertedDate = their opportunity's CreatedDate) but were "
                   "re-created later."),
        ),
        duplicates=dict(share=_DUPLICATES["share"], p_triple=_DUPLICATES["p_triple"],
                        records=clusters.groupby("table").size().to_dict(),
                        clusters=clusters.groupby("table")["cluster_id"].nunique().to_dict(),
                        notes="duplicate leads are never converted and are not counted in source_rates.csv"),
        lead_sources=[dict(name=s[0], share=s[1], true_conversion_rate=s[2], true_win_rate=s[3],
                           campaign_type=s[4]) for s in _LEAD_SOURCES],
        lead_model={**_LEADS, "conversion_model": (
            "p = true_conversion_rate[source] * m / mean(m over the leads of the same source and maturity), "
            "m = seniority_multiplier * size_multiplier * industry_multiplier; converted iff a Bernoulli(p) draw "
            "succeeds and conversion (creation + min(lognormal delay, max days)) happens before window_end"),
            "industry_multiplier": {x[0]: x[2] for x in _INDUSTRIES},
            "lead_status": list(_LEAD_STATUS)},
        stages=[dict(stage_name=s[0], sort_order=s[1], default_probability=s[2], is_closed=s[3], is_won=s[4],
                     forecast_category=s[5]) for s in _STAGES],
        stage_duration_days={**{s[0]: dict(median=d[0], sigma=d[1]) for s, d in zip(_STAGES[:_N_OPEN], _STAGE_DAYS)},
                             "pause_before_reopen": dict(median=_STAGE_DAYS[6][0], sigma=_STAGE_DAYS[6][1])},
        transitions=_PATH, close_dates=_CLOSE_DATE, amounts=_AMOUNT,
        win_model="won ~ Bernoulli(true_win_rate[source]) drawn at creation; imported deals win with p=0.6",
        path_stats=sim.opp["path_stats"],
        activities=_ACTIVITY,
        countries=[dict(name=c[0], iso=c[1], region=c[2], share=c[3]) for c in _COUNTRIES],
        regions=list(_REGIONS),
        id_prefixes=_ID_PREFIX,
        headers_not_equal_to_schema_sf_name={f"{t}.{c}": h for (t, c), h in _HEADER_OVERRIDES.items()}
        | {f"{t}.region": _header(t, "region") for t in ("accounts", "users")
           if _header(t, "region") != TABLES[t].column("region").sf_name},
    )
