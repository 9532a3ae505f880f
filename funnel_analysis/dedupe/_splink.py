"""The one place de-duplication touches splink's private names (pinned by ``tests/dedupe/test_splink_adapter.py``).

splink 5 has no public way to read or set a trained model's prior, to list its comparisons with
their level labels, or to name the exception EM raises when a block cannot train. Everything of
that kind goes through these few functions, so that a splink upgrade is checked (and fixed) here
and nowhere else; ``pyproject.toml`` pins splink below its next minor version for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping


def em_training_error() -> type[Exception]:
    """The exception splink raises when expectation maximisation cannot train a block."""
    from splink.internals.exceptions import EMTrainingException

    return EMTrainingException


def prior(linker) -> float:
    """The model's probability that two random records match (``probability_two_random_records_match``)."""
    return float(linker._settings_obj._probability_two_random_records_match)


def set_prior(linker, probability: float) -> None:
    """Set the model's probability that two random records match (the linker is changed in place)."""
    linker._settings_obj._probability_two_random_records_match = float(probability)


def comparison_levels(linker) -> Mapping[str, Mapping[int, str]]:
    """Per comparison (its output column name, in the model's order): comparison vector value -> level label.

    The values are those of splink's ``gamma_<comparison>`` columns (-1 is the null level).
    """
    return {
        comp.output_column_name: {lv.comparison_vector_value: lv.label_for_charts for lv in comp.comparison_levels}
        for comp in linker._settings_obj.comparisons
    }


def bound_unobserved_u(linker, u: float) -> list[str]:
    """Set ``u`` of every level that random sampling never reached (the linker is changed in place).

    splink leaves such a level at its default *u* (a fixed +10 match weight for the top level, a
    negative one below it); returns the levels set, as ``"<comparison>: <level>"``.
    """
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    done = []
    for comp in linker._settings_obj.comparisons:
        for lv in comp.comparison_levels:
            if not lv.is_null_level and lv._u_probability in (None, LEVEL_NOT_OBSERVED_TEXT):
                lv.u_probability = float(u)
                done.append(f"{comp.output_column_name}: {lv.label_for_charts}")
    return done
