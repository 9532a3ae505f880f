"""The expression grammar of crm/expression: parsing, names, masks, DuckDB and SQL, hostile input.

Every expected mask below is worked out by hand from the fixture (the comments say which rows); the
property tests compare the pandas mask with an evaluator over plain Python rows written here, and with
DuckDB running the SQL text with bound parameters on the same frames.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel_analysis.crm.expression import (
    MAX_DEPTH,
    And,
    ColumnRef,
    Compare,
    Constant,
    Expression,
    ExpressionError,
    InList,
    IsNull,
    Not,
    Or,
    SqlFilter,
    check_expression,
    expression_mask,
    owner_records,
    parse_expression,
    quote_identifier,
    to_duckdb_expression,
    to_sql,
)

UTC = dt.UTC

# --------------------------------------------------------------------------------------------------
# the fixture: five opportunities (index 10..50), three accounts, three users, two leads
#   o1 a1/u1 "Edge deal"   Closed Won   1000   close 2024-03-15  created 2024-01-10 10:00Z  won  prio T
#   o2 a2/u2 "O'Brien"     Prospecting   500   close 2024-06-30  created 2024-01-31 23:30Z       prio NA
#   o3 a3/u3 'Say "hi"'    Negotiation   NaN   close 2024-01-31  created 2024-02-01 00:00Z       prio F
#   o4 --/u1 "Orphan"      Closed Lost    -5   close NaT         created 2024-01-31 00:00Z       prio T
#   o5 a9/-- "Big"         Prospecting 20000   close 2024-12-31  created 2023-12-31 23:59:59Z    prio NA
# a9 does not exist (dangling reference); o4 has no account, o5 no owner.


def _frames() -> dict[str, pd.DataFrame]:
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3", "o4", "o5"],
            "account_id": ["a1", "a2", "a3", None, "a9"],
            "owner_id": ["u1", "u2", "u3", "u1", None],
            "name": ["Edge deal", "O'Brien", 'Say "hi"', "Orphan", "Big"],
            "stage_name": ["Closed Won", "Prospecting", "Negotiation", "Closed Lost", "Prospecting"],
            "amount": [1000.0, 500.0, np.nan, -5.0, 20000.0],
            "close_date": pd.to_datetime(["2024-03-15", "2024-06-30", "2024-01-31", None, "2024-12-31"]).astype(
                "datetime64[us]"
            ),
            "created_date": pd.to_datetime(
                [
                    "2024-01-10T10:00:00Z",
                    "2024-01-31T23:30:00Z",
                    "2024-02-01T00:00:00Z",
                    "2024-01-31T00:00:00Z",
                    "2023-12-31T23:59:59Z",
                ],
                utc=True,
            ),
            "is_won": [True, False, False, False, False],
            "is_priority": pd.array([True, None, False, True, None], dtype="boolean"),
            "seats": pd.array([3, None, 10, 0, 250], dtype="Int64"),
            "lead_source": ["Web", "Partner", None, "Web", "Partner"],
            "notes": np.array(["call back", None, "back\\slash", "", "x"], dtype=object),
        },
        index=[10, 20, 30, 40, 50],
    )
    accounts = pd.DataFrame(
        {
            "account_id": ["a1", "a2", "a3"],
            "name": ["Edge", "Burlington", "O'Brien Ltd"],
            "region": ["EMEA", "AMER", None],
            "annual_revenue": [100.0, np.nan, 50.0],
        }
    )
    users = pd.DataFrame(
        {
            "owner_id": ["u1", "u2", "u3"],
            "name": ["Ann", "Bob", "Cy"],
            "region": ["EMEA", "APAC", None],
            "role": ["AE", "SDR", "Manager"],
        }
    )
    leads = pd.DataFrame({"lead_id": ["l1", "l2"], "owner_id": ["u2", "u9"], "status": ["Open", "Working"]})
    return {"opportunities": opportunities, "accounts": accounts, "users": users, "leads": leads}


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    return _frames()


def mask(tables, where, table="opportunities") -> list[bool]:
    m = expression_mask(tables, table, where=where)
    assert m.dtype == bool and m.index.equals(tables[table].index)
    return m.tolist()


def rows(*picked: int) -> list[bool]:
    """The mask that selects opportunities o<picked>."""
    return [i in picked for i in range(1, 6)]


# --------------------------------------------------------------------------------------------------
# parsing


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("amount>=10000", "amount >= 10000"),
        ("amount = 5", "amount == 5"),
        ("amount <> 5", "amount != 5"),
        ("a == 1 AND b == 2 Or NOT c == 3", "a == 1 and b == 2 or not c == 3"),
        ("(a == 1 or b == 2) and c == 3", "(a == 1 or b == 2) and c == 3"),
        ("a == 1 or (b == 2 and c == 3)", "a == 1 or b == 2 and c == 3"),
        ("not (a == 1 or b == 2)", "not (a == 1 or b == 2)"),
        ("not not a == 1", "not not a == 1"),
        ("((a == 1))", "a == 1"),
        ("x in ( 'a' ,\"b\" )", "x in ('a', 'b')"),
        ("x NOT IN (1, -2.5)", "x not in (1, -2.5)"),
        ("x is NULL", "x is null"),
        ("x IS NOT null", "x is not null"),
        ("flag == TRUE", "flag == true"),
        ("d >= DATE '2024-01-31'", "d >= date '2024-01-31'"),
        ("name == 'O''Brien'", 'name == "O\'Brien"'),
        ('name == "O\'Brien"', 'name == "O\'Brien"'),
        ("name == 'say \"hi\"'", "name == 'say \"hi\"'"),
        ("name == 'both '' and \"'", "name == 'both '' and \"'"),
        ("name == 'back\\slash'", "name == 'back\\slash'"),
        ("amount < -1.5e3", "amount < -1500.0"),
        ("5 < amount", "5 < amount"),
        ("account.region == owner.region", "account.region == owner.region"),
        ("date == 'x'", "date == 'x'"),  # 'date' is a column name unless a quoted string follows
        ("order_no == 1 and android == 2", "order_no == 1 and android == 2"),  # keywords are whole words
    ],
)
def test_canonical_text(text, canonical):
    expr = parse_expression(text)
    assert str(expr) == canonical == expr.to_text()
    assert parse_expression(canonical) == expr


def test_precedence_and_tree():
    expr = parse_expression("a == 1 or b == 2 and not c == 3")
    assert expr == Or(
        (
            Compare(ColumnRef("a"), "==", Constant(1)),
            And((Compare(ColumnRef("b"), "==", Constant(2)), Not(Compare(ColumnRef("c"), "==", Constant(3))))),
        )
    )
    # chains are flat; parentheses keep their own node
    assert parse_expression("a == 1 and b == 2 and c == 3") == And(
        tuple(Compare(ColumnRef(n), "==", Constant(v)) for n, v in (("a", 1), ("b", 2), ("c", 3)))
    )
    assert isinstance(parse_expression("(a == 1 and b == 2) and c == 3").items[0], And)
    # `not` binds looser than a comparison, tighter than `and`
    assert parse_expression("not a == 1 and b == 2") == And(
        (Not(Compare(ColumnRef("a"), "==", Constant(1))), Compare(ColumnRef("b"), "==", Constant(2)))
    )
    # `x not in` and `not x in` are different trees, with the same meaning
    assert parse_expression("x not in (1)") == InList(ColumnRef("x"), (Constant(1),), negated=True)
    assert parse_expression("not x in (1)") == Not(InList(ColumnRef("x"), (Constant(1),)))


def test_literals():
    def value(text):
        return parse_expression(f"x == {text}").right.value

    assert value("-5") == -5 and type(value("-5")) is int
    assert value("0.25") == 0.25 and type(value("2.0")) is float
    assert value("1e3") == 1000.0
    assert value("true") is True and value("False") is False
    assert value("date '2024-02-29'") == dt.date(2024, 2, 29)
    assert value("'O''Brien'") == value('"O\'Brien"') == "O'Brien"
    assert value("'a\\nb'") == "a\\nb"  # no backslash escapes
    assert value("''") == ""
    # constants compare with their type: 1, 1.0 and true are different trees
    assert Constant(1) != Constant(1.0) and Constant(1) != Constant(True)
    assert len({Constant(1), Constant(1.0), Constant(True)}) == 3


def test_columns_and_relations():
    expr = parse_expression("owner.region == 'EMEA' and (amount > 1 or account.region in ('X') or amount < 0)")
    assert expr.columns == ("owner.region", "amount", "account.region")
    assert expr.relations == ("owner", "account")
    assert parse_expression("x is null").columns == ("x",)


def test_positions_are_kept_but_not_compared():
    a, b = parse_expression("amount == 1"), parse_expression("   amount   ==   1")
    assert a == b and hash(a) == hash(b)
    assert a.left.position == 1 and b.left.position == 4 and b.right.position == 18


def test_parse_error_names_position_and_expectation():
    with pytest.raises(ExpressionError) as info:
        parse_expression("amount >= ")
    e = info.value
    assert e.position == 11 and "unexpected end of the text at position 11" in str(e)
    assert "a number" in str(e) and "a column name" in str(e)
    assert str(e).startswith("where: ")
    with pytest.raises(ExpressionError, match=r"^criteria: unexpected '\)' at position 13") as info:
        parse_expression("amount == 1 )", label="criteria")
    assert str(info.value).splitlines()[1:] == ["    amount == 1 )", "                ^"]


# --------------------------------------------------------------------------------------------------
# masks on the fixture, by hand


@pytest.mark.parametrize(
    "where, picked",
    [
        ("amount > 100", (1, 2, 5)),  # o3 has no amount: unknown, not selected
        ("not amount > 100", (4,)),  # and not of unknown is still not selected
        ("amount < -1", (4,)),
        ("amount == 1000.0 or amount == 500", (1, 2)),
        ("-10 < amount", (1, 2, 4, 5)),
        ("amount > 100 or lead_source is null", (1, 2, 3, 5)),  # unknown or true is true
        ("amount > 100 and lead_source is null", ()),
        ('name == "O\'Brien"', (2,)),
        ("name == 'O''Brien'", (2,)),
        ("name == 'Say \"hi\"'", (3,)),
        ("notes == 'back\\slash'", (3,)),
        ("notes == ''", (4,)),
        ("notes != ''", (1, 3, 5)),
        ("name < 'F'", (1, 5)),  # "Big", "Edge deal"
        ("lead_source is null", (3,)),
        ("lead_source is not null", (1, 2, 4, 5)),
        ("stage_name in ('Closed Won', 'Closed Lost')", (1, 4)),
        ("stage_name not in ('Closed Won', 'Closed Lost')", (2, 3, 5)),
        ("lead_source not in ('Web')", (2, 5)),  # o3's null is not "not in"
        ("is_won == true", (1,)),
        ("is_won != true", (2, 3, 4, 5)),
        ("is_priority == true", (1, 4)),
        ("not is_priority == true", (3,)),
        ("is_priority is null", (2, 5)),
        ("seats >= 10", (3, 5)),
        ("seats in (0, 3)", (1, 4)),
        ("stage_name == 'Prospecting' or amount > 900 and is_won == true", (1, 2, 5)),
        ("(stage_name == 'Prospecting' or amount > 900) and is_won == true", (1,)),
        ("not stage_name == 'Prospecting' and amount > 0", (1,)),
        ("not (stage_name == 'Prospecting' or amount < 0)", (1,)),  # o3: not (false or unknown)
    ],
)
def test_mask(tables, where, picked):
    assert mask(tables, where) == rows(*picked)


@pytest.mark.parametrize(
    "where, picked",
    [
        ("close_date == date '2024-01-31'", (3,)),
        ("close_date == '2024-01-31'", (3,)),  # an ISO string compared with a date column is that date
        ("close_date >= '2024-06-30'", (2, 5)),
        ("close_date is null", (4,)),
        ("close_date in (date '2024-03-15', date '2024-12-31')", (1, 5)),
        # a date compares with the UTC day of a timestamp
        ("created_date <= date '2024-01-31'", (1, 2, 4, 5)),
        ("created_date < date '2024-01-31'", (1, 5)),
        ("created_date == date '2024-01-31'", (2, 4)),
        ("created_date > '2024-01-31'", (3,)),
        ("created_date not in ('2024-01-31')", (1, 3, 5)),
        # two date columns compare as instants (date-only is midnight UTC)
        ("close_date < created_date", (3,)),
    ],
)
def test_mask_dates(tables, where, picked):
    assert mask(tables, where) == rows(*picked)


@pytest.mark.parametrize(
    "where, picked",
    [
        ("account.region == 'EMEA'", (1,)),
        ("account.region is null", (3, 4, 5)),  # a3 has no region, o4 no account, o5 a dangling one
        ("account.region is not null", (1, 2)),
        ("owner.region == 'APAC'", (2,)),
        ("owner.role in ('AE', 'Manager')", (1, 3, 4)),
        ('account.name == "O\'Brien Ltd"', (3,)),
        ("account.annual_revenue > 60", (1,)),
        ("owner.region == account.region", (1,)),
        ("owner.region == 'EMEA' and amount >= 1000", (1,)),
        ("not account.region == 'EMEA'", (2,)),
    ],
)
def test_mask_paths(tables, where, picked):
    assert mask(tables, where) == rows(*picked)


def test_mask_on_leads_through_owner(tables):
    assert mask(tables, "owner.region == 'APAC'", "leads") == [True, False]
    assert mask(tables, "owner.region is null", "leads") == [False, True]  # u9 does not exist


def test_mask_none_or_blank_selects_all(tables):
    for where in (None, "", "   "):
        assert mask(tables, where) == [True] * 5


def test_mask_accepts_a_tree_and_leaves_frames_alone(tables):
    before = {k: v.copy() for k, v in tables.items()}
    expr = check_expression("account.region == 'EMEA' or close_date == '2024-01-31'", tables, "opportunities")
    assert mask(tables, expr) == rows(1, 3)
    for k, v in before.items():
        pd.testing.assert_frame_equal(tables[k], v)


def test_mask_types_of_columns():
    """Arrow strings, object strings, pandas nullable numbers and booleans, categoricals, tz-aware stamps."""
    frame = pd.DataFrame(
        {
            "arrow": pd.array(["a", None, "c"], dtype=pd.ArrowDtype(pa.string())),
            "text": pd.Series(["a", None, "c"], dtype=object),
            "cat": pd.Categorical(["a", None, "c"]),
            "f": pd.array([1.5, None, 3.0], dtype="Float64"),
            "b": pd.Series([True, None, False], dtype=object),
            "when": pd.to_datetime(["2024-01-01T23:00:00+01:00", None, "2024-01-02T00:30:00-01:00"], utc=True),
            "iso": ["2024-01-01T22:00:00Z", "garbage", "2024-01-02"],
        }
    )
    t = {"things": frame}
    for col in ("arrow", "text", "cat"):
        assert mask(t, f"{col} in ('a', 'c')", "things") == [True, False, True]
        assert mask(t, f"{col} != 'a'", "things") == [False, False, True]
    assert mask(t, "f > 2", "things") == [False, False, True]
    assert mask(t, "b == true", "things") == [True, False, False]
    # 2024-01-01T23:00+01:00 is 22:00 UTC on Jan 1; 2024-01-02T00:30-01:00 is 01:30 UTC on Jan 2
    assert mask(t, "when == date '2024-01-01'", "things") == [True, False, False]
    assert mask(t, "when == date '2024-01-02'", "things") == [False, False, True]
    # a text column holding ISO stamps compares by their UTC day; what is not a date is null
    assert mask(t, "iso == date '2024-01-02'", "things") == [False, False, True]
    assert mask(t, "not iso == date '2024-01-02'", "things") == [True, False, False]


# --------------------------------------------------------------------------------------------------
# names and types


@pytest.mark.parametrize(
    "where, message",
    [
        ("regon == 'x'", r"unknown column 'regon' on opportunities at position 1; did you mean account\.region"),
        ("region == 'EMEA'", r"unknown column 'region' on opportunities .*write account\.region or owner\.region"),
        ("amount > 1 and acount.region == 'x'", r"unknown relation 'acount' on opportunities at position 16 "),
        ("account.regon == 'x'", r"unknown field 'regon' of account \(accounts\) at position 1; did you mean"),
        ("owner.stage_name == 'x'", r"unknown field 'stage_name' of owner \(users\)"),
        ("amount == 'x'", r"cannot compare amount \(a number\) with 'x' \(text\) at position 11"),
        ("name == 5", r"cannot compare name \(text\) with 5 \(a number\)"),
        ("is_won == 1", r"cannot compare is_won \(true/false\) with 1 \(a number\)"),
        ("close_date == 'soon'", r"close_date is a date; 'soon' is not a date at position 15"),
        ("close_date == '2024-01-31T10:00'", r"is not a date"),
        ("close_date == '2024-02-30'", r"'2024-02-30' is not a date"),
        ("amount == name", r"cannot compare amount \(a number\) with name \(text\)"),
        ("stage_name in ('a', 1)", r"cannot compare stage_name \(text\) with 1"),
        ("stage_name in ('a', date '2024-01-01')", r"the list of stage_name mixes text and a date at position 21"),
    ],
)
def test_check_errors(tables, where, message):
    with pytest.raises(ExpressionError, match=message):
        check_expression(where, tables, "opportunities")


def test_check_error_lists_known_names(tables):
    with pytest.raises(ExpressionError) as info:
        check_expression("acount.region == 'x'", tables, "opportunities")
    assert "(relations: account, owner, campaign;" in str(info.value)
    with pytest.raises(ExpressionError) as info:
        check_expression("zzz == 1", tables, "opportunities")
    assert "(known: opportunity_id, account_id, owner_id, name," in str(info.value)


def test_check_against_the_schema_without_data():
    expr = check_expression("owner.role == 'AE' and close_date >= '2024-01-01'", None, "opportunities")
    assert str(expr) == "owner.role == 'AE' and close_date >= date '2024-01-01'"
    assert str(check_expression("owner.region == 'EMEA'", None, "leads")) == "owner.region == 'EMEA'"
    # leads reach accounts through converted_account_id, not account_id
    with pytest.raises(ExpressionError, match=r"relations: owner, converted_opportunity, converted_account"):
        check_expression("account.region == 'EMEA'", None, "leads")
    assert check_expression("converted_account.region == 'EMEA'", None, "leads").relations == ("converted_account",)
    with pytest.raises(ExpressionError, match=r"unknown table 'opportunity'"):
        check_expression("amount > 1", None, "opportunity")


def test_check_related_table_must_be_loaded(tables):
    del tables["accounts"]
    with pytest.raises(ExpressionError, match=r"'account.region' cannot be resolved: the accounts table is not loaded"):
        expression_mask(tables, "opportunities", where="account.region == 'EMEA'")
    assert mask(tables, "owner.region == 'EMEA'") == rows(1, 4)


def test_mask_refuses_repeated_keys_of_a_related_table(tables):
    tables["accounts"] = pd.concat([tables["accounts"], tables["accounts"].iloc[[0]]])
    with pytest.raises(ExpressionError, match=r"'account.region' needs one accounts row per account_id.*'a1'"):
        expression_mask(tables, "opportunities", where="account.region == 'EMEA'")
    # what does not go through accounts still works
    assert mask(tables, "owner.region == 'EMEA'") == rows(1, 4)


def test_mask_unknown_table(tables):
    with pytest.raises(ExpressionError, match=r"no table 'deals' in the data"):
        expression_mask(tables, "deals", where="amount > 1")
    with pytest.raises(ExpressionError, match=r"no table 'deals' in the data"):
        expression_mask(tables, "deals", where=None)


# --------------------------------------------------------------------------------------------------
# hostile input


HOSTILE = [
    "__import__('os').system('touch {marker}')",
    "amount; DROP TABLE x",
    "amount == 1 or 1=1 --",
    "amount == 1; import os",
    "a.__class__",
    "name.__class__.__mro__",
    "x[0]",
    "lambda: 1",
    "open('{marker}')",
    "open('{marker}', 'w').write('x')",
    "`touch {marker}`",
    "@var",
    "amount == @var",
    "amount == 1 )",
    "name == 'unterminated",
    'name == "unterminated',
    "(" * 10_000 + "amount == 1" + ")" * 10_000,
    "not " * 10_000 + "amount == 1",
    "amount == 1 and " * 5 + "(" * 200,
    "exec('import os')",
    "amount.__add__(1) == 2",
    "amount if True else 1",
    "{{'a': 1}}",
    "amount == {marker}",
    "$(touch {marker})",
    "amount == 1\x00",
    "'a' == 'a'",
    "1 == 1",
    "amount == null",
    "x in (select 1)",
    "account.owner.region == 'EMEA'",
    "f'{{amount}}' == 'x'",
    "amount == 99999999999999999999999",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_refused(tables, tmp_path, monkeypatch, text):
    monkeypatch.chdir(tmp_path)
    text = text.format(marker=tmp_path / "pwned")
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert "position" in str(info.value) or "nested" in str(info.value)
    for call in (
        lambda: check_expression(text, tables, "opportunities"),
        lambda: check_expression(text, None, "opportunities"),
        lambda: expression_mask(tables, "opportunities", where=text),
        lambda: to_sql(text),
        lambda: to_duckdb_expression(text, table="opportunities"),
    ):
        with pytest.raises(ExpressionError):
            call()
    assert list(tmp_path.iterdir()) == []


def test_no_file_was_created_by_any_hostile_text(tables, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    for text in HOSTILE:
        for call in (parse_expression, lambda t: expression_mask(tables, "opportunities", where=t), to_sql):
            with pytest.raises(ExpressionError):
                call(text.format(marker=marker))
    assert not marker.exists() and list(tmp_path.iterdir()) == []


def test_deep_nesting_is_a_clear_error_not_a_recursion_error():
    with pytest.raises(ExpressionError, match=f"parentheses nested deeper than {MAX_DEPTH} levels at position"):
        parse_expression("(" * 10_000 + "x == 1" + ")" * 10_000)
    with pytest.raises(ExpressionError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_expression("not " * 10_000 + "x == 1")
    ok = "(" * MAX_DEPTH + "x == 1" + ")" * MAX_DEPTH
    assert str(parse_expression(ok)) == "x == 1"
    # trees built in Python are held to the same limit
    node = Compare(ColumnRef("x"), "==", Constant(1))
    with pytest.raises(ExpressionError, match="nested deeper"):
        for _ in range(10_000):
            node = Not(node)
    assert node.depth == MAX_DEPTH


def test_long_text_is_refused():
    with pytest.raises(ExpressionError, match="characters long"):
        parse_expression("x == 1 and " * 20_000 + "x == 1")


@pytest.mark.parametrize("value", [None, 5, b"amount == 1", ["amount == 1"], lambda: 1])
def test_non_string_input(tables, value):
    with pytest.raises(ExpressionError, match="an expression is text"):
        parse_expression(value)
    if value is not None:
        with pytest.raises(ExpressionError, match="an expression is text or an Expression"):
            check_expression(value, tables, "opportunities")
        with pytest.raises(ExpressionError, match="an expression is text or an Expression"):
            expression_mask(tables, "opportunities", where=value)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ColumnRef("__class__"), "is not a column name"),
        (lambda: ColumnRef("region", "a.b"), "is not a column name"),
        (lambda: ColumnRef("and"), "is not a column name"),
        (lambda: ColumnRef("x; drop"), "is not a column name"),
        (lambda: Constant(float("nan")), "not finite"),
        (lambda: Constant(2**70), "out of range"),
        (lambda: Constant(dt.datetime(2024, 1, 1)), "a date, not a timestamp"),
        (lambda: Constant(object()), "not a value type"),
        (lambda: Compare(Constant(1), "==", Constant(1)), "names no column"),
        (lambda: Compare(ColumnRef("x"), "~", Constant(1)), "is not a comparison"),
        (lambda: Compare(ColumnRef("x"), "==", Constant(None)), "with null is never true"),
        (lambda: Compare(ColumnRef("x"), "==", "1"), "must be a ColumnRef or a Constant"),
        (lambda: InList(ColumnRef("x"), ()), "non-empty"),
        (lambda: InList(ColumnRef("x"), (ColumnRef("y"),)), "the list holds values only"),
        (lambda: InList(Constant(1), (Constant(1),)), "needs a column"),
        (lambda: IsNull(Constant(1)), "needs a column"),
        (lambda: And((Compare(ColumnRef("x"), "==", Constant(1)),)), "two or more"),
        (lambda: Or(("x == 1", "y == 2")), "two or more expressions"),
        (lambda: Not("x == 1"), "Not needs an expression"),
    ],
)
def test_tree_constructors_refuse_bad_nodes(build, message):
    with pytest.raises(ExpressionError, match=message):
        build()


# --------------------------------------------------------------------------------------------------
# SQL and DuckDB


def test_to_sql_binds_every_value_and_quotes_every_identifier():
    f = to_sql(
        "name == \"x'); DROP TABLE opportunities; --\" and account.region in ('EMEA', 'APAC') "
        "or not close_date >= date '2024-01-31' or owner_id is null",
        table="opportunities",
    )
    assert isinstance(f, SqlFilter)
    assert f.text == (
        '(("opportunities"."name" = ? AND "account"."region" IN (?, ?)) OR (NOT CAST("opportunities"."close_date" '
        'AS DATE) >= ?) OR "opportunities"."owner_id" IS NULL)'
    )
    assert f.params == ("x'); DROP TABLE opportunities; --", "EMEA", "APAC", dt.date(2024, 1, 31))
    assert "DROP" not in f.text and "EMEA" not in f.text


def test_to_sql_paramstyles_and_mapping():
    f = to_sql("amount > 5 and 1 <= seats", paramstyle="format")
    assert f.text == '("amount" > %s AND "seats" >= %s)' and f.params == (5, 1)
    f = to_sql("account.region == 'EMEA'", relations={"account.region": "account__region"})
    assert f.text == '"account__region" = ?' and f.params == ("EMEA",)
    # a custom quote function still gets only the checked names
    seen = []
    to_sql("owner.region != 'x'", table="t", quote=lambda n: seen.append(n) or f"[{n}]")
    assert seen == ["owner", "region"]


def test_to_sql_refuses():
    with pytest.raises(ExpressionError, match="paramstyle is 'qmark', 'format' or 'dollar'"):
        to_sql("amount > 1", paramstyle="pyformat")
    with pytest.raises(ExpressionError, match="is not a usable table alias"):
        to_sql("amount > 1", table='opportunities" --')
    with pytest.raises(ExpressionError, match="is not a usable column for amount"):
        to_sql("amount > 1", relations={"amount": "a b"})
    with pytest.raises(ExpressionError, match="unexpected character ';'"):
        to_sql("amount > 1; drop table x")


def test_quote_identifier():
    assert quote_identifier("amount") == '"amount"'
    assert quote_identifier('a"b') == '"a""b"'
    with pytest.raises(ExpressionError, match="is not an identifier"):
        quote_identifier("")
    with pytest.raises(ExpressionError, match="is not an identifier"):
        quote_identifier(None)


def _connection(tables) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, frame in tables.items():
        con.register("incoming", frame.reset_index(drop=True))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
        con.unregister("incoming")
    return con


_JOINS = (
    "FROM opportunities AS opportunities "
    "LEFT JOIN accounts AS account ON account.account_id = opportunities.account_id "
    "LEFT JOIN users AS owner ON owner.owner_id = opportunities.owner_id "
)


def _duckdb_ids(con, expr) -> list[str]:
    f = to_sql(expr, table="opportunities")
    got = con.execute(f"SELECT opportunities.opportunity_id {_JOINS} WHERE {f.text}", f.params).fetchall()
    return sorted(r[0] for r in got)


def _duckdb_relation_ids(con, expr) -> list[str]:
    rel = (
        con.table("opportunities")
        .set_alias("opportunities")
        .join(con.table("accounts").set_alias("account"), "account.account_id = opportunities.account_id", how="left")
        .join(con.table("users").set_alias("owner"), "owner.owner_id = opportunities.owner_id", how="left")
    )
    got = rel.filter(to_duckdb_expression(expr, table="opportunities")).select("opportunities.opportunity_id")
    return sorted(r[0] for r in got.fetchall())


def _pandas_ids(tables, expr) -> list[str]:
    m = expression_mask(tables, "opportunities", where=expr)
    return sorted(tables["opportunities"].loc[m, "opportunity_id"])


@pytest.mark.parametrize(
    "where",
    [
        "amount > 100",
        "not amount > 100",
        'name == "O\'Brien" or name == \'Say "hi"\'',
        "lead_source not in ('Web')",
        "is_priority == true or seats is null",
        "not is_priority == true",
        "close_date == '2024-01-31'",
        "created_date <= date '2024-01-31'",
        "created_date == date '2024-01-31'",
        "account.region is null",
        "owner.role in ('AE', 'Manager') and not account.region == 'EMEA'",
        "owner.region == account.region",
        "close_date < created_date",
    ],
)
def test_sql_and_duckdb_agree_with_the_mask(tables, where):
    con = _connection(tables)
    expr = check_expression(where, tables, "opportunities")
    expected = _pandas_ids(tables, expr)
    assert _duckdb_ids(con, expr) == expected
    assert _duckdb_relation_ids(con, expr) == expected


def test_sql_injection_value_is_only_data(tables):
    con = _connection(tables)
    assert _duckdb_ids(con, "name == 'x''; DROP TABLE opportunities; --'") == []
    assert con.execute("SELECT count(*) FROM opportunities").fetchone() == (5,)


def test_to_duckdb_expression_with_plain_columns(tables):
    rel = duckdb.from_df(tables["opportunities"])
    expr = to_duckdb_expression("amount > 100 and stage_name != 'Closed Won'", table=None)
    assert sorted(r[0] for r in rel.filter(expr).select("opportunity_id").fetchall()) == ["o2", "o5"]
    # related fields joined in beforehand as plain columns: map each path to its column
    opps = tables["opportunities"].merge(
        tables["accounts"][["account_id", "region"]].rename(columns={"region": "account__region"}),
        on="account_id",
        how="left",
    )
    expr = to_duckdb_expression(
        "account.region == 'EMEA' or amount < 0", table=None, relations={"account.region": "account__region"}
    )
    assert sorted(r[0] for r in duckdb.from_df(opps).filter(expr).select("opportunity_id").fetchall()) == ["o1", "o4"]


def test_to_duckdb_expression_refuses():
    with pytest.raises(ExpressionError, match="is not a usable table alias"):
        to_duckdb_expression("amount > 1", table="x; drop")
    with pytest.raises(ExpressionError, match="unexpected"):
        to_duckdb_expression("amount > ", table="opportunities")
    with pytest.raises(ExpressionError, match="is not a usable column"):
        to_duckdb_expression("amount > 1", table=None, relations={"amount": 'a"b'})


# --------------------------------------------------------------------------------------------------
# properties: trees of the grammar, an independent evaluator, DuckDB


def _plain(value):
    """A cell as plain Python: None for every kind of missing, aware UTC datetimes for timestamps."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        ts = value.to_pydatetime()
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _python_rows(tables) -> list[dict]:
    """One dict per opportunity: path -> plain value, related fields looked up by hand."""
    by_key = {
        "account": {r["account_id"]: r for r in tables["accounts"].to_dict("records")},
        "owner": {r["owner_id"]: r for r in tables["users"].to_dict("records")},
    }
    out = []
    for r in tables["opportunities"].to_dict("records"):
        row = {k: _plain(v) for k, v in r.items()}
        for rel, column in (("account", "account_id"), ("owner", "owner_id")):
            related = by_key[rel].get(row[column], {}) if row[column] is not None else {}
            for field in ("name", "region", "role", "annual_revenue"):
                row[f"{rel}.{field}"] = _plain(related.get(field))
        out.append(row)
    return out


