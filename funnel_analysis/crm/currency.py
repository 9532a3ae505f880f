"""Money in the corporate currency, by Salesforce's rules.

A multi-currency org stores every money field in the record's own currency (``CurrencyIsoCode``) and
keeps its rates in ``CurrencyType`` (one static rate per currency) and, with advanced currency
management, ``DatedConversionRate`` (a rate per date range). A rate is the number of units of that
currency per one unit of the corporate currency, so a corporate amount is ``amount / rate``.

The rules :func:`convert_money` applies (those of Salesforce's ``convertCurrency()``):

- opportunities and their history convert at the **dated** rate of the row's own close date
  (``StartDate <= CloseDate < NextStartDate``); a history row converts by the close date it records,
  so an as-of cut values a deal as Salesforce valued it that day. Without a dated rate for that
  currency and date (no advanced currency management, or a date before the first range), the static
  rate applies;
- every other money field (annual revenue, campaign costs) converts at the **static** rate;
- a custom currency field (its describe type ``currency``, passed as ``columns``) converts like the
  table's own money fields;
- a record without a currency code is in the corporate currency (single-currency exports);
- a record whose currency has no rate is never summed raw: its money becomes missing, the row is
  flagged (``currency_without_rate``) and counted;
- the original value stays in ``<column>_original``, the rate used in ``conversion_rate``.

Rates are kept at full precision and converted values are not rounded, so sums are exact to the cent
against any independent ``amount / rate`` computation. A single-currency org (no ``CurrencyType`` and
at most one currency code in the data) is left exactly as it was: no column changes, none is added.

Examples
--------
>>> import pandas as pd
>>> rates = pd.DataFrame({"iso_code": ["USD", "EUR"], "conversion_rate": [1.0, 0.8], "is_corporate": [True, False]})
>>> opps = pd.DataFrame({"amount": [100.0, 80.0], "currency_iso_code": ["USD", "EUR"],
...                      "close_date": pd.to_datetime(["2024-01-05", "2024-01-05"])})
>>> book = currency_book(rates, None, codes=["USD", "EUR"])
>>> book.corporate
'USD'
>>> convert_money(opps, "opportunities", book=book).converted["amount"].tolist()
[100.0, 100.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .schema import DATED_RATE_TABLES, MONEY_COLUMNS

__all__ = ["CurrencyBook", "ConvertedMoney", "currency_book", "convert_money", "FALLBACK_CURRENCY"]

#: The corporate currency assumed when the data names none (noted in the data-quality report).
FALLBACK_CURRENCY = "USD"


@dataclass(frozen=True)
class CurrencyBook:
    """The org's corporate currency and its rates.

    Attributes
    ----------
    corporate : str
        The corporate currency's ISO code.
    source : str
        Where it came from: ``"CurrencyType"`` (IsCorporate), ``"records"`` (the one code the records
        use), or ``"assumed"`` (:data:`FALLBACK_CURRENCY`, the data names none).
    static : Mapping of str to float
        ISO code -> static rate (units per corporate unit); the corporate currency is 1.
    dated : DataFrame
        ``iso_code, conversion_rate, start_date, next_start_date`` (dates, end exclusive; a missing
        end is open), sorted; empty without advanced currency management.
    multi : bool
        Whether money converts at all: False for a single-currency org, which is left unchanged.
    """

    corporate: str
    source: str
    static: dict = field(default_factory=dict)
    dated: pd.DataFrame = field(default_factory=pd.DataFrame)
    multi: bool = False

    def to_dict(self) -> dict:
        """The JSON-safe summary the data-quality report keeps.

        Returns
        -------
        dict
            ``corporate``, ``source``, ``currencies`` (codes with a static rate) and ``dated_rates``
            (whether dated rates exist).
        """
        return {
            "corporate": self.corporate,
            "source": self.source,
            "currencies": sorted(self.static),
            "dated_rates": bool(len(self.dated)),
        }


@dataclass(frozen=True)
class ConvertedMoney:
    """One table's money in the corporate currency.

    Attributes
    ----------
    converted : DataFrame
        A copy of the table with its money columns in the corporate currency, the originals in
        ``<column>_original`` and the rate in ``conversion_rate`` (the table itself, unchanged, for a
        single-currency org).
    without_rate : ndarray of bool
        The rows whose currency has no rate (their money is missing).
    codes : ndarray of object
        The row's currency code as used (upper-case; the corporate one where the record had none).
    """

    converted: pd.DataFrame
    without_rate: np.ndarray
    codes: np.ndarray


def _codes(series: pd.Series | None, n: int, corporate: str) -> np.ndarray:
    if series is None:
        return np.full(n, corporate, dtype=object)
    text = series.astype("str").str.strip().str.upper()
    return text.where(series.notna() & (text != ""), corporate).to_numpy(dtype=object)


def currency_book(currencies: pd.DataFrame | None, dated_rates: pd.DataFrame | None, *, codes) -> CurrencyBook:
    """The corporate currency and the rates, from the ``currencies`` and ``dated_rates`` tables.

    Parameters
    ----------
    currencies : DataFrame or None
        ``CurrencyType`` rows (``iso_code``, ``conversion_rate``, ``is_corporate``), or None.
    dated_rates : DataFrame or None
        ``DatedConversionRate`` rows (``iso_code``, ``conversion_rate``, ``start_date``,
        ``next_start_date``), or None.
    codes : iterable of str
        The currency codes the records use (missing values ignored).

    Returns
    -------
    CurrencyBook
        ``multi`` is False when there is no ``CurrencyType`` and at most one code is used.

    Raises
    ------
    ValueError
        When ``CurrencyType`` marks more than one currency as corporate.

    Examples
    --------
    >>> currency_book(None, None, codes=["EUR", "EUR"]).corporate
    'EUR'
    >>> currency_book(None, None, codes=[]).source
    'assumed'
    """
    used = sorted({str(c).strip().upper() for c in codes if isinstance(c, str) and c.strip()})
    has_types = currencies is not None and len(currencies) > 0
    static: dict[str, float] = {}
    if has_types:
        cur = currencies.assign(iso_code=currencies["iso_code"].astype("str").str.strip().str.upper())
        flag = cur["is_corporate"] if "is_corporate" in cur else pd.Series(False, index=cur.index)
        corp = cur.loc[flag.fillna(False).astype(bool), "iso_code"].unique().tolist()
        if len(corp) > 1:
            raise ValueError(f"CurrencyType marks {len(corp)} currencies as corporate ({', '.join(corp)}); one is")
        rate = pd.to_numeric(cur["conversion_rate"], errors="coerce")
        ok = rate.notna() & (rate > 0)
        static = dict(zip(cur.loc[ok, "iso_code"], rate[ok].astype(float)))
        if corp:
            corporate, source = corp[0], "CurrencyType"
        else:  # no IsCorporate column: the currency at rate 1
            ones = [c for c, r in static.items() if r == 1.0]
            corporate, source = (ones[0], "CurrencyType") if len(ones) == 1 else (FALLBACK_CURRENCY, "assumed")
    elif len(used) == 1:
        corporate, source = used[0], "records"
    else:
        corporate, source = FALLBACK_CURRENCY, "assumed"
    static[corporate] = 1.0
    dated = pd.DataFrame(columns=["iso_code", "conversion_rate", "start_date", "next_start_date"])
    if dated_rates is not None and len(dated_rates):
        d = dated_rates.assign(
            iso_code=dated_rates["iso_code"].astype("str").str.strip().str.upper(),
            conversion_rate=pd.to_numeric(dated_rates["conversion_rate"], errors="coerce"),
        )
        d = d[d["conversion_rate"].notna() & (d["conversion_rate"] > 0) & d["start_date"].notna()]
        if "next_start_date" not in d:
            d = d.assign(next_start_date=pd.NaT)
        dated = d[["iso_code", "conversion_rate", "start_date", "next_start_date"]].sort_values(
            ["iso_code", "start_date"], kind="stable"
        )
        dated = dated.reset_index(drop=True)
    multi = has_types or len(used) > 1 or len(dated) > 0
    return CurrencyBook(corporate=corporate, source=source, static=static, dated=dated, multi=multi)


def _dated_rate(book: CurrencyBook, codes: np.ndarray, when: pd.Series) -> np.ndarray:
    """The dated rate of each row's code on its date (NaN where no range covers it)."""
    out = np.full(len(codes), np.nan)
    if not len(book.dated):
        return out
    day = pd.to_datetime(when).dt.tz_localize(None) if getattr(when.dt, "tz", None) else pd.to_datetime(when)
    day = day.dt.normalize()
    for code, ranges in book.dated.groupby("iso_code", sort=False):
        rows = np.flatnonzero((codes == code) & day.notna().to_numpy())
        if not len(rows):
            continue
        start = ranges["start_date"].to_numpy(dtype="datetime64[us]")
        end = ranges["next_start_date"].to_numpy(dtype="datetime64[us]")
        t = day.to_numpy(dtype="datetime64[us]")[rows]
        i = np.searchsorted(start, t, side="right") - 1  # the last range starting on or before the day
        inside = i >= 0
        ii = np.where(inside, i, 0)
        inside &= np.isnat(end[ii]) | (t < end[ii])
        out[rows[inside]] = ranges["conversion_rate"].to_numpy(dtype=float)[ii[inside]]
    return out


