"""One safe expression grammar for row filters (``where``), assignment-rule criteria and stage criteria.

An expression names the org's columns and compares them with literal values; it is parsed into a small
immutable tree and evaluated as a pandas mask, a DuckDB expression or SQL text with bound parameters.
Nothing in it is ever executed: there is no ``eval``, no ``DataFrame.query``, and no value is pasted into
SQL text.

Grammar (EBNF; keywords are case-insensitive, whitespace is free between tokens)::

    expression  = or ;
    or          = and , { "or" , and } ;
    and         = not , { "and" , not } ;
    not         = "not" , not | predicate | "(" , or , ")" ;
    predicate   = operand , comparison , operand
                | column , [ "not" ] , "in" , "(" , value , { "," , value } , ")"
                | column , "is" , [ "not" ] , "null" ;
    comparison  = "==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" ;
    operand     = column | value ;                (* at least one side of a comparison is a column *)
    column      = name , [ "." , name ] ;         (* relation.field: one hop *)
    name        = letter , { letter | digit | "_" } ;
    value       = string | number | "true" | "false" | "date" , string ;
    string      = "'" , { any - "'" | "''" } , "'" | '"' , { any - '"' | '""' } , '"' ;
    number      = [ "-" ] , digit , { digit } , [ "." , digit , { digit } ] , [ ( "e" | "E" ) , [ "+" | "-" ] , digit , { digit } ] ;

Precedence, loosest first: ``or``, ``and``, ``not``, then the comparisons; parentheses group. ``=`` is
read as ``==`` and ``<>`` as ``!=``; the canonical text (``str(expr)``) writes ``==`` and ``!=``.

The rules
---------
- **Names.** A column is a name that starts with a letter (ASCII letters, digits, ``_``). The keywords
  ``and or not in is null true false`` cannot be column names; ``date`` can (it is a keyword only right
  before a quoted string).
- **Strings** are in single or double quotes. The quote character itself is written twice inside
  (``'O''Brien'``), or the other quote is used (``"O'Brien"``). A backslash is an ordinary character:
  there are no backslash escapes.
- **Numbers** are integers (within 64 bits) or decimals, negative too (``-5``, ``0.25``, ``1e6``).
- **Dates** are written ``date '2024-01-31'``. A string compared with a date or timestamp column must be
  an ISO date (``'2024-01-31'``) and is read as that date. A date compares with the *day* of a timestamp
  in UTC (date-only columns are midnight of their day): ``created_date <= date '2024-01-31'`` keeps
  everything created up to the end of 31 January, UTC; ``close_date == date '2024-01-31'`` any time on
  that day. Two date or timestamp columns compare as instants (UTC).
- **Null.** ``x is null`` / ``x is not null``. Comparing with ``null`` (``x == null``, ``null`` in a list)
  is refused: in SQL it is never true, so it is always a mistake.
- **Three-valued logic** (as SQL): a comparison with a missing value (``None``, ``NaN``, ``NaT``, ``<NA>``)
  is unknown, not true; ``not`` of unknown stays unknown; ``unknown and false`` is false, ``unknown or
  true`` is true. A row is selected only when the whole expression is true, so ``not (amount > 5)``
  does not select rows without an amount.
- **Related records** (the anchor rule): ``<relation>.<field>`` where ``<relation>`` is a reference
  column of the filtered table without its ``_id`` suffix, as declared in
  :data:`funnel_analysis.crm.schema.TABLES` (``references``): on opportunities ``account.region`` goes
  through ``account_id`` to accounts, ``owner.region`` and ``owner.role`` through ``owner_id`` to users;
  on leads ``owner.region``. One hop only, and the field must exist on the related table. The related
  table is left-joined on its key: a row whose reference is missing or dangling sees null fields. Keys of
  the related table must be unique (``load_org`` quarantines repeated IDs); when they are not, the
  expression is refused rather than guessing which row counts.
- **Owners** are users or queues: ``owner.<field>`` reaches the records of :func:`owner_records`, the
  users and, when the org has Group.csv, its queues (a queue has its ``name`` and ``email``, its other
  fields are null), with ``owner_kind`` (``'user'`` or ``'queue'``): ``owner.name == 'EMEA Queue'``
  selects the records a queue owns, ``owner.owner_kind == 'queue'`` all of them.
- **Types.** With data (or the schema's column kinds), a comparison of incompatible types (text with a
  number, a date column with ``'soon'``) is refused when the expression is checked.
- **Limits.** At most 100,000 characters and 100 levels of nesting (parentheses or ``not``): deeper
  input is refused with :class:`ExpressionError`, never a ``RecursionError``.

Every refusal is one :class:`ExpressionError` (a ``ValueError``) whose message names the position
(1-based character offset in the text) and what was expected, with the text and a caret under it.

Engines
-------
- :func:`expression_mask`: the pandas reference, a boolean mask aligned to the table's index.
- :func:`to_duckdb_expression`: a DuckDB ``Expression`` (``ColumnExpression``/``ConstantExpression``) for
  ``DuckDBPyRelation.filter``; :func:`to_sql`: SQL text with ``?`` or ``%s`` placeholders and the values
  as a tuple. In both, a column of the filtered table is ``"<table>"."<column>"`` and a path is
  ``"<relation>"."<field>"``: the related table is joined under the relation's name
  (``LEFT JOIN accounts AS account ON account.account_id = opportunities.account_id``); or ``relations``
  maps a path to a plain column (``{"account.region": "account__region"}``). A date is compared with
  ``CAST(column AS DATE)``, the day in the session time zone: keep it UTC. The ``owner`` relation is
  :func:`owner_records` (users and queues), joined under the name ``owner`` on ``owner_id``.

Why lark
--------
The parser is `lark <https://lark-parser.readthedocs.io>`_ (LALR(1), contextual lexer). The grammar is
declared once, in EBNF close to the one above; its errors carry the position and the set of expected
tokens, which become the messages here; and LALR parses with an explicit stack, so deep input cannot
overflow Python's. The tree is built bottom-up by callbacks during the parse, and every node checks its
own depth as it is built.

Examples
--------
>>> expr = parse_expression("owner.region == 'EMEA' and amount >= 10000")
>>> str(expr)
"owner.region == 'EMEA' and amount >= 10000"
>>> expr.columns
('owner.region', 'amount')
>>> parse_expression(str(expr)) == expr
True
"""

from __future__ import annotations

import datetime as _dt
import difflib
import functools
import math
import operator
import re
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .._util.arrow import index_in
from .._util.arrow import isin as _text_isin
from .schema import TABLES

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ExpressionError",
    "Expression",
    "ColumnRef",
    "Constant",
    "Compare",
    "InList",
    "IsNull",
    "And",
    "Or",
    "Not",
    "SqlFilter",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "parse_expression",
    "expression_values",
    "check_expression",
    "expression_mask",
    "to_duckdb_expression",
    "to_sql",
    "quote_identifier",
    "owner_records",
    "OWNER_KINDS",
]

#: Deepest nesting accepted (parentheses, ``not`` or and/or groups).
MAX_DEPTH = 100
#: Longest text accepted, in characters.
MAX_LENGTH = 100_000

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})
_OPS = ("==", "!=", "<", "<=", ">", ">=")
_OP_ALIASES = {"=": "==", "<>": "!="}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_PY_OPS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_SQL_OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_INT_LIMIT = 2**63


# --------------------------------------------------------------------------------------------------
# errors


class ExpressionError(ValueError):
    """An expression that is refused: bad syntax, an unknown name, incompatible types, too deep.

    The parameters are kept as attributes of the same names.

    Parameters
    ----------
    reason : str
        What is wrong, without the position.
    position : int, optional
        1-based character offset in ``text`` where the problem starts, when known.
    hint : str, default ""
        What follows the position in the message: what exists, what was expected, a suggestion.
    label : str, optional
        What the expression is (``"where"``, ``"criteria"``): the first word of the message.
    text : str, optional
        The expression's text: the message shows the line of the position with a caret under it.

    Examples
    --------
    >>> try:
    ...     parse_expression("amount >> 5")
    ... except ExpressionError as e:
    ...     print(e.position, isinstance(e, ValueError))
    9 True
    """

    def __init__(
        self,
        reason: str,
        *,
        position: int | None = None,
        hint: str = "",
        label: str | None = None,
        text: str | None = None,
    ):
        self.reason = reason
        self.position = position
        self.hint = hint
        self.label = label
        self.text = text
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"{self.label}: " if self.label else ""
        where = f" at position {self.position}" if self.position is not None else ""
        message = f"{head}{self.reason}{where}{self.hint}"
        if self.text is not None and self.position is not None:
            message += "\n" + _caret(self.text, self.position)
        return message

    def _in_context(self, *, label: str, text: str | None) -> ExpressionError:
        """The same error with the label and text of the expression it was found in."""
        return ExpressionError(
            self.reason,
            position=self.position,
            hint=self.hint,
            label=self.label or label,
            text=self.text if self.text is not None else text,
        )