_PY = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _const(c: Constant, column_kind: str):
    if column_kind == "datetime" and isinstance(c.value, str):
        return dt.date.fromisoformat(c.value)
    return c.value


def _day(value):
    return value.astimezone(UTC).date() if isinstance(value, dt.datetime) else value


def _evaluate(node, row):
    """SQL three-valued logic over one plain row: True, False or None (unknown)."""
    if isinstance(node, Compare):
        left, op, right = node.left, node.op, node.right
        if isinstance(left, Constant):
            left, op, right = right, _FLIPPED[op], left
        a = row[left.path]
        if isinstance(right, ColumnRef):
            b = row[right.path]
        else:
            b = _const(right, KINDS[left.path])
            if isinstance(b, dt.date):
                a = _day(a)
        if a is None or b is None:
            return None
        return _PY[op](a, b)
    if isinstance(node, InList):
        a = row[node.column.path]
        values = [_const(v, KINDS[node.column.path]) for v in node.values]
        if values and isinstance(values[0], dt.date):
            a = _day(a)
        if a is None:
            return None
        return (a in values) != node.negated
    if isinstance(node, IsNull):
        return (row[node.column.path] is None) != node.negated
    if isinstance(node, Not):
        v = _evaluate(node.item, row)
        return None if v is None else not v
    values = [_evaluate(i, row) for i in node.items]
    if isinstance(node, And):
        return False if False in values else (None if None in values else True)
    return True if True in values else (None if None in values else False)


