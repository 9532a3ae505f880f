"""What de-duplication relies on in splink's private names, pinned on a real small linkage (no mocks).

Everything private goes through ``funnel_analysis/dedupe/_splink.py``; when a splink upgrade breaks
a test here, fix the adapter (and the pin in ``pyproject.toml``), not the modules that use it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from funnel_analysis.dedupe import _splink, person_features
from funnel_analysis.dedupe.match import train_model

DEDUPE = Path(__file__).resolve().parents[2] / "funnel_analysis" / "dedupe"
PRIVATE = re.compile(r"_settings_obj|splink\.internals|\._probability_two_random|\._output_column_name")

PEOPLE = pd.DataFrame(
    {
        "lead_id": [f"L{i}" for i in range(6)],
        "first_name": ["Ann", "Ann", "Bob", "Robert", "Cy", "Di"],
        "last_name": ["Lee", "Lee", "Stone", "Stone", "Vance", "Wu"],
        "email": ["ann@lee.io", "ann@lee.io", "bob@s.io", "bob@s.io", "cy@v.io", "di@w.io"],
    }
)


@pytest.fixture(scope="module")
def model():
    return train_model(person_features(PEOPLE), seed=1)


def test_no_private_splink_name_outside_the_adapter():
    offenders = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(DEDUPE.glob("*.py"))
        if path.name != "_splink.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert offenders == []


def test_the_prior_reads_and_sets(model):
    linker = model.linker
    prior = _splink.prior(linker)
    assert isinstance(prior, float) and 0 < prior < 1
    # it is the value splink saves with the model
    assert prior == pytest.approx(linker.misc.save_model_to_json()["probability_two_random_records_match"])
    _splink.set_prior(linker, 0.25)
    assert _splink.prior(linker) == 0.25
    assert linker.misc.save_model_to_json()["probability_two_random_records_match"] == 0.25
    _splink.set_prior(linker, prior)


def test_comparison_levels_name_the_gamma_values_of_predictions(model):
    levels = _splink.comparison_levels(model.linker)
    assert list(levels) == ["name", "email"]  # the comparisons person_comparisons built, in order
    assert levels["email"] == {-1: "email is NULL", 1: "Exact match on email", 0: "All other comparisons"}
    # the same names splink saves, and every gamma value of a prediction has its label
    saved = model.linker.misc.save_model_to_json()["comparisons"]
    assert [c["output_column_name"] for c in saved] == list(levels)
    pred = model.linker.inference.predict(threshold_match_probability=0.0).as_pandas_dataframe()
    for name, labels in levels.items():
        assert set(pred[f"gamma_{name}"]) <= set(labels)
        assert f"mw_{name}" in pred.columns


def test_the_em_error_is_what_splink_raises():
    err = _splink.em_training_error()
    assert issubclass(err, Exception) and err.__name__ == "EMTrainingException"
    import splink.internals.em_training_session as em

    assert em.EMTrainingException is err


def test_levels_random_sampling_never_reached_get_the_rule_of_three_bound(model):
    # 6 people: 15 pairs, all drawn; a level none of them reaches gets u = 3 / 15 (not splink's default)
    saved = {
        (c["output_column_name"], lv["label_for_charts"]): lv.get("u_probability")
        for c in model.linker.misc.save_model_to_json()["comparisons"]
        for lv in c["comparison_levels"]
    }
    # by hand: no two of the six have their names swapped; Ann Lee twice is 1 pair of 15 with the same names
    assert saved[("name", "names swapped")] == pytest.approx(3 / 15)
    assert saved[("name", "same names")] == pytest.approx(1 / 15)
    assert _splink.bound_unobserved_u(model.linker, 0.01) == []  # nothing left unset
