"""Multi-touch campaign attribution: which campaigns get credit for an opportunity's value.

Touches
-------
The touches of an opportunity are the campaign memberships of the people behind it whose member
``created_date`` is strictly before the opportunity's ``created_date`` (a campaign joined after the
deal existed did not source it). The people are the lead(s) converted into it
(``leads.converted_opportunity_id``; members by ``lead_id``), the contact(s) those leads became
(``leads.converted_contact_id``, when the column is there; members by ``contact_id``: the same
person, touched again after conversion), and the buying committee, one of:

- given ``contact_roles`` (OpportunityContactRole: ``opportunity_id``, ``contact_id``), the deal's
  contact roles. This is what Salesforce's own Campaign Influence credits: its models look for
  campaign members "who are also assigned a contact role" on the opportunity (Salesforce Help, "How
  Customizable Campaign Influence Works"). A deal without a contact role then has no committee: it
  is credited through its converted lead only, else to ``"(no campaign)"``; it is never given its
  account's contacts, which would credit the campaigns of people who had nothing to do with it;
- else, given ``contacts``, every contact of the deal's account (``opportunities.account_id`` =
  ``contacts.account_id``): the fallback for an org without contact roles, which over-credits large
  accounts (every campaign any of their people joined).

A membership reached through two of these paths counts once. Members or opportunities without a creation time give
no touch (it cannot be shown to come first). With ``responded_only=True`` only members with
``has_responded`` count. Touches are ordered by member ``created_date`` (ties by
``campaign_member_id`` when present, then ``campaign_id``). A campaign touched twice counts twice.

Models (weights per touch, ``n`` touches)
-----------------------------------------
- ``first_touch``: 1 to the first; ``last_touch``: 1 to the last; ``linear``: 1/n each;
- ``u_shaped`` (position-based): 40 % first, 40 % last, 20 % shared by the middle touches; with
  one touch 100 %, with two 50 / 50.

Weights of one opportunity sum to 1 in every model. An opportunity without touches is credited
whole to ``"(no campaign)"``, so the credited values of a model add up to the total value.
Credited value = weight x value; a missing value stays missing (sums skip it, as the total does).

Examples
--------
>>> import funnel_analysis as fa  # doctest: +SKIP
>>> crm = fa.load_org("data/sample")  # doctest: +SKIP
>>> att = campaign_attribution(crm.opportunities, crm.leads, crm.campaign_members)  # doctest: +SKIP
>>> attribution_summary(att)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._util.frames import flag as _flag
from .._util.frames import require as _require
from .._util.frames import utc_naive as _utc_naive

__all__ = ["campaign_attribution", "attribution_summary", "touch_weights", "MODELS", "NO_CAMPAIGN"]

MODELS = ("first_touch", "last_touch", "linear", "u_shaped")
NO_CAMPAIGN = "(no campaign)"


def touch_weights(n: int, model: str) -> np.ndarray:
    """Weights of ``n`` ordered touches under ``model``; they sum to 1.

    Parameters
    ----------
    n : int
        The number of touches, at least 1.
    model : {"first_touch", "last_touch", "linear", "u_shaped"}
        The attribution model (module notes).

    Returns
    -------
    ndarray
        ``n`` float weights, first touch first.

    Raises
    ------
    ValueError
        An unknown model or ``n`` below 1.

    Examples
    --------
    >>> touch_weights(4, "u_shaped").tolist()
    [0.4, 0.1, 0.1, 0.4]
    >>> touch_weights(2, "u_shaped").tolist(), touch_weights(3, "last_touch").tolist()
    ([0.5, 0.5], [0.0, 0.0, 1.0])
    """
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}; choose from {MODELS}")
    if int(n) < 1:
        raise ValueError(f"an opportunity with touches has at least one, got n={n}")
    n = int(n)
    w = np.zeros(n)
    if model == "first_touch":
        w[0] = 1.0
    elif model == "last_touch":
        w[-1] = 1.0
    elif model == "linear" or n <= 2:  # u_shaped with 1 or 2 touches shares equally
        w[:] = 1.0 / n
    else:
        w[0] = w[-1] = 0.4
        w[1:-1] = 0.2 / (n - 2)
    return w


def _people(opps, leads, contacts, contact_roles=None) -> pd.DataFrame:
    """(opportunity_id, person) links; a person is "L:<lead_id>" or "C:<contact_id>"."""
    conv = leads[leads["converted_opportunity_id"].notna()]
    parts = [
        pd.DataFrame(
            {
                "opportunity_id": conv["converted_opportunity_id"].to_numpy(),
                "_who": ("L:" + conv["lead_id"].astype("str")).to_numpy(),
            }
        )
    ]
    if "converted_contact_id" in conv.columns:
        c = conv[conv["converted_contact_id"].notna()]
        parts.append(
            pd.DataFrame(
                {
                    "opportunity_id": c["converted_opportunity_id"].to_numpy(),
                    "_who": ("C:" + c["converted_contact_id"].astype("str")).to_numpy(),
                }
            )
        )
    if contacts is not None:
        acc = opps.loc[opps["account_id"].notna(), ["opportunity_id", "account_id"]]
        k = contacts.loc[contacts["account_id"].notna(), ["contact_id", "account_id"]]
        a = acc.merge(k, on="account_id")
        parts.append(
            pd.DataFrame(
                {
                    "opportunity_id": a["opportunity_id"].to_numpy(),
                    "_who": ("C:" + a["contact_id"].astype("str")).to_numpy(),
                }
            )
        )
    if contact_roles is not None:
        r = contact_roles[contact_roles["opportunity_id"].notna() & contact_roles["contact_id"].notna()]
        parts.append(
            pd.DataFrame(
                {
                    "opportunity_id": r["opportunity_id"].to_numpy(),
                    "_who": ("C:" + r["contact_id"].astype("str")).to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True).astype("str").drop_duplicates()


def _touches(opps, leads, members, responded_only, contacts=None, contact_roles=None) -> pd.DataFrame:
    o = pd.DataFrame({"opportunity_id": opps["opportunity_id"].to_numpy(), "_opp_t": _utc_naive(opps["created_date"])})
    m = members.reset_index(drop=True)
    if responded_only:
        m = m[_flag(m["has_responded"]).to_numpy()]
    who = ("L:" + m["lead_id"].astype("str")).where(m["lead_id"].notna())
    if "contact_id" in m.columns:
        who = who.fillna(("C:" + m["contact_id"].astype("str")).where(m["contact_id"].notna()))
    tie = "campaign_member_id" if "campaign_member_id" in m.columns else "campaign_id"
    mm = pd.DataFrame(
        {
            "_who": who.to_numpy(),
            "campaign_id": m["campaign_id"].to_numpy(),
            "_tie": m[tie].to_numpy(),
            "_t": _utc_naive(m["created_date"]),
            "_row": m.index.to_numpy(),
        }
    )
    t = o.merge(_people(opps, leads, contacts, contact_roles), on="opportunity_id").merge(
        mm.dropna(subset=["_who"]), on="_who"
    )
    t = t[t["_t"].notna() & t["_opp_t"].notna() & (t["_t"] < t["_opp_t"])]
    t = t.drop_duplicates(["opportunity_id", "_row"])  # one membership, one touch, however it was reached
    return t.sort_values(["opportunity_id", "_t", "_tie", "campaign_id"], kind="stable")


def campaign_attribution(
    opps: pd.DataFrame,
    leads: pd.DataFrame,
    campaign_members: pd.DataFrame,
    *,
    models=MODELS,
    value: str = "amount",
    won_only: bool = True,
    responded_only: bool = False,
    contacts: pd.DataFrame | None = None,
    contact_roles: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Credit of every opportunity split over its campaign touches, under several models.

    Parameters
    ----------
    opps : DataFrame
        With ``opportunity_id``, ``created_date``, ``value`` and (with ``won_only``) ``is_closed``,
        ``is_won``.
    leads : DataFrame
        With ``lead_id`` and ``converted_opportunity_id``.
    campaign_members : DataFrame
        With ``campaign_id``, ``lead_id``, ``created_date`` (and ``has_responded`` with
        ``responded_only``; ``contact_id`` for members that are contacts).
    contacts : DataFrame, optional
        With ``contact_id`` and ``account_id``: the memberships of every contact of the deal's
        account count as touches (``opps`` then needs ``account_id``). The fallback for an org
        without contact roles; not with ``contact_roles``.
    contact_roles : DataFrame, optional
        With ``opportunity_id`` and ``contact_id`` (OpportunityContactRole): the memberships of the
        deal's contact roles count as touches; a deal without a role is credited through its
        converted lead only (module notes).
    models : sequence of {"first_touch", "last_touch", "linear", "u_shaped"}
    value : str, default "amount"
        The opportunity column credited.
    won_only : bool, default True
        Only closed won opportunities are credited.
    responded_only : bool, default False
        Only members that responded are touches.

    Returns
    -------
    DataFrame
        Long: ``opportunity_id``, ``campaign_id`` (``"(no campaign)"`` without touches),
        ``model``, ``touches`` (the opportunity's touch count), ``weight`` (summed per campaign
        when a campaign is touched twice), ``credited_value`` = weight x value.

    Examples
    --------
    >>> opps = pd.DataFrame({"opportunity_id": ["O1"], "amount": [1000.0], "is_closed": [True], "is_won": [True],
    ...                      "created_date": pd.to_datetime(["2024-03-01"], utc=True)})
    >>> leads = pd.DataFrame({"lead_id": ["L1"], "converted_opportunity_id": ["O1"]})
    >>> members = pd.DataFrame({"campaign_id": ["A", "B", "C"], "lead_id": ["L1"] * 3,
    ...                         "created_date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"], utc=True)})
    >>> campaign_attribution(opps, leads, members, models=["u_shaped"])
      opportunity_id campaign_id     model  touches  weight  credited_value
    0             O1           A  u_shaped        3     0.4           400.0
    1             O1           B  u_shaped        3     0.4           400.0
    2             O1           C  u_shaped        3     0.2           200.0
    """
    fn = "campaign_attribution"
    models = [models] if isinstance(models, str) else list(models)
    if not models:
        raise ValueError(f"{fn}: no model given")
    for mdl in models:
        if mdl not in MODELS:
            raise ValueError(f"{fn}: unknown model {mdl!r}; choose from {MODELS}")
    _require(
        opps,
        ["opportunity_id", "created_date", value] + (["is_closed", "is_won"] if won_only else []),
        fn,
        "opportunities",
    )
    _require(leads, ["lead_id", "converted_opportunity_id"], fn, "leads")
    member_cols = ["campaign_id", "lead_id", "created_date"] + (["has_responded"] if responded_only else [])
    _require(campaign_members, member_cols, fn, "campaign_members")
    if not opps["opportunity_id"].is_unique:
        raise ValueError(f"{fn}: opportunity_id is not unique in opportunities")
    if contacts is not None and contact_roles is not None:
        raise ValueError(
            f"{fn}: give contact_roles (the deal's people) or contacts (every contact of its account), not both"
        )
    if contacts is not None:
        _require(contacts, ["contact_id", "account_id"], fn, "contacts")
        _require(opps, ["account_id"], fn, "opportunities")
    if contact_roles is not None:
        _require(contact_roles, ["opportunity_id", "contact_id"], fn, "contact_roles")
    if won_only:
        opps = opps[(_flag(opps["is_closed"]) & _flag(opps["is_won"])).to_numpy()]
    t = _touches(opps, leads, campaign_members, responded_only, contacts, contact_roles)
    n = t.groupby("opportunity_id", sort=False)["campaign_id"].transform("size").to_numpy()
    pos = t.groupby("opportunity_id", sort=False).cumcount().to_numpy()
    parts = []
    for mdl in models:
        w = np.empty(len(t))
        for k in np.unique(n):
            sel = n == k
            w[sel] = touch_weights(k, mdl)[pos[sel]]
        parts.append(
            pd.DataFrame(
                {
                    "opportunity_id": t["opportunity_id"].to_numpy(),
                    "campaign_id": t["campaign_id"].to_numpy(),
                    "model": mdl,
                    "touches": n,
                    "weight": w,
                }
            )
        )
    none = opps.loc[~opps["opportunity_id"].isin(t["opportunity_id"]), "opportunity_id"].to_numpy()
    parts += [
        pd.DataFrame({"opportunity_id": none, "campaign_id": NO_CAMPAIGN, "model": mdl, "touches": 0, "weight": 1.0})
        for mdl in models
    ]
    long = pd.concat(parts, ignore_index=True).astype(
        {"opportunity_id": "str", "campaign_id": "str", "model": "str", "touches": "int64", "weight": "float64"}
    )
    long = long.groupby(["opportunity_id", "campaign_id", "model"], sort=False, as_index=False).agg(
        touches=("touches", "first"), weight=("weight", "sum")
    )
    long = long[(long["weight"] > 0) | (long["touches"] == 0)]  # first/last touch: drop the 0-credit touches
    vals = pd.Series(opps[value].to_numpy("float64"), index=opps["opportunity_id"].to_numpy())
    long["credited_value"] = long["weight"].to_numpy() * vals.reindex(long["opportunity_id"]).to_numpy()
    order = {m: i for i, m in enumerate(models)}
    long = long.assign(_m=long["model"].map(order)).sort_values(["_m", "opportunity_id", "campaign_id"], kind="stable")
    return long.drop(columns="_m").reset_index(drop=True)