#: the fixture's columns by kind, with the values the generated constants are drawn around
KINDS = {
    "amount": "number",
    "seats": "number",
    "account.annual_revenue": "number",
    "name": "string",
    "stage_name": "string",
    "lead_source": "string",
    "notes": "string",
    "account.region": "string",
    "account.name": "string",
    "owner.region": "string",
    "owner.role": "string",
    "is_won": "bool",
    "is_priority": "bool",
    "close_date": "datetime",
    "created_date": "datetime",
}
_SAMPLES = {
    "number": [1000, 500, -5, 20000, 0, 3, 10, 100, 50, 1000.0, 250, 2.5],
    "string": ["Edge deal", "O'Brien", 'Say "hi"', "Web", "Partner", "EMEA", "AE", "Prospecting", "", "back\\slash"],
}
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
_DAYS = st.dates(dt.date(2023, 12, 30), dt.date(2025, 1, 2))


def _constants(kind: str) -> st.SearchStrategy[Constant]:
    if kind == "number":
        values = st.one_of(
            st.sampled_from(_SAMPLES["number"]),
            st.integers(-(2**53), 2**53),
            st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
        )
    elif kind == "string":
        values = st.one_of(st.sampled_from(_SAMPLES["string"]), _TEXT)
    elif kind == "bool":
        values = st.booleans()
    else:  # dates, or the ISO string of one (read as that date once checked)
        values = st.one_of(_DAYS, _DAYS.map(dt.date.isoformat))
    return values.map(Constant)


