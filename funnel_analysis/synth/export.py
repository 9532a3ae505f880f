"""The export files: every column as Arrow strings in file order, with Ids, references and headers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ..crm.schema import TABLES
from .arrowtext import (
    _cat,
    _id_ref,
    _null_where,
    _overlay,
    _pool,
    _s_bool,
    _s_date,
    _s_int,
    _s_money,
    _s_ts,
    _take,
    _where,
)
from .model import _CAMPAIGN_TYPES, _DAY, _LEAD_SOURCES, _SHARE_CONVERTED_BEFORE_CREATED, _STAGES
from .routing import _SEQ_SUBJECT, _TZ
from .sim import _Sim
from .vocab import _COUNTRIES, _EVENT_SUBJECTS, _INDUSTRIES, _LEAD_STATUS, _PRODUCTS, _REGIONS, _TASK_SUBJECTS


@dataclass
class _File:
    """One export file being assembled: canonical column -> Arrow string array."""

    name: str
    table: str
    key: str
    prefix: str
    columns: dict
    protected: np.ndarray  # rows that must stay clean (duplicates, flagged records)
    copy_ok: np.ndarray | None = None  # rows that may be copied with a fresh Id
    country_iso: np.ndarray | None = None  # per row, for national phone formats
    preassigned: list = field(default_factory=list)  # (kind, column, rows) already in the data
    meta: dict = field(default_factory=dict)  # entity order and times, for the deleted/merged/currency stage
    final_pos: np.ndarray | None = None  # row of each built row once the quarantine rows are in (set by _inject)

    @property
    def n(self) -> int:
        return len(next(iter(self.columns.values())))


#: Where the written header differs from ``schema.py``'s ``sf_name``: custom
#: fields keep their ``__c`` (Region__c), and OpportunityStage holds category
#: labels ("Best Case"), i.e. the ForecastCategoryName field (a schema alias).
_HEADER_OVERRIDES = {("stages", "forecast_category"): "ForecastCategoryName"}
_CUSTOM_FIELDS = {"region"}
#: Columns of the deleted/merged/currency/modstamp options, named as Salesforce writes them.
_ADDED_HEADERS = {
    "is_deleted": "IsDeleted",
    "master_record_id": "MasterRecordId",
    "currency_iso_code": "CurrencyIsoCode",
    "last_modified_date": "LastModifiedDate",
    "system_modstamp": "SystemModstamp",
}


def _header(table: str, column: str) -> str:
    if (table, column) in _HEADER_OVERRIDES:
        return _HEADER_OVERRIDES[(table, column)]
    if column in _ADDED_HEADERS:
        return _ADDED_HEADERS[column]
    if table not in TABLES:  # the currency files: written with their headers as column names
        return column
    spec = TABLES[table].column(column)
    if spec is None:  # OpportunityStage.Id: real exports have it, the schema keys on the label
        return column
    sf = spec.sf_name
    if column in _CUSTOM_FIELDS and not sf.endswith("__c"):
        sf += "__c"
    return sf


# ----------------------------------------------------------------------------
# Assembling the export files
# ----------------------------------------------------------------------------


def _split_order(order: np.ndarray, n_base: int, dup_src: np.ndarray):
    """For a file of n_base records + duplicates: which rows are duplicates, the
    record each row copies its data from, and the duplicate index of the duplicate rows."""
    is_dup = order >= n_base
    dpos = order[is_dup] - n_base
    src = order.copy()
    src[is_dup] = dup_src[dpos]
    return is_dup, src, dpos


def iter_files(sim: _Sim):
    """Yield (name, _File) for every export file, in dependency order.

    Columns are Arrow strings built directly in file order.

    Numbers are permuted into file order first and formatted once; only the
    duplicate rows are overlaid afterwards. (Formatting in entity order and
    then permuting every string column cost twice as much.)
    """
    L, co, A, C, O, H = sim.lead, sim.co, sim.acct, sim.contact, sim.opp, sim.hist
    names = sim.names
    src_pool = _pool(s[0] for s in _LEAD_SOURCES)
    ind_pool = _pool(x[0] for x in _INDUSTRIES)
    country_pool = _pool(c[0] for c in _COUNTRIES)
    region_pool = _pool(_REGIONS)
    ta = lambda x: pa.array(np.asarray(x, np.int64))  # noqa: E731

    # users -----------------------------------------------------------
    U = sim.users
    o, u_file, u_ids = sim.order_and_ids("users", U["created"])
    cols = {
        "owner_id": u_file,
        "first_name": U["first"].take(ta(o)),
        "last_name": U["last"].take(ta(o)),
        "name": U["name"].take(ta(o)),
        "email": U["email"].take(ta(o)),
        "role": _pool(U["role"][o]),
        "region": _take(region_pool, U["region"][o]),
        "manager_id": _id_ref(u_ids, U["manager"][o], U["manager"][o] >= 0),
        "is_active": _s_bool(U["active"][o]),
        "created_date": _s_ts(U["created"][o]),
    }
    route = getattr(sim, "routing", None)
    if route is not None:
        cols["time_zone_sid_key"] = _take(_pool(_TZ), U["region"][o])
    yield "User.csv", _file(sim, "User.csv", "users", "owner_id", "users", cols, o, meta=dict(created=U["created"]))

    # stages ------------------------------------------------------------
    st_ids = sim.new_ids("stages", len(_STAGES))
    cols = {
        "Id": st_ids,
        "stage_name": _pool(s[0] for s in _STAGES),
        "sort_order": _s_int([s[1] for s in _STAGES]),
        "default_probability": _s_int([s[2] for s in _STAGES]),
        "is_closed": _s_bool([s[3] for s in _STAGES]),
        "is_won": _s_bool([s[4] for s in _STAGES]),
        "forecast_category": _pool(s[5] for s in _STAGES),
        "is_active": _s_bool(np.ones(len(_STAGES), bool)),
    }
    yield (
        "OpportunityStage.csv",
        _file(sim, "OpportunityStage.csv", "stages", "stage_name", "stages", cols, np.arange(len(_STAGES))),
    )

    # campaigns -----------------------------------------------------------
    K = sim.camp
    o, k_file, k_ids = sim.order_and_ids("campaigns", K["created"])
    in_progress = ~K["completed"][o]
    cols = {
        "campaign_id": k_file,
        "name": K["name"].take(ta(o)),
        "type": _take(_pool(_CAMPAIGN_TYPES), K["type"][o]),
        "status": _where(in_progress, pa.scalar("In Progress"), pa.scalar("Completed")),
        "start_date": _s_date(K["start"][o]),
        "end_date": _s_date(K["end"][o]),
        "budgeted_cost": _s_money(K["budget"][o]),
        "actual_cost": _s_money(K["actual"][o]),
        "is_active": _s_bool(in_progress),
        "owner_id": _id_ref(u_ids, K["owner"][o]),
        "created_date": _s_ts(K["created"][o]),
    }
    yield (
        "Campaign.csv",
        _file(sim, "Campaign.csv", "campaigns", "campaign_id", "campaigns", cols, o, meta=dict(created=K["created"])),
    )

    # accounts (+ duplicates) ----------------------------------------------
    D = sim.acct_dups
    nA = A["n"]
    created_all = np.concatenate([A["created"], D["created"]])
    o, a_file, a_ids = sim.order_and_ids("accounts", created_all)
    is_dup, src, dpos = _split_order(o, nA, D["src"])
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
        "region": _take(region_pool, sim.c_region[co["country"][comp]]),
        "annual_revenue": _s_money(co["revenue"][comp]),
        "number_of_employees": _s_int(co["employees"][comp]),
        "billing_city": _take(sim.city_name, co["city"][comp]),
        "billing_country": _take(country_pool, co["country"][comp]),
        "phone": sim.phone_str(co["city"][comp], co["phone_num"][comp], has_phone),
        "website": _overlay(
            _null_where(co["website"].take(ta(comp)), ~A["has_website"][src]), is_dup, D["website"].take(ta(dpos))
        ),
        "owner_id": _id_ref(u_ids, np.concatenate([A["owner"], D["owner"]])[o]),
        "created_date": _s_ts(created_all[o]),
    }
    yield (
        "Account.csv",
        _file(
            sim,
            "Account.csv",
            "accounts",
            "account_id",
            "accounts",
            cols,
            o,
            protected=_cluster_mask(sim, "accounts", nA + D["n"]),
            country=co["country"][comp],
            meta=dict(created=created_all, src=src, n_base=nA),
        ),
    )

    # contacts (+ duplicates) ---------------------------------------------
    D = sim.contact_dups
    nC = C["n"]
    created_all = np.concatenate([C["created"], D["created"]])
    o, c_file, c_ids = sim.order_and_ids("contacts", created_all)
    is_dup, src, dpos = _split_order(o, nC, D["src"])
    f_o, l_o = _take(names.first, C["first"][src]), _take(names.last, C["last"][src])
    email = _cat(
        sim.email_local(C["first"][src], C["last"][src], C["pattern"][src]), "@", co["domain"].take(ta(C["comp"][src]))
    )
    acct = np.concatenate([C["account"], np.where(D["no_account"], -1, C["account"][D["src"]])])[o]
    cols = {
        "contact_id": c_file,
        "account_id": _id_ref(a_ids, acct, acct >= 0),
        "first_name": _overlay(f_o, is_dup, D["first"].take(ta(dpos))),
        "last_name": _overlay(l_o, is_dup, D["last"].take(ta(dpos))),
        "name": _overlay(sim.full_name(f_o, l_o, C["is_zh"][src]), is_dup, D["name"].take(ta(dpos))),
        "title": _take(sim.title_pool, C["title"][src], C["has_title"][src]),
        "email": _overlay(_null_where(email, ~C["has_email"][src]), is_dup, D["email"].take(ta(dpos))),
        "phone": sim.phone_str(C["phone_city"][src], C["phone_num"][src], C["has_phone"][src]),
        "lead_source": _take(src_pool, C["source"][src], C["source"][src] >= 0),
        "mailing_country": _take(country_pool, C["country"][src]),
        "owner_id": _id_ref(u_ids, C["owner"][src]),
        "created_date": _s_ts(created_all[o]),
    }
    yield (
        "Contact.csv",
        _file(
            sim,
            "Contact.csv",
            "contacts",
            "contact_id",
            "contacts",
            cols,
            o,
            protected=_cluster_mask(sim, "contacts", nC + D["n"]),
            country=C["country"][src],
            meta=dict(created=created_all, src=src, n_base=nC),
        ),
    )

    # opportunities -----------------------------------------------------------
    o, o_file, o_ids = sim.order_and_ids("opportunities", O["created"])
    st_label = _pool(s[0] for s in _STAGES)
    st_prob = np.array([s[2] for s in _STAGES])
    st_fc = _pool(s[5] for s in _STAGES)
    stage, source, camp = O["stage"][o], O["source"][o], O["campaign"][o]
    comp_o = A["comp"][O["account"][o]]
    cols = {
        "opportunity_id": o_file,
        "account_id": _id_ref(a_ids, O["account"][o]),
        "name": _cat(co["base"].take(ta(comp_o)), " - ", _take(_pool(_PRODUCTS), O["product"][o])),
        "created_date": _s_ts(O["created"][o]),
        "stage_name": _take(st_label, stage),
        "amount": _s_money(O["amount"][o]),
        "probability": _s_int(st_prob[stage]),
        "close_date": _s_date(O["close"][o]),
        "is_closed": _s_bool(O["is_closed"][o]),
        "is_won": _s_bool(O["is_won"][o]),
        "lead_source": _take(src_pool, source, source >= 0),
        "type": _where(O["new_business"][o], pa.scalar("New Business"), pa.scalar("Existing Business")),
        "forecast_category": _take(st_fc, stage),
        "campaign_id": _id_ref(k_ids, camp, camp >= 0),
        "owner_id": _id_ref(u_ids, O["owner"][o]),
    }
    special = O["missing_amount"] | O["imported"]
    pre = [
        ("missing_amount", "amount", np.flatnonzero(O["missing_amount"])),
        ("close_before_created", "close_date", np.flatnonzero(O["imported"])),
    ]
    yield (
        "Opportunity.csv",
        _file(
            sim,
            "Opportunity.csv",
            "opportunities",
            "opportunity_id",
            "opportunities",
            cols,
            o,
            protected=special,
            preassigned=pre,
            meta=dict(created=O["created"]),
        ),
    )

    # opportunity history --------------------------------------------------------
    o, h_file, _ = sim.order_and_ids("opportunity_history", H["time"])
    h_opp, h_stage = H["opp"][o], H["stage"][o]
    cols = {
        "history_id": h_file,
        "opportunity_id": _id_ref(o_ids, h_opp),
        "created_by_id": _id_ref(u_ids, O["owner"][h_opp]),
        "created_date": _s_ts(H["time"][o]),
        "stage_name": _take(st_label, h_stage),
        "amount": _s_money(H["amount"][o]),
        "probability": _s_int(st_prob[h_stage]),
        "close_date": _s_date(H["close"][o]),
        "forecast_category": _take(st_fc, h_stage),
    }
    # rows of the flagged deals stay as they are (their Amount/CloseDate is the point)
    yield (
        "OpportunityHistory.csv",
        _file(
            sim,
            "OpportunityHistory.csv",
            "opportunity_history",
            "history_id",
            "opportunity_history",
            cols,
            o,
            protected=special[H["opp"]],
            meta=dict(created=H["time"]),
        ),
    )

    # leads (+ duplicates) -------------------------------------------------------
    D = sim.lead_dups
    nL, nD = L["n"], D["n"]
    # flagged: a few converted leads re-created after conversion (ConvertedDate < CreatedDate)
    rng = sim.rng["dirty"]
    cand = np.flatnonzero(
        L["converted"]
        & (L["conv_t"] + 31 * _DAY < sim.t1)
        & ~_cluster_mask(sim, "leads", nL + nD)[:nL]
        & L.get("cbc_ok", np.ones(nL, bool))  # routing: never a lead of a round robin (its CreatedDate moves)
    )
    k_cbc = min(len(cand), int(round(_SHARE_CONVERTED_BEFORE_CREATED * nL)))
    cbc = np.sort(rng.choice(cand, k_cbc, replace=False))
    lead_created = L["created"].copy()
    lead_created[cbc] = (L["conv_t"][cbc] // _DAY + rng.integers(1, 31, k_cbc)) * _DAY + rng.integers(
        8 * 3600, 18 * 3600, k_cbc
    )
    created_all = np.concatenate([lead_created, D["created"]])
    o, l_file, l_ids = sim.order_and_ids("leads", created_all)
    is_dup, src, dpos = _split_order(o, nL, D["src"])
    opp_of_lead = np.full(nL, -1, np.int64)
    opp_of_lead[O["lead"][~O["imported"]]] = np.flatnonzero(~O["imported"])
    sim.lead["opp"] = opp_of_lead
    comp = L["comp"][src]
    conv = L["converted"][src] & ~is_dup
    size_ok = L["has_size"][src]
    f_o, l_o = _take(names.first, L["first"][src]), _take(names.last, L["last"][src])
    email = _cat(sim.email_local(L["first"][src], L["last"][src], L["pattern"][src]), "@", co["domain"].take(ta(comp)))
    company = _where(L["company_no_suffix"][src], co["base"].take(ta(comp)), co["name"].take(ta(comp)))
    source = L["source"][src].copy()
    source[is_dup] = D["source"][dpos]
    status = L["status"][src].copy()
    status[is_dup] = D["status"][dpos]
    owner = L["owner"][src].copy()
    owner[is_dup] = D["owner"][dpos]
    cols = {
        "lead_id": l_file,
        "created_date": _s_ts(created_all[o]),
        "first_name": _overlay(f_o, is_dup, D["first"].take(ta(dpos))),
        "last_name": _overlay(l_o, is_dup, D["last"].take(ta(dpos))),
        "name": _overlay(sim.full_name(f_o, l_o, L["is_zh"][src]), is_dup, D["name"].take(ta(dpos))),
        "title": _take(sim.title_pool, L["title"][src], L["has_title"][src]),
        "email": _overlay(_null_where(email, ~L["has_email"][src]), is_dup, D["email"].take(ta(dpos))),
        "phone": sim.phone_str(L["phone_city"][src], L["phone_num"][src], L["has_phone"][src]),
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
    protected = _cluster_mask(sim, "leads", nL + nD)
    protected[cbc] = True
    copy_ok = np.concatenate([~L["converted"], np.zeros(nD, bool)])  # a copy of a converted lead would claim its deal
    yield (
        "Lead.csv",
        _file(
            sim,
            "Lead.csv",
            "leads",
            "lead_id",
            "leads",
            cols,
            o,
            protected=protected,
            country=L["country"][src],
            copy_ok=copy_ok,
            preassigned=[("converted_before_created", "converted_date", cbc)],
            meta=dict(created=created_all, src=src, n_base=nL, cbc=cbc),
        ),
    )
    sim.ids = {
        "users": u_ids,
        "campaigns": k_ids,
        "accounts": a_ids,
        "contacts": c_ids,
        "opportunities": o_ids,
        "leads": l_ids,
    }

    # campaign members -------------------------------------------------------------
    M = sim.member
    o, m_file, _ = sim.order_and_ids("campaign_members", M["created"])
    lead, contact, responded = M["lead"][o], M["contact"][o], M["responded"][o]
    cols = {
        "campaign_member_id": m_file,
        "campaign_id": _id_ref(k_ids, M["campaign"][o]),
        "lead_id": _id_ref(l_ids, lead, lead >= 0),
        "contact_id": _id_ref(c_ids, contact, contact >= 0),
        "status": _where(responded, pa.scalar("Responded"), pa.scalar("Sent")),
        "has_responded": _s_bool(responded),
        "first_responded_date": _s_date(M["resp_day"][o], responded),
        "created_date": _s_ts(M["created"][o]),
    }
    yield (
        "CampaignMember.csv",
        _file(
            sim,
            "CampaignMember.csv",
            "campaign_members",
            "campaign_member_id",
            "campaign_members",
            cols,
            o,
            meta=dict(created=M["created"]),
        ),
    )

    # tasks and events ------------------------------------------------------------------
    T = sim.task
    o, t_file, _ = sim.order_and_ids("tasks", T["created"])
    who_lead, who_contact, what, acct = T["who_lead"][o], T["who_contact"][o], T["what_opp"][o], T["account"][o]
    is_call, subject, status = T["is_call"][o], T["subject"][o], T["status"][o]
    cols = {
        "activity_id": t_file,
        "who_id": _where(
            who_lead >= 0, _id_ref(l_ids, who_lead, who_lead >= 0), _id_ref(c_ids, who_contact, who_contact >= 0)
        ),
        "what_id": _id_ref(o_ids, what, what >= 0),
        "account_id": _id_ref(a_ids, acct, acct >= 0),
        "subject": _where(
            is_call, _take(_pool(_TASK_SUBJECTS["Call"]), subject), _take(_pool(_TASK_SUBJECTS["Email"]), subject)
        ),
        "activity_date": _s_date(T["when"][o] // _DAY),
        "status": _take(_pool(["Completed", "Not Started", "In Progress"]), status),
        "priority": _take(_pool(["Normal", "High", "Low"]), T["priority"][o]),
        "type": _where(is_call, pa.scalar("Call"), pa.scalar("Email")),
        "is_closed": _s_bool(status == 0),
        "owner_id": _id_ref(u_ids, T["owner"][o]),
        "created_date": _s_ts(T["created"][o]),
    }
    if route is not None:
        seq = T["sequence"][o]
        cols["subject"] = _where(seq, pa.scalar(_SEQ_SUBJECT), cols["subject"])
        cols["task_subtype"] = cols["type"]
        cols["created_by_id"] = _id_ref(u_ids, T["created_by"][o])
        done = T["completed"][o]
        cols["completed_date_time"] = _null_where(_s_ts(np.maximum(done, 0)), done < 0)
    yield (
        "Task.csv",
        _file(sim, "Task.csv", "activities", "activity_id", "tasks", cols, o, meta=dict(created=T["created"])),
    )
    E = sim.event
    o, e_file, _ = sim.order_and_ids("events", E["created"])
    who = E["who_contact"][o]
    cols = {
        "activity_id": e_file,
        "who_id": _id_ref(c_ids, who, who >= 0),
        "what_id": _id_ref(o_ids, E["what_opp"][o]),
        "account_id": _id_ref(a_ids, E["account"][o]),
        "subject": _take(_pool(_EVENT_SUBJECTS), E["subject"][o]),
        "activity_date": _s_date(E["when"][o] // _DAY),
        "type": _take(_pool(["Meeting"]), np.zeros(E["n"])),
        "duration_in_minutes": _s_int(E["duration"][o]),
        "owner_id": _id_ref(u_ids, E["owner"][o]),
        "created_date": _s_ts(E["created"][o]),
    }
    if route is not None:
        cols["created_by_id"] = _id_ref(u_ids, E["owner"][o])
        cols["start_date_time"] = _s_ts(E["when"][o])
        cols["end_date_time"] = _s_ts(E["when"][o] + 60 * E["duration"][o])
        cols["is_all_day_event"] = _s_bool(np.zeros(E["n"], bool))
    yield (
        "Event.csv",
        _file(sim, "Event.csv", "activities", "activity_id", "events", cols, o, meta=dict(created=E["created"])),
    )


def _cluster_mask(sim: _Sim, table: str, n: int) -> np.ndarray:
    """Records of ``table`` (originals, then duplicates) that belong to an injected duplicate cluster."""
    mask = np.zeros(n, bool)
    for c in sim.clusters:
        if c["table"] == table:
            mask[c["orig"]] = True
            mask[c["dup_index"]] = True
    return mask


def _file(
    sim: _Sim,
    name,
    table,
    key,
    kind,
    cols,
    order,
    protected=None,
    country=None,
    copy_ok=None,
    preassigned=(),
    meta=None,
):
    """Wrap file-ordered columns; ``protected``/``copy_ok``/``preassigned`` come in entity order,
    ``country`` (per row, for phone formats) in file order. ``meta`` (entity creation times
    ``created``; for files with duplicates ``src``, the record each row shows, in file order, and
    ``n_base``) gains the file ``order``."""
    n = len(order)
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)
    return _File(
        name=name,
        table=table,
        key=key,
        prefix=kind,
        columns=cols,
        protected=np.zeros(n, bool) if protected is None else np.asarray(protected)[order],
        copy_ok=None if copy_ok is None else np.asarray(copy_ok)[order],
        country_iso=None if country is None else sim.c_iso[np.asarray(country)],
        preassigned=[(k, c, np.sort(pos[rows])) for k, c, rows in preassigned],
        meta=dict(meta or {}, order=order),
    )
