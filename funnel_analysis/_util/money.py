"""Money as people write it: a currency's symbol from its ISO code (Unicode CLDR, through babel).

Examples
--------
>>> currency_symbol("EUR")
'€'
>>> currency_symbol("CHF")
'CHF '
>>> currency_symbol("$")
'$'
"""

from __future__ import annotations

__all__ = ["currency_symbol"]


def currency_symbol(currency: str) -> str:
    """The symbol written before an amount: ``"USD"`` -> ``"$"``, ``"CHF"`` -> ``"CHF "``; a symbol stays.

    A code without a symbol of its own in English (CLDR ``en_US``) is written as the code and a space.
    """
    code = str(currency or "").strip()
    if len(code) == 3 and code.isalpha() and code.isupper():
        from babel.numbers import get_currency_symbol

        symbol = get_currency_symbol(code, locale="en_US")
        return f"{code} " if symbol == code else symbol
    return code