_PATHS = st.sampled_from(sorted(KINDS))
_OPS = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


def _column(path: str) -> ColumnRef:
    relation, _, name = path.rpartition(".")
    return ColumnRef(name, relation or None)


@st.composite
def _leaf(draw) -> Expression:
    path = draw(_PATHS)
    kind = KINDS[path]
    column = _column(path)
    shape = draw(st.sampled_from(["compare", "flipped", "columns", "in", "null"]))
    if shape == "compare":
        return Compare(column, draw(_OPS), draw(_constants(kind)))
    if shape == "flipped":
        return Compare(draw(_constants(kind)), draw(_OPS), column)
    if shape == "columns":
        other = draw(st.sampled_from([p for p, k in KINDS.items() if k == kind]))
        return Compare(column, draw(_OPS), _column(other))
    if shape == "in":
        values = draw(st.lists(_constants(kind), min_size=1, max_size=4))
        return InList(column, tuple(values), negated=draw(st.booleans()))
    return IsNull(column, negated=draw(st.booleans()))


EXPRESSIONS = st.recursive(
    _leaf(),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        children.map(Not),
    ),
    max_leaves=8,
)


@given(EXPRESSIONS)
@settings(max_examples=300, deadline=None)
def test_round_trip(expr):
    text = expr.to_text()
    again = parse_expression(text)
    assert again == expr
    assert again.to_text() == text


