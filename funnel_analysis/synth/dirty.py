"""Dirty data: which defects each export file receives, how often, and how they are written.

Quarantine defects are added as extra rows (copies of clean records), flag
defects are real records, clean defects only change the form of a value; the
truth of each is returned to :func:`.generate.generate_sample` for
``dirty_rows.csv``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrowtext import _STR
from .vocab import _COUNTRIES

if TYPE_CHECKING:  # annotations only: export.py imports this module
    from .export import _File
    from .sim import _Sim


# ----------------------------------------------------------------------------
# Dirty data: which defects each file receives, and how often
# ----------------------------------------------------------------------------

_EXPECTED = {
    "missing_id": "quarantine",
    "duplicate_id": "quarantine",
    "unparseable_date": "quarantine",
    "unparseable_amount": "quarantine",
    "negative_amount": "quarantine",
    "probability_out_of_range": "quarantine",
    "orphan_history": "quarantine",
    "orphan_campaign_member": "quarantine",
    "missing_amount": "flag",
    "bad_email": "flag",
    "close_before_created": "flag",
    "converted_before_created": "flag",
    "picklist_variant": "clean",
    "id15": "clean",
    "email_case": "clean",
    "phone_format": "clean",
}
#: Defects that are added as extra rows (copies of clean records), so that
#: quarantining them leaves the simulated org intact.
_EXTRA_ROW_KINDS = (
    "missing_id",
    "duplicate_id",
    "unparseable_date",
    "unparseable_amount",
    "negative_amount",
    "probability_out_of_range",
    "orphan_history",
    "orphan_campaign_member",
)

# (kind, candidate columns, share of rows -- or an int: a fixed count for the small tables)
_DIRTY_SPECS = {
    "Lead.csv": (
        ("missing_id", ("lead_id",), 0.002),
        ("duplicate_id", ("lead_id",), 0.003),
        ("unparseable_date", ("created_date",), 0.003),
        ("bad_email", ("email",), 0.004),
        ("picklist_variant", ("lead_source", "status", "industry"), 0.008),
        ("id15", ("converted_opportunity_id", "converted_account_id", "converted_contact_id", "owner_id"), 0.005),
        ("email_case", ("email",), 0.006),
        ("phone_format", ("phone",), 0.008),
    ),
    "Opportunity.csv": (
        ("missing_id", ("opportunity_id",), 0.002),
        ("duplicate_id", ("opportunity_id",), 0.003),
        ("unparseable_date", ("close_date", "created_date"), 0.003),
        ("unparseable_amount", ("amount",), 0.003),
        ("negative_amount", ("amount",), 0.003),
        ("probability_out_of_range", ("probability",), 0.003),
        ("picklist_variant", ("stage_name", "lead_source", "type", "forecast_category"), 0.01),
        ("id15", ("account_id", "owner_id", "campaign_id"), 0.006),
    ),
    "OpportunityHistory.csv": (
        ("missing_id", ("history_id",), 0.001),
        ("duplicate_id", ("history_id",), 0.002),
        ("unparseable_date", ("created_date", "close_date"), 0.002),
        ("unparseable_amount", ("amount",), 0.002),
        ("probability_out_of_range", ("probability",), 0.002),
        ("orphan_history", ("opportunity_id",), 0.003),
        ("picklist_variant", ("stage_name", "forecast_category"), 0.005),
        ("id15", ("opportunity_id", "created_by_id"), 0.005),
    ),
    "Account.csv": (
        ("missing_id", ("account_id",), 0.003),
        ("duplicate_id", ("account_id",), 0.004),
        ("unparseable_date", ("created_date",), 0.003),
        ("picklist_variant", ("industry", "type", "region"), 0.01),
        ("phone_format", ("phone",), 0.01),
        ("id15", ("owner_id",), 0.005),
    ),
    "Contact.csv": (
        ("missing_id", ("contact_id",), 0.002),
        ("duplicate_id", ("contact_id",), 0.003),
        ("unparseable_date", ("created_date",), 0.003),
        ("bad_email", ("email",), 0.005),
        ("email_case", ("email",), 0.006),
        ("phone_format", ("phone",), 0.008),
        ("picklist_variant", ("lead_source",), 0.006),
        ("id15", ("account_id", "owner_id"), 0.006),
    ),
    "Task.csv": (
        ("missing_id", ("activity_id",), 0.001),
        ("duplicate_id", ("activity_id",), 0.002),
        ("unparseable_date", ("activity_date",), 0.002),
        ("picklist_variant", ("status", "type", "priority"), 0.006),
        ("id15", ("who_id", "what_id"), 0.005),
    ),
    "Event.csv": (
        ("missing_id", ("activity_id",), 0.002),
        ("duplicate_id", ("activity_id",), 0.002),
        ("unparseable_date", ("activity_date",), 0.003),
        ("picklist_variant", ("type",), 0.006),
        ("id15", ("who_id", "what_id"), 0.005),
    ),
    "Campaign.csv": (
        ("duplicate_id", ("campaign_id",), 1),
        ("unparseable_date", ("start_date", "end_date"), 1),
        ("picklist_variant", ("type", "status"), 2),
    ),
    "CampaignMember.csv": (
        ("missing_id", ("campaign_member_id",), 0.001),
        ("duplicate_id", ("campaign_member_id",), 0.002),
        ("orphan_campaign_member", ("campaign_id",), 0.003),
        ("unparseable_date", ("created_date", "first_responded_date"), 0.002),
        ("picklist_variant", ("status",), 0.006),
        ("id15", ("campaign_id", "lead_id", "contact_id"), 0.005),
    ),
    "User.csv": (
        ("bad_email", ("email",), 1),
        ("email_case", ("email",), 1),
        ("picklist_variant", ("role", "region"), 1),
    ),
}


# ----------------------------------------------------------------------------
# Dirty data injection
# ----------------------------------------------------------------------------


def _normalise_picklist(value: str) -> str:
    return " ".join(value.split()).casefold()


def _picklist_variant(value: str, style: int) -> str:
    variants = (
        value.lower(),
        value.upper(),
        " " + value,
        value + " ",
        value.replace(" ", "  ", 1),
        " " + value.lower() + " ",
        value.upper() + " ",
    )
    out = variants[style % len(variants)]
    if out == value:
        out = value.lower() + "  " if value.lower() != value else " " + value + " "
    assert _normalise_picklist(out) == _normalise_picklist(value)
    return out


def _bad_date(value: str, style: int, is_datetime: bool) -> str:
    year = value[:4] if value and value[:4].isdigit() else "2024"
    time_part = "T10:15:00.000+0000" if is_datetime else ""
    options = (f"{year}-02-30{time_part}", f"31/31/{year}", "not a date", f"{year}-04-31{time_part}", f"{year}-02-31")
    return options[style % len(options)]


def _bad_amount(value: str, style: int) -> str:
    options = ("12,5k", "ca. 30000", "30k EUR", "1.2.3", "TBD")
    return options[style % len(options)]


def _bad_email(value: str, style: int) -> str:
    local, _, domain = value.partition("@")
    options = (f"{local}@@{domain}", f"{local}.{domain}", f"{local} at {domain}", f"@{domain}", f"{local}@")
    return options[style % len(options)]


def _email_case(value: str, style: int) -> str:
    options = (value.upper(), " " + value, value[:1].upper() + value[1:] + " ", value.title(), "  " + value.upper())
    out = options[style % len(options)]
    return out if out != value else value.upper() + " "


# How each country writes numbers at home: trunk prefix, and whether "00" is its international prefix
_PHONE_STYLE = {
    "US": ("", False),
    "CA": ("", False),
    "GB": ("0", True),
    "DE": ("0", True),
    "FR": ("0", True),
    "NL": ("0", True),
    "CN": ("0", True),
    "JP": ("0", False),
    "AU": ("0", False),
    "SG": ("", False),
    "IN": ("0", True),
    "BR": ("", False),
    "MX": ("", True),
}


def _phone_format(value: str, iso: str, style: int) -> str:
    """The same E.164 number written the way people do at home (parseable with the row's country).

    Plain string templates (the tests check every one with ``phonenumbers``):
    a per-row ``phonenumbers`` round trip cost seconds at scale 50.
    """
    country = next(c for c in _COUNTRIES if c[1] == iso)
    cc = country[6]
    nsn = value[1 + len(cc) :]
    area = max((c[1] for c in country[7] if nsn.startswith(c[1])), key=len)
    sub = nsn[len(area) :]
    trunk, idd00 = _PHONE_STYLE[iso]
    if cc == "1":
        options = (
            f"({area}) {sub[:3]}-{sub[3:]}",
            f"{area}.{sub[:3]}.{sub[3:]}",
            f"1-{area}-{sub[:3]}-{sub[3:]}",
            f"+1 {area}-{sub[:3]}-{sub[3:]}",
            f"{area}-{sub[:3]}-{sub[3:]}",
        )
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
    return None  # orphans: a fresh Id of the referenced object, filled in later


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
    extras: list[tuple[int, str, str, object]] = []  # (source row, kind, column, value)

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
        orphans = {
            kind: iter(sim.new_ids(obj, n_k).to_pylist())
            for kind, obj in targets.items()
            if (n_k := sum(e[1] == kind for e in extras))
        }
        extra_keys = copy[f.key].to_pylist()
        changes: dict[str, dict[int, str]] = {}
        for j, (_r, kind, col, value) in enumerate(extras):
            if kind == "missing_id":
                extra_keys[j] = None
            elif kind == "duplicate_id":
                pass
            else:
                extra_keys[j] = fresh[j]
                if kind in targets:  # an Id of the right object that no record has
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
        after = rng.integers(src, n)  # inserted after this original row
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
    f.final_pos = final_pos
    # record ids: from the pre-interleave columns (indexing a many-chunk column is slow)
    in_place_rows = [d[0] for d in defects if d[0] < n]
    ids_in_place = dict(zip(in_place_rows, key_vals_orig.take(pa.array(in_place_rows, pa.int64())).to_pylist()))
    out = []
    for row, col, kind, written, clean in defects:
        rid = ids_in_place[row] if row < n else extra_keys[row - n]
        out.append(
            dict(
                table=f.table,
                file=f.name,
                row=int(final_pos[row]),
                record_id=rid or "",
                column=col,
                kind=kind,
                expected=_EXPECTED[kind],
                written_value=written or "",
                clean_value=clean,
            )
        )
    return out