def attribution_summary(attribution: pd.DataFrame, *, campaigns: pd.DataFrame | None = None) -> pd.DataFrame:
    """Credited opportunities and value per campaign, the models side by side.

    Parameters
    ----------
    attribution : DataFrame
        A :func:`campaign_attribution` result.
    campaigns : DataFrame, optional
        With ``campaign_id`` and optionally ``name``, ``type``, added to the rows.

    Returns
    -------
    DataFrame
        One row per campaign (``"(no campaign)"`` last): ``campaign_id``, then per model
        ``{model}_opportunities`` (sum of weights: fractional opportunities) and
        ``{model}_value`` (credited value). Each model's columns add up to the number and the
        total value of the attributed opportunities.

    Examples
    --------
    >>> att = pd.DataFrame({"opportunity_id": ["O1", "O1", "O2"], "campaign_id": ["A", "B", "(no campaign)"],
    ...                     "model": "linear", "touches": [2, 2, 0], "weight": [0.5, 0.5, 1.0],
    ...                     "credited_value": [50.0, 50.0, 10.0]})
    >>> attribution_summary(att)
         campaign_id  linear_opportunities  linear_value
    0              A                   0.5          50.0
    1              B                   0.5          50.0
    2  (no campaign)                   1.0          10.0
    """
    fn = "attribution_summary"
    _require(attribution, ["campaign_id", "model", "weight", "credited_value"], fn, "attribution")
    models = list(dict.fromkeys(attribution["model"].tolist()))
    g = (
        attribution.groupby(["campaign_id", "model"], sort=False)
        .agg(opportunities=("weight", "sum"), value=("credited_value", "sum"))
        .reset_index()
    )
    wide = g.pivot(index="campaign_id", columns="model", values=["opportunities", "value"])
    out = pd.DataFrame(index=wide.index)
    for mdl in models:
        out[f"{mdl}_opportunities"] = wide[("opportunities", mdl)].fillna(0.0)
        out[f"{mdl}_value"] = wide[("value", mdl)].fillna(0.0)
    out = out.reset_index()
    out["campaign_id"] = out["campaign_id"].astype("str")
    out = out.assign(_last=out["campaign_id"] == NO_CAMPAIGN).sort_values(["_last", "campaign_id"], kind="stable")
    out = out.drop(columns="_last").reset_index(drop=True)
    if campaigns is not None:
        _require(campaigns, ["campaign_id"], fn, "campaigns")
        info = campaigns.drop_duplicates("campaign_id")[
            ["campaign_id"] + [c for c in ("name", "type") if c in campaigns.columns]
        ]
        out = out.merge(info, on="campaign_id", how="left")
        out = out[["campaign_id"] + list(info.columns[1:]) + [c for c in out.columns if c not in info.columns]]
    out.columns.name = None
    return out