def convert_money(table: pd.DataFrame, name: str, *, book: CurrencyBook, columns=()) -> ConvertedMoney:
    """``table``'s money columns in the corporate currency (see the module notes for the rules).

    Parameters
    ----------
    table : DataFrame
        A typed table of the org; not modified.
    name : str
        Its canonical name (``"opportunities"``): which columns are money, whether dated rates apply.
    book : CurrencyBook
        The corporate currency and the rates (:func:`currency_book`).
    columns : sequence of str, default ()
        More money columns than the schema's (``MONEY_COLUMNS``): the table's currency fields the
        schema does not know, as their describe types say; they convert at the same rate.

    Returns
    -------
    ConvertedMoney
        The converted copy, the rows without a rate, and each row's currency code.

    Notes
    -----
    A ``name`` that is not a table of the schema has no money columns of its own: only ``columns``
    convert.
    """
    money = [c for c in dict.fromkeys([*MONEY_COLUMNS.get(name, ()), *columns]) if c in table.columns]
    n = len(table)
    codes = _codes(table["currency_iso_code"] if "currency_iso_code" in table else None, n, book.corporate)
    if not book.multi or not money:
        return ConvertedMoney(table, np.zeros(n, dtype=bool), codes)
    rate = pd.Series(codes, dtype=object).map(book.static).to_numpy(dtype=float)
    if name in DATED_RATE_TABLES and "close_date" in table:
        dated = _dated_rate(book, codes, table["close_date"])
        rate = np.where(np.isnan(dated), rate, dated)
    rate = np.where(codes == book.corporate, 1.0, rate)
    without = np.isnan(rate)
    out = table.copy()
    for col in money:
        original = pd.to_numeric(table[col], errors="coerce").astype("float64")
        out[f"{col}_original"] = original
        out[col] = original.to_numpy() / rate
    out["currency_iso_code"] = codes
    out["conversion_rate"] = rate
    # a row with no rate has nothing to flag when it carries no money at all
    has_money = np.zeros(n, dtype=bool)
    for col in money:
        has_money |= table[col].notna().to_numpy()
    return ConvertedMoney(out, without & has_money, codes)