_FRAMES = _frames()
_ROWS = _python_rows(_FRAMES)
_CON = _connection(_FRAMES)


@given(EXPRESSIONS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mask_equals_an_independent_evaluator_and_duckdb(expr):
    checked = check_expression(expr, _FRAMES, "opportunities")
    got = expression_mask(_FRAMES, "opportunities", where=checked).tolist()
    assert got == [_evaluate(expr, row) is True for row in _ROWS]
    ids = sorted(o for o, keep in zip(_FRAMES["opportunities"]["opportunity_id"], got) if keep)
    assert _duckdb_ids(_CON, checked) == ids
    assert _duckdb_relation_ids(_CON, checked) == ids


_TOKENS = st.sampled_from(
    [
        "amount",
        "account",
        ".",
        "region",
        "==",
        "=",
        "<",
        ">=",
        "!=",
        "and",
        "or",
        "not",
        "in",
        "is",
        "null",
        "true",
        "(",
        ")",
        ",",
        "'x'",
        '"O\'B"',
        "'",
        '"',
        "5",
        "-1.5",
        "date",
        "'2024-01-31'",
        ";",
        "`",
        "_",
        "__class__",
        "[",
        "]",
        "@",
        "--",
        "\\",
        "\n",
        "é",
    ]
)


@given(st.one_of(st.text(max_size=60), st.lists(_TOKENS, max_size=14).map(" ".join), st.lists(_TOKENS).map("".join)))
@settings(max_examples=600, deadline=None)
def test_any_text_parses_or_is_an_expression_error(text):
    try:
        expr = parse_expression(text)
    except ExpressionError as e:
        assert str(e).startswith("where: ")
        return
    assert parse_expression(str(expr)) == expr
    try:
        expression_mask(_FRAMES, "opportunities", where=expr)
    except ExpressionError:
        pass


# ---- owners: users and queues ----------------------------------------------------------------------------
def _queue_org():
    from funnel_analysis.crm import load_frames

    leads = pd.DataFrame(
        {
            "Id": ["00QA", "00QB", "00QC", "00QD"],
            # Ann (EMEA), the EMEA queue, the APAC queue, no owner
            "OwnerId": ["005A", "00GQ", "00GP", None],
            "CreatedDate": ["2024-01-02"] * 4,
        }
    )
    users = pd.DataFrame({"Id": ["005A"], "Name": ["Ann Lee"], "Region__c": ["EMEA"]})
    groups = pd.DataFrame({"Id": ["00GQ", "00GP"], "Name": ["EMEA Queue", "APAC Queue"], "Type": ["Queue", "Queue"]})
    return load_frames({"Lead": leads, "User": users, "Group": groups})


def test_owner_name_in_a_where_filter_selects_a_queues_records():
    crm = _queue_org()
    assert crm.rows("leads", where="owner.name == 'EMEA Queue'")["lead_id"].tolist() == ["00QB"]
    assert crm.rows("leads", where="owner.owner_kind == 'queue'")["lead_id"].tolist() == ["00QB", "00QC"]
    assert crm.rows("leads", where="owner.name in ('Ann Lee', 'APAC Queue')")["lead_id"].tolist() == ["00QA", "00QC"]
    # a queue has no region: unknown, so neither selected by == nor by !=
    assert crm.rows("leads", where="owner.region == 'EMEA'")["lead_id"].tolist() == ["00QA"]
    assert crm.rows("leads", where="owner.region != 'EMEA'")["lead_id"].tolist() == []
    assert crm.rows("leads", where="owner.region is null")["lead_id"].tolist() == ["00QB", "00QC", "00QD"]


def test_owner_relation_sees_queues_without_users_and_its_kind_in_the_schema():
    groups = pd.DataFrame({"group_id": ["00GQ"], "name": ["EMEA Queue"], "type": ["Queue"]})
    leads = pd.DataFrame({"lead_id": ["l1", "l2"], "owner_id": ["00GQ", "005A"]})
    got = expression_mask({"leads": leads, "groups": groups}, "leads", where="owner.name == 'EMEA Queue'")
    assert got.tolist() == [True, False]
    assert str(check_expression("owner.owner_kind == 'queue'", None, "leads")) == "owner.owner_kind == 'queue'"
    with pytest.raises(ExpressionError, match=r"'owner.name' cannot be resolved: the users table is not loaded"):
        expression_mask({"leads": leads}, "leads", where="owner.name == 'x'")


def test_owner_records_puts_the_queues_after_the_users():
    users = pd.DataFrame({"owner_id": ["005A"], "name": ["Ann Lee"], "region": ["EMEA"]})
    groups = pd.DataFrame(
        {
            "group_id": ["00GQ", "00GR", "00GS"],
            "name": ["EMEA Queue", "All staff", "Untyped"],
            "type": ["queue", "Regular", None],  # any case; a group without a type counts as a queue
            "email": ["emea@x.com", None, None],
        }
    )
    got = owner_records(users, groups)
    assert got["owner_id"].tolist() == ["005A", "00GQ", "00GS"]
    assert got["owner_kind"].tolist() == ["user", "queue", "queue"]
    assert got["name"].tolist() == ["Ann Lee", "EMEA Queue", "Untyped"]
    assert got["email"].tolist()[1] == "emea@x.com" and got["region"].isna().tolist() == [False, True, True]
    assert list(users.columns) == ["owner_id", "name", "region"]  # the input is not changed
    assert owner_records(users)["owner_kind"].tolist() == ["user"]


def test_owner_records_failures():
    with pytest.raises(TypeError, match="owner_records: groups must be a DataFrame or None, got dict"):
        owner_records(None, {"group_id": []})
    with pytest.raises(ValueError, match="owner_records: users has no owner_id column"):
        owner_records(pd.DataFrame({"id": ["005A"]}))
    with pytest.raises(ValueError, match="owner_records: groups needs group_id and name columns"):
        owner_records(None, pd.DataFrame({"group_id": ["00GQ"]}))