def _caret(text: str, position: int) -> str:
    """The line of ``text`` holding ``position`` (1-based) and a caret under it, at most ~80 columns."""
    offset = min(max(position - 1, 0), len(text))
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    line = text[start : end if end >= 0 else len(text)]
    col = offset - start
    if len(line) > 80:
        lo = max(0, col - 40)
        prefix = "..." if lo else ""
        line = prefix + line[lo : lo + 80]
        col = col - lo + len(prefix)
    return f"    {line}\n    {' ' * col}^"


# --------------------------------------------------------------------------------------------------
# the tree


def _check_depth(node, children) -> None:
    depth = 1 + max((c.depth for c in children), default=0)
    if depth > MAX_DEPTH:
        raise ExpressionError(f"expression nested deeper than {MAX_DEPTH} levels")
    object.__setattr__(node, "_depth", depth)


class Expression:
    """A boolean expression: :class:`Compare`, :class:`InList`, :class:`IsNull`, :class:`And`,
    :class:`Or` or :class:`Not`. Immutable; ``str(expr)`` is its canonical text, which parses back to
    an equal tree.

    Examples
    --------
    >>> expr = parse_expression("stage_name in ('Prospecting', 'Closed Won') and not is_won == true")
    >>> isinstance(expr, Expression), type(expr).__name__
    (True, 'And')
    >>> expr.to_text()
    "stage_name in ('Prospecting', 'Closed Won') and not is_won == true"
    """

    __slots__ = ()

    @property
    def depth(self) -> int:
        """Levels of nesting: 1 for a comparison."""
        return self._depth

    def to_text(self) -> str:
        """The canonical text, which :func:`parse_expression` reads back to an equal tree.

        Returns
        -------
        str
            Keywords in lower case, ``==`` and ``!=``, strings in single quotes (double quotes when the
            text holds a single quote and no double quote), parentheses only where they change the tree.
        """
        return self._text()

    def _text(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.to_text()

    def operands(self) -> Iterator[ColumnRef | Constant]:
        """Every column and value, left to right."""
        for node in self._walk():
            if isinstance(node, Compare):
                yield node.left
                yield node.right
            elif isinstance(node, InList):
                yield node.column
                yield from node.values
            elif isinstance(node, IsNull):
                yield node.column

    def _walk(self) -> Iterator[Expression]:
        yield self
        for child in self._children():
            yield from child._walk()

    def _children(self) -> tuple[Expression, ...]:
        return ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The referenced columns and paths (``'amount'``, ``'account.region'``), each once, in order."""
        return tuple(dict.fromkeys(op.path for op in self.operands() if isinstance(op, ColumnRef)))

    @property
    def relations(self) -> tuple[str, ...]:
        """The relations the paths go through (``'account'``, ``'owner'``), each once, in order."""
        refs = (op.relation for op in self.operands() if isinstance(op, ColumnRef))
        return tuple(dict.fromkeys(r for r in refs if r is not None))


@dataclass(frozen=True)
class ColumnRef:
    """A column of the filtered table (``relation=None``) or a field of a related record.

    Parameters
    ----------
    name : str
        The column (or the related table's field).
    relation : str, optional
        The reference column of the filtered table without ``_id`` (``"account"``, ``"owner"``).
    position : int, optional
        Where it starts in the text (1-based); not part of equality.

    Examples
    --------
    >>> ColumnRef("region", "account").path
    'account.region'
    """

    name: str
    relation: str | None = None
    position: int | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        for part in (self.name,) if self.relation is None else (self.name, self.relation):
            if not isinstance(part, str) or not _NAME.match(part) or part.lower() in _KEYWORDS:
                raise ExpressionError(
                    f"{part!r} is not a column name (a letter, then letters, digits or '_'; not a keyword)",
                    position=self.position,
                )

    @property
    def path(self) -> str:
        """``name`` or ``relation.name``."""
        return self.name if self.relation is None else f"{self.relation}.{self.name}"

    def to_text(self) -> str:
        """The canonical text.

        Returns
        -------
        str
            ``name`` or ``relation.name``.
        """
        return self.path

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True, eq=False)
class Constant:
    """A literal value: ``None``, ``bool``, ``int`` (64-bit), finite ``float``, ``str`` or ``datetime.date``.

    Two constants are equal when their values are equal *and* of the same type (``1 != 1.0 != True``).

    Parameters
    ----------
    value : None, bool, int, float, str or datetime.date
        The value; numpy scalars are taken as their Python value.
    position : int, optional
        Where it starts in the text (1-based); not part of equality.

    Examples
    --------
    >>> Constant("O'Brien").to_text(), Constant(-2.5).to_text(), Constant(True).to_text()
    ('"O\\'Brien"', '-2.5', 'true')
    >>> import datetime
    >>> Constant(datetime.date(2024, 1, 31)).to_text()
    "date '2024-01-31'"
    """

    value: Any
    position: int | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        value = self.value
        if isinstance(value, np.generic):
            value = value.item()
            object.__setattr__(self, "value", value)
        if isinstance(value, _dt.datetime):  # pd.Timestamp too
            raise ExpressionError(f"{value!r}: a value is a date, not a timestamp", position=self.position)
        if value is None or isinstance(value, (bool, str, _dt.date)):
            return
        if isinstance(value, int):
            if not -_INT_LIMIT < value < _INT_LIMIT:
                raise ExpressionError(f"the number {value} is out of range (64-bit integers)", position=self.position)
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ExpressionError(f"the number {value} is not finite", position=self.position)
            return
        raise ExpressionError(f"{type(value).__name__} is not a value type of expressions", position=self.position)

    @property
    def kind(self) -> str:
        """``"null"``, ``"bool"``, ``"number"``, ``"string"`` or ``"date"``."""
        v = self.value
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, (int, float)):
            return "number"
        if isinstance(v, str):
            return "string"
        return "date"

    def __eq__(self, other):
        if not isinstance(other, Constant):
            return NotImplemented
        return type(self.value) is type(other.value) and self.value == other.value

    def __hash__(self):
        return hash((type(self.value).__name__, self.value))

    def to_text(self) -> str:
        """The canonical text.

        Returns
        -------
        str
            ``null``, ``true``/``false``, the number, the quoted string or ``date 'YYYY-MM-DD'``.
        """
        v = self.value
        kind = self.kind
        if kind == "null":
            return "null"
        if kind == "bool":
            return "true" if v else "false"
        if kind == "number":
            return str(v) if isinstance(v, int) else repr(v)
        if kind == "string":
            return _quote_string(v)
        return f"date '{v.isoformat()}'"

    def __str__(self) -> str:
        return self.to_text()


def _quote_string(value: str) -> str:
    if "'" in value and '"' not in value:
        return f'"{value}"'
    return "'" + value.replace("'", "''") + "'"


def _operand(x, role: str) -> ColumnRef | Constant:
    if not isinstance(x, (ColumnRef, Constant)):
        raise ExpressionError(f"{role} must be a ColumnRef or a Constant, not {type(x).__name__}")
    return x


def _refuse_null(value: Constant, where: str) -> None:
    if value.kind == "null":
        raise ExpressionError(
            f"{where} with null is never true",
            position=value.position,
            hint="; write 'x is null' or 'x is not null'",
        )


@dataclass(frozen=True)
class Compare(Expression):
    """``left op right``, with a column on at least one side.

    Parameters
    ----------
    left, right : ColumnRef or Constant
        The two sides.
    op : str
        ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (``=`` and ``<>`` are taken as ``==`` and ``!=``).

    Examples
    --------
    >>> Compare(ColumnRef("amount"), ">=", Constant(10000)).to_text()
    'amount >= 10000'
    """

    left: ColumnRef | Constant
    op: str
    right: ColumnRef | Constant

    def __post_init__(self):
        _operand(self.left, "the left side of a comparison")
        _operand(self.right, "the right side of a comparison")
        op = _OP_ALIASES.get(self.op, self.op)
        if op not in _OPS:
            raise ExpressionError(f"{self.op!r} is not a comparison (expected one of {', '.join(_OPS)})")
        object.__setattr__(self, "op", op)
        if isinstance(self.left, Constant) and isinstance(self.right, Constant):
            raise ExpressionError(
                f"the comparison {self.left.to_text()} {op} {self.right.to_text()} names no column",
                position=self.left.position,
            )
        for side in (self.left, self.right):
            if isinstance(side, Constant):
                _refuse_null(side, "a comparison")
        _check_depth(self, ())

    def _text(self) -> str:
        return f"{self.left.to_text()} {self.op} {self.right.to_text()}"


@dataclass(frozen=True)
class InList(Expression):
    """``column in (v1, v2, ...)``, or ``not in`` when ``negated``.

    Parameters
    ----------
    column : ColumnRef
        The column.
    values : tuple of Constant
        One or more values of one type, none of them null.
    negated : bool, default False
        ``not in``: true when the column has a value that is not in the list.

    Examples
    --------
    >>> InList(ColumnRef("stage_name"), (Constant("Won"), Constant("Lost")), negated=True).to_text()
    "stage_name not in ('Won', 'Lost')"
    """

    column: ColumnRef
    values: tuple[Constant, ...]
    negated: bool = False

    def __post_init__(self):
        if not isinstance(self.column, ColumnRef):
            raise ExpressionError("'in' needs a column on its left", position=getattr(self.column, "position", None))
        values = tuple(self.values) if isinstance(self.values, (list, tuple)) else None
        if not values:
            raise ExpressionError("'in' needs a non-empty tuple of values", position=self.column.position)
        for v in values:
            if not isinstance(v, Constant):
                raise ExpressionError(
                    f"{v} in an 'in' list", position=getattr(v, "position", None), hint="; the list holds values only"
                )
            _refuse_null(v, "'in'")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "negated", bool(self.negated))
        _check_depth(self, ())

    def _text(self) -> str:
        word = "not in" if self.negated else "in"
        return f"{self.column.to_text()} {word} ({', '.join(v.to_text() for v in self.values)})"


@dataclass(frozen=True)
class IsNull(Expression):
    """``column is null``, or ``is not null`` when ``negated``.

    Parameters
    ----------
    column : ColumnRef
        The column; missing values are ``None``, ``NaN``, ``NaT``, ``<NA>``.
    negated : bool, default False
        ``is not null``.

    Examples
    --------
    >>> IsNull(ColumnRef("region", "account"), negated=True).to_text()
    'account.region is not null'
    """

    column: ColumnRef
    negated: bool = False

    def __post_init__(self):
        if not isinstance(self.column, ColumnRef):
            raise ExpressionError(
                "'is null' needs a column on its left", position=getattr(self.column, "position", None)
            )
        object.__setattr__(self, "negated", bool(self.negated))
        _check_depth(self, ())

    def _text(self) -> str:
        return f"{self.column.to_text()} is {'not ' if self.negated else ''}null"


def _items(node, items) -> tuple[Expression, ...]:
    items = tuple(items) if isinstance(items, (list, tuple)) else None
    if not items or len(items) < 2 or not all(isinstance(i, Expression) for i in items):
        raise ExpressionError(f"{type(node).__name__} needs a tuple of two or more expressions")
    return items


@dataclass(frozen=True)
class And(Expression):
    """All of ``items`` (two or more).

    Parameters
    ----------
    items : tuple of Expression
        The terms; false if one is false, else unknown if one is unknown.

    Examples
    --------
    >>> a, b = parse_expression("x == 1"), parse_expression("y == 2 or z == 3")
    >>> And((a, b)).to_text()
    'x == 1 and (y == 2 or z == 3)'
    """

    items: tuple[Expression, ...]

    def __post_init__(self):
        object.__setattr__(self, "items", _items(self, self.items))
        _check_depth(self, self.items)

    def _children(self):
        return self.items

    def _text(self) -> str:
        return " and ".join(_group(i, (And, Or)) for i in self.items)


@dataclass(frozen=True)
class Or(Expression):
    """Any of ``items`` (two or more).

    Parameters
    ----------
    items : tuple of Expression
        The terms; true if one is true, else unknown if one is unknown.

    Examples
    --------
    >>> Or((parse_expression("x == 1"), parse_expression("y == 2"))).to_text()
    'x == 1 or y == 2'
    """

    items: tuple[Expression, ...]

    def __post_init__(self):
        object.__setattr__(self, "items", _items(self, self.items))
        _check_depth(self, self.items)

    def _children(self):
        return self.items

    def _text(self) -> str:
        return " or ".join(_group(i, (Or,)) for i in self.items)


@dataclass(frozen=True)
class Not(Expression):
    """The negation of ``item`` (unknown stays unknown).

    Parameters
    ----------
    item : Expression
        What is negated.

    Examples
    --------
    >>> Not(parse_expression("x == 1 and y == 2")).to_text()
    'not (x == 1 and y == 2)'
    """

    item: Expression

    def __post_init__(self):
        if not isinstance(self.item, Expression):
            raise ExpressionError(f"Not needs an expression, not {type(self.item).__name__}")
        _check_depth(self, (self.item,))

    def _children(self):
        return (self.item,)

    def _text(self) -> str:
        return "not " + _group(self.item, (And, Or))


def _group(node: Expression, kinds) -> str:
    text = node.to_text()
    return f"({text})" if isinstance(node, kinds) else text


# --------------------------------------------------------------------------------------------------
# parsing

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: NOT not_expr                  -> negation
         | predicate
         | "(" or_expr ")"
?predicate: operand COMP_OP operand      -> compare
          | operand _IN value_list       -> in_list
          | operand NOT _IN value_list   -> not_in_list
          | operand _IS NULL             -> is_null
          | operand _IS NOT NULL         -> is_not_null
value_list: "(" operand ("," operand)* ")"
?operand: column | constant
column: NAME ("." NAME)?
?constant: STRING      -> string
         | NUMBER      -> number
         | TRUE        -> true
         | FALSE       -> false
         | NULL        -> null
         | DATE STRING -> date

_OR.2: /or\b/i
_AND.2: /and\b/i
NOT.2: /not\b/i
_IN.2: /in\b/i
_IS.2: /is\b/i
NULL.2: /null\b/i
TRUE.2: /true\b/i
FALSE.2: /false\b/i
DATE.3: /date(?=\s*['"])/i
NAME: /[A-Za-z][A-Za-z0-9_]*/
COMP_OP: /==|!=|<>|<=|>=|=|<|>/
NUMBER: /-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?![A-Za-z0-9_.])/
STRING: /'[^']*(?:''[^']*)*'|"[^"]*(?:""[^"]*)*"/

%ignore /\s+/
"""

#: terminal -> how a message names it
_TERMINAL_NAMES = {
    "NAME": "a column name",
    "STRING": "a quoted string",
    "NUMBER": "a number",
    "COMP_OP": "a comparison (== != < <= > >=)",
    "OR": "'or'",
    "AND": "'and'",
    "NOT": "'not'",
    "IN": "'in'",
    "IS": "'is'",
    "NULL": "'null'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "DATE": "date '...'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "DOT": "'.'",
    "$END": "the end of the text",
}


def _pos(token: Token) -> int:
    return token.start_pos + 1


class _Build(Transformer):
    """Callbacks of the LALR parse: the tree is built bottom-up while parsing (no recursion)."""

    def or_expr(self, items):
        return Or(tuple(items))

    def and_expr(self, items):
        return And(tuple(items))

    def negation(self, children):
        return Not(children[1])

    def compare(self, children):
        left, op, right = children
        return Compare(left, str(op), right)

    def in_list(self, children):
        return InList(children[0], children[1])

    def not_in_list(self, children):
        return InList(children[0], children[2], negated=True)

    def is_null(self, children):
        return IsNull(children[0])

    def is_not_null(self, children):
        return IsNull(children[0], negated=True)

    def value_list(self, children):
        return tuple(children)

    def column(self, tokens):
        if len(tokens) == 1:
            return ColumnRef(str(tokens[0]), position=_pos(tokens[0]))
        return ColumnRef(str(tokens[1]), str(tokens[0]), position=_pos(tokens[0]))

    def string(self, tokens):
        tok = tokens[0]
        quote = tok[0]
        return Constant(tok[1:-1].replace(quote * 2, quote), position=_pos(tok))

    def number(self, tokens):
        tok = tokens[0]
        text = str(tok)
        if re.fullmatch(r"-?[0-9]+", text):
            value = int(text)
            if not -_INT_LIMIT < value < _INT_LIMIT:
                raise ExpressionError(f"the integer {text} is out of range", position=_pos(tok), hint=" (64 bits)")
            return Constant(value, position=_pos(tok))
        value = float(text)
        if not math.isfinite(value):
            raise ExpressionError(f"the number {text} is out of range", position=_pos(tok))
        return Constant(value, position=_pos(tok))

    def true(self, tokens):
        return Constant(True, position=_pos(tokens[0]))

    def false(self, tokens):
        return Constant(False, position=_pos(tokens[0]))

    def null(self, tokens):
        return Constant(None, position=_pos(tokens[0]))

    def date(self, tokens):
        keyword, tok = tokens
        text = tok[1:-1]
        return Constant(_iso_date(text, _pos(tok)), position=_pos(keyword))


def _iso_date(text: str, position: int | None) -> _dt.date:
    if _ISO_DATE.match(text):
        try:
            return _dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ExpressionError(f"{text!r} is not a date", position=position, hint=" (expected 'YYYY-MM-DD')")


@functools.cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="contextual", transformer=_Build(), maybe_placeholders=False)


def _parens(text: str, upto: int) -> Iterator[tuple[int, str]]:
    """(offset, '(' or ')') of each parenthesis before ``upto`` outside quoted strings."""
    i, quote = 0, None
    while i < upto:
        c = text[i]
        if quote:
            if c == quote:
                if i + 1 < upto and text[i + 1] == quote:
                    i += 1
                else:
                    quote = None
        elif c in "'\"":
            quote = c
        elif c in "()":
            yield i, c
        i += 1


def _prescan(text: str) -> None:
    """Refuse parentheses nested deeper than MAX_DEPTH before the parse."""
    depth = 0
    for i, c in _parens(text, len(text)):
        depth += 1 if c == "(" else -1
        if depth > MAX_DEPTH:
            raise ExpressionError(f"parentheses nested deeper than {MAX_DEPTH} levels", position=i + 1)


def _open_parens(text: str, upto: int) -> list[bool]:
    """The parentheses open before offset ``upto``, innermost last: True for one that opens an 'in' list."""
    stack: list[bool] = []
    for i, c in _parens(text, upto):
        if c == "(":
            stack.append(bool(re.search(r"(?i)\bin\s*$", text[max(0, i - 40) : i])))
        elif stack:
            stack.pop()
    return stack


def _expected(names, stack: list[bool]) -> str:
    names = {n.lstrip("_") for n in names}
    if not stack:  # LALR shares states between a list and the top level: say only what fits here
        names -= {"RPAR", "COMMA"}
    elif not stack[-1]:
        names -= {"COMMA"}
    readable = sorted({_TERMINAL_NAMES.get(n, n) for n in names})
    return ", ".join(readable)


def _lark_error(e: UnexpectedInput, text: str) -> ExpressionError:
    if isinstance(e, UnexpectedCharacters):
        char, position = e.char, e.pos_in_stream + 1
        if char in "'\"":
            return ExpressionError("unterminated string", position=position, hint=f" (close it with {char})")
        hints = {
            "`": "backticks are not part of the grammar; quote text with ' or \"",
            "[": "subscripts are not part of the grammar",
            ";": "one expression only",
            "_": "names start with a letter",
            "@": "variables are not part of the grammar; write the value",
            "!": "use != or not",
            "-": "numbers are written -5; there is no arithmetic and no -- comment",
        }
        hint = hints.get(char)
        if hint is None and char.isdigit():
            hint = "a number cannot run into letters or dots"
        expected = _expected(e.allowed or (), _open_parens(text, e.pos_in_stream))
        extra = f" ({hint}; expected {expected})" if hint else f" (expected {expected})"
        return ExpressionError(f"unexpected character {char!r}", position=position, hint=extra)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            expected = _expected(e.expected or (), _open_parens(text, len(text)))
            return ExpressionError("unexpected end of the text", position=len(text) + 1, hint=f" (expected {expected})")
        stack = _open_parens(text, tok.start_pos)
        expected = _expected(e.expected or (), stack)
        position = tok.start_pos + 1
        hint = ""
        before = text[: tok.start_pos].rstrip()
        if tok.type == "LPAR" and re.search(r"[A-Za-z0-9_]$", before):
            hint = "; function calls are not part of the grammar"
        elif tok.type == "RPAR" and not stack:
            hint = "; no '(' is open"
        elif tok.type == "DOT":
            hint = "; a path has one hop: relation.field"
        elif tok.type == "COMP_OP" and re.search(r"(==|!=|<>|<=|>=|=|<|>)\s*\S+$", before):
            hint = "; comparisons do not chain: join them with 'and'"
        return ExpressionError(f"unexpected {str(tok)!r}", position=position, hint=f" (expected {expected}){hint}")
    return ExpressionError(f"cannot parse: {e}")


def parse_expression(text: str, *, label: str = "where") -> Expression:
    """Parse the text of an expression into its tree (syntax only: names are not looked up).

    Parameters
    ----------
    text : str
        The expression, in the grammar of :mod:`funnel_analysis.crm.expression`.
    label : str, default "where"
        What the expression is, the first word of an error message (``"where"``, ``"criteria"``).

    Returns
    -------
    Expression
        The immutable tree; ``str()`` of it is the canonical text, which parses back to an equal tree.

    Raises
    ------
    ExpressionError
        If ``text`` is not a string, is empty, is longer than :data:`MAX_LENGTH`, nests deeper than
        :data:`MAX_DEPTH`, or does not follow the grammar; the message names the position.

    Examples
    --------
    >>> expr = parse_expression("name == \\"O'Brien\\" or amount < -1.5 and close_date >= date '2024-01-31'")
    >>> type(expr).__name__, [type(i).__name__ for i in expr.items]
    ('Or', ['Compare', 'And'])
    >>> print(expr)
    name == "O'Brien" or amount < -1.5 and close_date >= date '2024-01-31'
    >>> parse_expression("amount == 1 )")
    Traceback (most recent call last):
    ...
    funnel_analysis.crm.expression.ExpressionError: where: unexpected ')' at position 13 (expected the end of the text); no '(' is open
        amount == 1 )
                    ^
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression is text, not {type(text).__name__}", label=label)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text):,} characters long (at most {MAX_LENGTH:,})", label=label)
    if not text.strip():
        raise ExpressionError("the expression is empty", label=label)
    try:
        _prescan(text)
        return _parser().parse(text)
    except ExpressionError as e:
        raise e._in_context(label=label, text=text) from None
    except UnexpectedInput as e:
        raise _lark_error(e, text)._in_context(label=label, text=text) from None
    except RecursionError:  # not expected: LALR and the depth limit keep the stack small
        raise ExpressionError(f"expression nested too deeply (at most {MAX_DEPTH} levels)", label=label) from None


# --------------------------------------------------------------------------------------------------
# names and types

_KIND_BY_SCHEMA = {
    "id": "string",
    "str": "string",
    "picklist": "string",
    "email": "string",
    "phone": "string",
    "bool": "bool",
    "datetime": "datetime",
    "date": "datetime",
    "float": "number",
    "int": "number",
}
_KIND_WORDS = {
    "number": "a number",
    "string": "text",
    "bool": "true/false",
    "datetime": "a date",
    "date": "a date",
    "other": "values of no comparable type",
}


def _kind_of(series: pd.Series) -> str:
    """'number', 'string', 'bool', 'datetime' or 'other', from a column's dtype (object: its values)."""
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
        if pd.api.types.is_object_dtype(dtype):
            return _infer_kind(pd.Series(series.cat.categories))
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "number"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        t = dtype.pyarrow_dtype
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return "string"
        if pa.types.is_date(t):
            return "datetime"
        return "other"
    if pd.api.types.is_object_dtype(dtype):
        return _infer_kind(series)
    return "other"


def _infer_kind(series: pd.Series) -> str:
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    return {
        "string": "string",
        "empty": "string",
        "boolean": "bool",
        "integer": "number",
        "floating": "number",
        "mixed-integer-float": "number",
        "decimal": "number",
        "date": "datetime",
        "datetime": "datetime",
        "datetime64": "datetime",
    }.get(inferred, "other")


@dataclass(frozen=True)
class _Relation:
    name: str  # account
    column: str  # account_id, on the filtered table
    table: str  # accounts
    key: str  # account_id, on the related table
    columns: Mapping[str, str] | None  # field -> kind; None: the related table is not loaded
    problem: str = ""  # why the relation cannot be used, when it cannot
    frame: pd.DataFrame | None = field(default=None, compare=False, repr=False)  # the owners: not a loaded table


#: What an owner is, in :func:`owner_records`' ``owner_kind``.
OWNER_KINDS = ("user", "queue")


def _is_owner_relation(column: str, table: str) -> bool:
    return column == "owner_id" and table == "users"


def owner_records(users: pd.DataFrame | None, groups: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every record that can own another: the users, then the queues, with ``owner_kind``.

    Salesforce lets a user or a queue own a lead, an opportunity, an account, a contact, an activity
    or a campaign; a queue is a ``Group`` row of ``Type`` ``Queue`` (its ID starts ``00G``). This is
    the table the ``owner`` relation of an expression reaches.

    Parameters
    ----------
    users : DataFrame or None
        The users table (``owner_id`` and any other columns); None when the org has none.
    groups : DataFrame, optional
        The groups table (``group_id``, ``name``, and optionally ``type``, ``email``). Its queues
        are the rows whose ``type`` is ``Queue`` (any case); without a ``type`` value a group counts
        as a queue (only users and queues can own records, so a group an owner ID names is one).

    Returns
    -------
    DataFrame
        The users' rows and columns with ``owner_kind`` ``"user"``, then one row per queue:
        ``owner_id`` (the group's ID), ``name``, ``email`` (when the groups have it), ``owner_kind``
        ``"queue"``, its other columns null. A fresh frame; the inputs are not changed.

    Raises
    ------
    TypeError
        When ``users`` or ``groups`` is neither None nor a DataFrame.
    ValueError
        When ``users`` lacks ``owner_id`` or ``groups`` lacks ``group_id`` or ``name``.

    Examples
    --------
    >>> users = pd.DataFrame({"owner_id": ["005A"], "name": ["Ann Lee"], "region": ["EMEA"]})
    >>> groups = pd.DataFrame({"group_id": ["00GQ", "00GR"], "name": ["EMEA Queue", "All staff"],
    ...                        "type": ["Queue", "Regular"]})
    >>> owner_records(users, groups)
      owner_id        name region owner_kind
    0     005A     Ann Lee   EMEA       user
    1     00GQ  EMEA Queue    NaN      queue
    """
    for label, frame in (("users", users), ("groups", groups)):
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise TypeError(f"owner_records: {label} must be a DataFrame or None, got {type(frame).__name__}")
    if users is not None and "owner_id" not in users.columns:
        raise ValueError("owner_records: users has no owner_id column")
    if groups is not None and not {"group_id", "name"} <= set(groups.columns):
        raise ValueError("owner_records: groups needs group_id and name columns")
    people = (users if users is not None else pd.DataFrame({"owner_id": pd.Series(dtype="str")})).assign(
        owner_kind="user"
    )
    if groups is None or not len(groups):
        return people.reset_index(drop=True)
    kind = groups["type"].astype("str").str.strip().str.lower() if "type" in groups.columns else None
    is_queue = np.ones(len(groups), dtype=bool) if kind is None else (kind.isna() | (kind == "queue")).to_numpy()
    queues = groups[is_queue]
    q = pd.DataFrame({"owner_id": queues["group_id"].to_numpy(), "name": queues["name"].to_numpy()})
    if "email" in groups.columns:
        q["email"] = queues["email"].to_numpy()
    q["owner_kind"] = "queue"
    if not len(q):
        return people.reset_index(drop=True)
    return pd.concat([people, q], ignore_index=True)


#: (users, groups: each id, rows, columns) -> (weak references to both, their owner_records): the last few, read only.
_OWNERS: dict = {}


def _none() -> None:
    return None


def _owners(users: pd.DataFrame | None, groups: pd.DataFrame | None) -> pd.DataFrame:
    """:func:`owner_records` of these very tables, made once and shared (read, never changed, by the filters).

    Every filter with an ``owner`` relation on any table built it again (ten times in a ``where`` of the
    whole org, the same users each time: the users and queues are reference tables that a scope keeps whole).
    """
    key = tuple((id(f), len(f), tuple(f.columns)) if isinstance(f, pd.DataFrame) else (id(f),) for f in (users, groups))
    kept = _OWNERS.get(key)
    if kept is not None and kept[0]() is users and kept[1]() is groups:
        return kept[2]
    frame = owner_records(users, groups)
    try:
        refs = tuple(weakref.ref(f) if f is not None else _none for f in (users, groups))
    except TypeError:  # not weakly referable: not kept
        return frame
    while len(_OWNERS) >= 4:
        _OWNERS.pop(next(iter(_OWNERS)))
    _OWNERS[key] = (*refs, frame)
    return frame


@dataclass(frozen=True)
class _Scope:
    table: str
    columns: Mapping[str, str]  # column -> kind
    relations: Mapping[str, _Relation]


class _FrameKinds(Mapping):
    """Column -> kind of a frame, each kind worked out when first asked for."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.names = [c for c in frame.columns if isinstance(c, str)]
        self.known: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self.known:
            if name not in self.frame.columns:
                raise KeyError(name)
            self.known[name] = _kind_of(self.frame[name])
        return self.known[name]

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name in self.frame.columns


def _scope(tables: Mapping[str, pd.DataFrame] | None, table: str) -> _Scope:
    if not isinstance(table, str):
        raise ExpressionError(f"the table is named by a string, not {type(table).__name__}")
    spec = TABLES.get(table)
    if tables is None:
        if spec is None:
            raise ExpressionError(f"unknown table {table!r} (tables: {', '.join(TABLES)})")
        columns = {c.name: _KIND_BY_SCHEMA[c.kind] for c in spec.columns}
    else:
        if table not in tables:
            raise ExpressionError(f"no table {table!r} in the data (tables: {', '.join(tables)})")
        columns = _FrameKinds(tables[table])
    relations = {}
    for ref in spec.references if spec is not None else ():
        if not ref.column.endswith("_id"):
            continue
        name = ref.column.removesuffix("_id")
        target = TABLES[ref.table]
        owner = _is_owner_relation(ref.column, ref.table)
        problem, fields, frame = "", None, None
        if ref.column not in columns:
            problem = f"{table} has no {ref.column} column"
        elif tables is None:
            fields = {c.name: _KIND_BY_SCHEMA[c.kind] for c in target.columns}
            if owner:
                fields["owner_kind"] = "string"
        elif owner and (ref.table in tables or "groups" in tables):
            # the owners are the users and the queues (owner_records)
            users = tables.get(ref.table)
            if users is not None and target.key not in users.columns:
                problem = f"{ref.table} has no {target.key} column"
            else:
                groups = tables.get("groups")
                usable = groups is not None and {"group_id", "name"} <= set(groups.columns)
                frame = _owners(users, groups if usable else None)
                fields = _FrameKinds(frame)
        elif ref.table not in tables:
            problem = f"the {ref.table} table is not loaded"
        elif target.key not in tables[ref.table].columns:
            problem = f"{ref.table} has no {target.key} column"
        else:
            fields = _FrameKinds(tables[ref.table])
        relations[name] = _Relation(name, ref.column, ref.table, target.key, fields, problem, frame)
    return _Scope(table, columns, relations)


def _listing(names, limit: int = 40) -> str:
    names = list(names)
    if len(names) > limit:
        return ", ".join(names[:limit]) + f", ... ({len(names) - limit} more)"
    return ", ".join(names) or "none"


def _resolve(ref: ColumnRef, scope: _Scope) -> str:
    """The kind of a column or path, or an ExpressionError naming what exists."""
    if ref.relation is None:
        if ref.name in scope.columns:
            return scope.columns[ref.name]
        elsewhere = [r.name for r in scope.relations.values() if r.columns and ref.name in r.columns]
        if elsewhere:
            paths = " or ".join(f"{r}.{ref.name}" for r in elsewhere)
            hint = f"; {ref.name} is a field of a related record: write {paths}"
        else:
            close = difflib.get_close_matches(ref.name, list(scope.columns), n=1)
            if not close:  # a near miss of a related field: regon -> account.region
                fields = {f for r in scope.relations.values() for f in (r.columns or ())}
                near = difflib.get_close_matches(ref.name, sorted(fields), n=1)
                close = [
                    f"{r.name}.{near[0]}" for r in scope.relations.values() if near and near[0] in (r.columns or ())
                ]
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            hint += f" (known: {_listing(scope.columns)})"
        raise ExpressionError(f"unknown column {ref.name!r} on {scope.table}", position=ref.position, hint=hint)
    relation = scope.relations.get(ref.relation)
    if relation is None:
        known = _listing(scope.relations) if scope.relations else "none"
        raise ExpressionError(
            f"unknown relation {ref.relation!r} on {scope.table}",
            position=ref.position,
            hint=f" (relations: {known}; a relation is a reference column without its _id suffix)",
        )
    if relation.columns is None:
        raise ExpressionError(f"{ref.path!r} cannot be resolved: {relation.problem}", position=ref.position)
    if ref.name not in relation.columns:
        close = difflib.get_close_matches(ref.name, list(relation.columns), n=1)
        hint = f"; did you mean {ref.relation}.{close[0]}?" if close else ""
        raise ExpressionError(
            f"unknown field {ref.name!r} of {ref.relation} ({relation.table})",
            position=ref.position,
            hint=f"{hint} (known: {_listing(relation.columns)})",
        )
    return relation.columns[ref.name]


def _fit(column: ColumnRef, kind: str, value: Constant) -> Constant:
    """``value`` as compared with a column of ``kind``: an ISO string becomes a date for a date column."""
    if kind == "datetime" and value.kind == "string":
        if not _ISO_DATE.match(value.value.strip()):
            raise ExpressionError(
                f"{column.path} is a date; {value.to_text()} is not a date",
                position=value.position,
                hint=" (write date 'YYYY-MM-DD': a date column compares by the day)",
            )
        return Constant(_iso_date(value.value.strip(), value.position), position=value.position)
    ok = {
        "number": {"number"},
        "string": {"string", "date"},
        "bool": {"bool"},
        "datetime": {"date"},
    }.get(kind, set())
    if value.kind not in ok:
        raise ExpressionError(
            f"cannot compare {column.path} ({_KIND_WORDS[kind]}) with {value.to_text()} ({_KIND_WORDS[value.kind]})",
            position=value.position,
        )
    return value


def _check_node(node: Expression, scope: _Scope) -> Expression:
    if isinstance(node, Compare):
        left, right = node.left, node.right
        kinds = {}
        for side in (left, right):
            if isinstance(side, ColumnRef):
                kinds[id(side)] = _resolve(side, scope)
        if isinstance(left, ColumnRef) and isinstance(right, ColumnRef):
            lk, rk = kinds[id(left)], kinds[id(right)]
            if lk != rk or lk == "other":
                raise ExpressionError(
                    f"cannot compare {left.path} ({_KIND_WORDS[lk]}) with {right.path} ({_KIND_WORDS[rk]})",
                    position=left.position,
                )
            return node
        column, value = (left, right) if isinstance(left, ColumnRef) else (right, left)
        fitted = _fit(column, kinds[id(column)], value)
        if fitted is value:
            return node
        return replace(node, right=fitted) if value is right else replace(node, left=fitted)
    if isinstance(node, InList):
        kind = _resolve(node.column, scope)
        values = tuple(_fit(node.column, kind, v) for v in node.values)
        odd = next((v for v in values if v.kind != values[0].kind), None)
        if odd is not None:
            raise ExpressionError(
                f"the list of {node.column.path} mixes {_KIND_WORDS[values[0].kind]} and {_KIND_WORDS[odd.kind]}",
                position=odd.position,
            )
        changed = any(a is not b for a, b in zip(values, node.values))
        return replace(node, values=values) if changed else node
    if isinstance(node, IsNull):
        _resolve(node.column, scope)
        return node
    if isinstance(node, Not):
        return Not(_check_node(node.item, scope))
    if isinstance(node, (And, Or)):
        return type(node)(tuple(_check_node(i, scope) for i in node.items))
    raise ExpressionError(f"{type(node).__name__} is not an expression node")


def _as_expression(expr_or_text, label: str) -> tuple[Expression, str | None]:
    if isinstance(expr_or_text, Expression):
        return expr_or_text, None
    if isinstance(expr_or_text, str):
        return parse_expression(expr_or_text, label=label), expr_or_text
    raise ExpressionError(f"an expression is text or an Expression, not {type(expr_or_text).__name__}", label=label)


def check_expression(
    expr_or_text: str | Expression,
    tables: Mapping[str, pd.DataFrame] | None,
    table: str,
    *,
    label: str = "where",
) -> Expression:
    """Resolve and check the names and types of an expression against a table and its related tables.

    Parameters
    ----------
    expr_or_text : str or Expression
        The expression, or its text (parsed with :func:`parse_expression`).
    tables : mapping of str to DataFrame, or None
        The org's tables (``crm.tables``): columns and types come from the frames, related tables must be
        there. ``None``: from the canonical schema (:data:`funnel_analysis.crm.schema.TABLES`), to check a
        rule before any data is loaded.
    table : str
        The table the expression filters (``"opportunities"``).
    label : str, default "where"
        What the expression is, the first word of an error message.

    Returns
    -------
    Expression
        The checked tree, with ISO strings compared with date columns turned into dates.

    Raises
    ------
    ExpressionError
        On a syntax error, an unknown table, column, relation or field, or a comparison of incompatible
        types; the message names the position and what exists.

    Examples
    --------
    >>> str(check_expression("close_date >= '2024-01-01' and owner.region == 'EMEA'", None, "opportunities"))
    "close_date >= date '2024-01-01' and owner.region == 'EMEA'"
    >>> check_expression("region == 'EMEA'", None, "opportunities")
    Traceback (most recent call last):
    ...
    funnel_analysis.crm.expression.ExpressionError: where: unknown column 'region' on opportunities at position 1; region is a field of a related record: write account.region or owner.region
        region == 'EMEA'
        ^
    """
    expr, text = _as_expression(expr_or_text, label)
    try:
        return _check_node(expr, _scope(tables, table))
    except ExpressionError as e:
        raise e._in_context(label=label, text=text) from None


# --------------------------------------------------------------------------------------------------
# pandas


class _Rows:
    """The filtered table's columns and related fields, aligned to its index, fetched once each."""

    def __init__(self, tables: Mapping[str, pd.DataFrame], scope: _Scope):
        self.tables = tables
        self.scope = scope
        self.frame = tables[scope.table]
        self.cache: dict[tuple[str, str], pd.Series] = {}
        self.positions: dict[str, np.ndarray] = {}

    def raw(self, ref: ColumnRef) -> pd.Series:
        if ref.relation is None:
            return self.frame[ref.name]
        relation = self.scope.relations[ref.relation]
        target = self._target(relation)
        if relation.name not in self.positions:
            self.positions[relation.name] = self._join(relation, ref)
        pos = self.positions[relation.name]
        values = target[ref.name]
        if values.dtype == bool:
            values = values.astype("boolean")
        elif pd.api.types.is_integer_dtype(values.dtype) and not isinstance(
            values.dtype, pd.api.extensions.ExtensionDtype
        ):
            values = values.astype("Int64")
        return pd.Series(values.array.take(pos, allow_fill=True), index=self.frame.index, name=ref.path)

    def _target(self, relation: _Relation) -> pd.DataFrame:
        """The related records: a loaded table, or the owners (users and queues)."""
        return relation.frame if relation.frame is not None else self.tables[relation.table]

    def _join(self, relation: _Relation, ref: ColumnRef) -> np.ndarray:
        """Row of the related table for each row (-1: none), a left join on a unique key."""
        keys = self._target(relation)[relation.key]
        repeated = keys[keys.notna() & keys.duplicated(keep=False)]
        if len(repeated):
            raise ExpressionError(
                f"{ref.path!r} needs one {relation.table} row per {relation.key}, but "
                f"{repeated.nunique()} keys repeat (e.g. {repeated.iloc[0]!r})",
                position=ref.position,
            )
        own = self.frame[relation.column]
        if _kind_of(own) == "string" and _kind_of(keys) == "string":
            pos = index_in(own, keys)
        else:
            pos = pd.Index(keys).get_indexer(own)
        return np.where(own.isna().to_numpy(), -1, pos)

    def get(self, ref: ColumnRef, mode: str) -> pd.Series:
        """The column ready to compare: ``mode`` is its kind, or ``"day"`` for dates compared by the day."""
        key = (ref.path, mode)
        if key not in self.cache:
            s = self.raw(ref)
            if mode in ("datetime", "day"):
                if _kind_of(s) == "string":
                    s = pd.to_datetime(s, errors="coerce", utc=True, format="ISO8601")
                else:
                    s = pd.to_datetime(s, errors="coerce", utc=True)
                s = s.dt.tz_localize(None)
                if mode == "day":
                    s = s.dt.floor("D")
            elif mode == "number" and s.dtype == object:
                s = pd.to_numeric(s, errors="coerce")
            elif mode == "bool" and not pd.api.types.is_bool_dtype(s.dtype):
                s = s.astype("boolean")
            elif mode == "string" and not isinstance(s.dtype, pd.StringDtype):
                s = s.astype("string")
            self.cache[key] = s
        return self.cache[key]


def _known(values, null: np.ndarray) -> pd.arrays.BooleanArray:
    """A boolean array of ``values`` (False where missing), unknown where ``null``."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.api.extensions.ExtensionArray):
        values = values.fillna(False) if values.isna().any() else values
    data = np.asarray(values, dtype=bool)
    return pd.arrays.BooleanArray(data, null.copy())


def _mode(kind: str, other: Constant | None) -> str:
    if other is not None and other.kind == "date":
        return "day"
    return kind


def _value(c: Constant):
    return pd.Timestamp(c.value) if c.kind == "date" else c.value


def _eval(node: Expression, rows: _Rows) -> pd.arrays.BooleanArray:
    scope = rows.scope
    if isinstance(node, Compare):
        left, op, right = node.left, node.op, node.right
        if isinstance(left, Constant):
            left, op, right = right, _FLIP[op], left
        if isinstance(right, ColumnRef):
            kind = _resolve(left, scope)
            a, b = rows.get(left, kind), rows.get(right, kind)
            null = a.isna().to_numpy() | b.isna().to_numpy()
            return _known(_PY_OPS[op](a, b), null)
        s = rows.get(left, _mode(_resolve(left, scope), right))
        return _known(_PY_OPS[op](s, _value(right)), s.isna().to_numpy())
    if isinstance(node, InList):
        kind = _resolve(node.column, scope)
        mode = "day" if node.values[0].kind == "date" else kind
        s = rows.get(node.column, mode)
        values = [_value(v) for v in node.values]
        hit = _text_isin(s, values) if mode == "string" else s.isin(values)
        hit = np.asarray(hit.fillna(False), dtype=bool)
        return _known(~hit if node.negated else hit, s.isna().to_numpy())
    if isinstance(node, IsNull):
        null = rows.raw(node.column).isna().to_numpy()
        return _known(~null if node.negated else null, np.zeros(len(null), dtype=bool))
    if isinstance(node, Not):
        return ~_eval(node.item, rows)
    if isinstance(node, And):
        return functools.reduce(operator.and_, (_eval(i, rows) for i in node.items))
    if isinstance(node, Or):
        return functools.reduce(operator.or_, (_eval(i, rows) for i in node.items))
    raise ExpressionError(f"{type(node).__name__} is not an expression node")


def expression_mask(
    tables: Mapping[str, pd.DataFrame],
    table: str,
    *,
    where: str | Expression | None = None,
    label: str = "where",
) -> pd.Series:
    """The rows of ``tables[table]`` that an expression selects, as a boolean mask.

    Related fields (``account.region``) come from a left join on the reference column: every row is kept
    once (the related table's keys must be unique), and a row without a related record sees nulls. SQL
    three-valued logic: a comparison with a missing value is not true, and ``not`` of it is not true
    either, so such rows are not selected.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The org's tables (``crm.tables``): the filtered one and the related ones a path names.
    table : str
        The table to filter (``"opportunities"``).
    where : str, Expression or None, default None
        The expression; ``None`` or a blank string selects every row.
    label : str, default "where"
        What the expression is, the first word of an error message.

    Returns
    -------
    Series of bool
        Aligned to ``tables[table].index``.

    Raises
    ------
    ExpressionError
        When the expression does not parse or check (:func:`check_expression`), or a related table
        repeats a key that a path needs.

    Examples
    --------
    >>> import pandas as pd
    >>> tables = {
    ...     "opportunities": pd.DataFrame(
    ...         {"opportunity_id": ["o1", "o2", "o3"], "account_id": ["a1", "a2", None], "amount": [5.0, 20.0, None]}
    ...     ),
    ...     "accounts": pd.DataFrame({"account_id": ["a1", "a2"], "region": ["EMEA", "AMER"]}),
    ... }
    >>> expression_mask(tables, "opportunities", where="account.region == 'EMEA' or amount > 10").tolist()
    [True, True, False]
    >>> expression_mask(tables, "opportunities", where="not amount > 10").tolist()
    [True, False, False]
    >>> expression_mask(tables, "opportunities", where="amount > 'ten'")
    Traceback (most recent call last):
    ...
    funnel_analysis.crm.expression.ExpressionError: where: cannot compare amount (a number) with 'ten' (text) at position 10
        amount > 'ten'
                 ^
    """
    if where is None or (isinstance(where, str) and not where.strip()):
        if table not in tables:
            raise ExpressionError(f"no table {table!r} in the data (tables: {', '.join(tables)})", label=label)
        return pd.Series(True, index=tables[table].index, dtype=bool)
    values = expression_values(tables, table, where=where, label=label)  # unknown is not selected
    return pd.Series(values.fillna(False).to_numpy(dtype=bool), index=values.index)


def expression_values(
    tables: Mapping[str, pd.DataFrame],
    table: str,
    *,
    where: str | Expression,
    label: str = "where",
) -> pd.Series:
    """An expression's value on every row of ``tables[table]``: true, false or unknown (``<NA>``).

    The three-valued result :func:`expression_mask` reduces to "selected or not": a derived flag keeps
    the unknown rows unknown rather than calling them false.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The tables (the evaluated one and the related ones a path names).
    table : str
        The table to evaluate on.
    where : str or Expression
        The expression.
    label : str, default "where"
        What the expression is, the first word of an error message.

    Returns
    -------
    Series of boolean
        Nullable booleans aligned to ``tables[table].index``.

    Raises
    ------
    ExpressionError
        When the expression does not parse or check.

    Examples
    --------
    >>> import pandas as pd
    >>> t = {"opportunities": pd.DataFrame({"opportunity_id": ["o1", "o2"], "stage_name": ["Won", None]})}
    >>> expression_values(t, "opportunities", where="stage_name == 'Won'").tolist()
    [True, <NA>]
    """
    expr, text = _as_expression(where, label)
    try:
        scope = _scope(tables, table)
        rows = _Rows(tables, scope)
        result = _eval(_check_node(expr, scope), rows)
    except ExpressionError as e:
        raise e._in_context(label=label, text=text) from None
    return pd.Series(result, index=rows.frame.index, dtype="boolean")


# --------------------------------------------------------------------------------------------------
# DuckDB and SQL


def _sql_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _SQL_NAME.match(name):
        raise ExpressionError(f"{name!r} is not a usable {what} (letters, digits and '_')")
    return name


def _target(ref: ColumnRef, table: str | None, relations: Mapping[str, str] | None) -> tuple[str, ...]:
    """The (qualifier, column) or (column,) that a column or path becomes in the engine."""
    if relations and ref.path in relations:
        return (_sql_name(relations[ref.path], f"column for {ref.path}"),)
    if ref.relation is not None:
        return (ref.relation, ref.name)
    return (ref.name,) if table is None else (table, ref.name)


def to_duckdb_expression(
    expr: str | Expression,
    *,
    table: str | None,
    relations: Mapping[str, str] | None = None,
) -> duckdb.Expression:
    """The expression as a DuckDB ``Expression``, for ``DuckDBPyRelation.filter``.

    Built with DuckDB's Expression API: columns are ``ColumnExpression``, values ``ConstantExpression``;
    nothing is pasted into SQL text. Columns of the filtered table are qualified with ``table``
    (``"opportunities"."amount"``) and a path ``account.region`` is ``"account"."region"``: join each
    related table under its relation's name (``accounts`` aliased ``account``, on
    ``account.account_id = opportunities.account_id``, a left join), or map the path to a plain column
    with ``relations`` (``{"account.region": "account__region"}``). A date is compared with
    ``CAST(column AS DATE)``, the day in the session time zone: set ``TimeZone`` to ``'UTC'`` (DuckDB's
    default in a UTC process) for the same days as :func:`expression_mask`.

    Parameters
    ----------
    expr : str or Expression
        The expression; check it first (:func:`check_expression`) for clear name errors.
    table : str or None
        Alias of the filtered table in the relation (``None``: its columns unqualified).
    relations : mapping of str to str, optional
        Path or column (``"account.region"``, ``"amount"``) -> the relation's column that holds it.

    Returns
    -------
    duckdb.Expression
        A boolean expression.

    Raises
    ------
    ExpressionError
        When ``expr`` does not parse, or ``table`` or a mapped column is not a plain name.

    Examples
    --------
    >>> import duckdb, pandas as pd
    >>> con = duckdb.connect()
    >>> opps = pd.DataFrame({"opportunity_id": ["o1", "o2"], "account_id": ["a1", "a2"], "amount": [5.0, 20.0]})
    >>> accounts = pd.DataFrame({"account_id": ["a1", "a2"], "region": ["EMEA", "AMER"]})
    >>> rel = con.from_df(opps).set_alias("opportunities").join(
    ...     con.from_df(accounts).set_alias("account"), "opportunities.account_id = account.account_id", how="left"
    ... )
    >>> expr = to_duckdb_expression("account.region == 'EMEA' or amount > 10", table="opportunities")
    >>> str(expr)
    '(("account"."region" = \\'EMEA\\') OR ("opportunities"."amount" > 10))'
    >>> sorted(rel.filter(expr).select("opportunity_id").fetchall())
    [('o1',), ('o2',)]
    >>> to_duckdb_expression("amount > 1", table="opportunities; drop")
    Traceback (most recent call last):
    ...
    funnel_analysis.crm.expression.ExpressionError: 'opportunities; drop' is not a usable table alias (letters, digits and '_')
    """
    import duckdb

    expr, text = _as_expression(expr, "where")
    if table is not None:
        _sql_name(table, "table alias")
    date_type = (getattr(duckdb, "sqltype", None) or duckdb.type)("DATE")

    def column(ref: ColumnRef, as_day: bool):
        c = duckdb.ColumnExpression(*_target(ref, table, relations))
        return c.cast(date_type) if as_day else c

    def constant(c: Constant):
        return duckdb.ConstantExpression(c.value)

    def build(node: Expression):
        if isinstance(node, Compare):
            left, op, right = node.left, node.op, node.right
            if isinstance(left, Constant):
                left, op, right = right, _FLIP[op], left
            if isinstance(right, ColumnRef):
                return _PY_OPS[op](column(left, False), column(right, False))
            return _PY_OPS[op](column(left, right.kind == "date"), constant(right))
        if isinstance(node, InList):
            c = column(node.column, node.values[0].kind == "date")
            values = [constant(v) for v in node.values]
            return c.isnotin(*values) if node.negated else c.isin(*values)
        if isinstance(node, IsNull):
            c = column(node.column, False)
            return c.isnotnull() if node.negated else c.isnull()
        if isinstance(node, Not):
            return ~build(node.item)
        if isinstance(node, And):
            return functools.reduce(operator.and_, (build(i) for i in node.items))
        if isinstance(node, Or):
            return functools.reduce(operator.or_, (build(i) for i in node.items))
        raise ExpressionError(f"{type(node).__name__} is not an expression node")

    try:
        return build(expr)
    except ExpressionError as e:
        raise e._in_context(label="where", text=text) from None


@dataclass(frozen=True)
class SqlFilter:
    """A SQL condition and its bound parameters, for ``cursor.execute(sql, params)``.

    Use it as ``cursor.execute(f"SELECT ... WHERE {f.text}", f.params)``: the text holds only quoted
    identifiers and placeholders, every value is in ``params``.

    Attributes
    ----------
    text : str
        The condition, with ``?`` (``paramstyle="qmark"``), ``%s`` (``"format"``) or ``$w0``, ``$w1`` ...
        (``"dollar"``) placeholders.
    params : tuple
        The values, in placeholder order.
    """

    text: str
    params: tuple

    @property
    def named(self) -> dict:
        """The values by placeholder name (``{"w0": ...}``), for ``paramstyle="dollar"``."""
        return {f"w{i}": v for i, v in enumerate(self.params)}


def quote_identifier(name: str) -> str:
    """A SQL identifier in double quotes, with embedded double quotes doubled (standard SQL, DuckDB, Postgres).

    Parameters
    ----------
    name : str
        The identifier.

    Returns
    -------
    str
        The quoted identifier.

    Raises
    ------
    ExpressionError
        When ``name`` is not a non-empty string without NUL characters.

    Examples
    --------
    >>> quote_identifier("amount"), quote_identifier('we"ird')
    ('"amount"', '"we""ird"')
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ExpressionError(f"{name!r} is not an identifier")
    return '"' + name.replace('"', '""') + '"'


def to_sql(
    expr: str | Expression,
    *,
    table: str | None = None,
    relations: Mapping[str, str] | None = None,
    paramstyle: str = "qmark",
    quote: Callable[[str], str] = quote_identifier,
) -> SqlFilter:
    """The expression as SQL text with placeholders and a tuple of bound parameters.

    Identifiers come only from the expression's names (letters, digits, ``_``: the grammar allows
    nothing else), ``table`` and ``relations``, and are always quoted (``quote``); every value is a bound
    parameter. Columns are qualified as in :func:`to_duckdb_expression`: ``"<table>"."<column>"`` (or
    bare without ``table``), ``"<relation>"."<field>"`` for a path (join the related table under its
    relation's name), or the column ``relations`` maps a path to. A date compares with
    ``CAST(column AS DATE)`` (the day in the session time zone: use UTC). String ordering follows the
    database's collation (DuckDB: binary, as pandas; Postgres: the column's collation).

    Parameters
    ----------
    expr : str or Expression
        The expression; check it first (:func:`check_expression`) for clear name errors.
    table : str, optional
        Alias of the filtered table, to qualify its columns.
    relations : mapping of str to str, optional
        Path or column -> the column that holds it (unqualified).
    paramstyle : {"qmark", "format", "dollar"}, default "qmark"
        ``?`` placeholders (DuckDB, SQLite), ``%s`` (psycopg for Postgres), or ``$w0``, ``$w1`` ...
        (named, for :meth:`funnel_analysis.engine.base.Engine.sql`: :attr:`SqlFilter.named` gives the
        dict; ``w`` keeps them apart from a query's own ``$day``).
    quote : callable, default :func:`quote_identifier`
        Quotes one identifier.

    Returns
    -------
    SqlFilter
        ``text`` and ``params``.

    Raises
    ------
    ExpressionError
        When ``expr`` does not parse, ``paramstyle`` is unknown, or ``table`` or a mapped column is not a
        plain name.

    Examples
    --------
    >>> f = to_sql("account.region in ('EMEA', 'APAC') and name == \\"O'Brien\\"", table="opportunities")
    >>> f.text
    '("account"."region" IN (?, ?) AND "opportunities"."name" = ?)'
    >>> f.params
    ('EMEA', 'APAC', "O'Brien")
    >>> g = to_sql("amount > 1 and stage_name in ('Won', 'Lost')", paramstyle="dollar")
    >>> g.text, g.named
    ('("amount" > $w0 AND "stage_name" IN ($w1, $w2))', {'w0': 1, 'w1': 'Won', 'w2': 'Lost'})
    >>> to_sql("amount > 1", paramstyle="named")
    Traceback (most recent call last):
    ...
    funnel_analysis.crm.expression.ExpressionError: paramstyle is 'qmark', 'format' or 'dollar', not 'named'
    """
    placeholders = {"qmark": "?", "format": "%s", "dollar": "$w"}
    if paramstyle not in placeholders:
        raise ExpressionError(f"paramstyle is 'qmark', 'format' or 'dollar', not {paramstyle!r}")
    mark = placeholders[paramstyle]
    expr, text = _as_expression(expr, "where")
    if table is not None:
        _sql_name(table, "table alias")
    params: list = []

    def column(ref: ColumnRef, as_day: bool) -> str:
        sql = ".".join(quote(part) for part in _target(ref, table, relations))
        if paramstyle == "format":
            sql = sql.replace("%", "%%")
        return f"CAST({sql} AS DATE)" if as_day else sql

    def value(c: Constant) -> str:
        params.append(c.value)
        return f"{mark}{len(params) - 1}" if paramstyle == "dollar" else mark

    def build(node: Expression) -> str:
        if isinstance(node, Compare):
            left, op, right = node.left, node.op, node.right
            if isinstance(left, Constant):
                left, op, right = right, _FLIP[op], left
            if isinstance(right, ColumnRef):
                return f"{column(left, False)} {_SQL_OPS[op]} {column(right, False)}"
            return f"{column(left, right.kind == 'date')} {_SQL_OPS[op]} {value(right)}"
        if isinstance(node, InList):
            c = column(node.column, node.values[0].kind == "date")
            marks = ", ".join(value(v) for v in node.values)
            return f"{c} {'NOT IN' if node.negated else 'IN'} ({marks})"
        if isinstance(node, IsNull):
            return f"{column(node.column, False)} IS {'NOT ' if node.negated else ''}NULL"
        if isinstance(node, Not):
            return f"(NOT {build(node.item)})"
        if isinstance(node, (And, Or)):
            word = " AND " if isinstance(node, And) else " OR "
            return "(" + word.join(build(i) for i in node.items) + ")"
        raise ExpressionError(f"{type(node).__name__} is not an expression node")

    try:
        sql = build(expr)
    except ExpressionError as e:
        raise e._in_context(label="where", text=text) from None
    return SqlFilter(sql, tuple(params))
