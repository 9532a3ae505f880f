"""The registry: versions, integrity, refusal of tampered or incompatible artifacts, promotion."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from funnel_analysis.scoring import LeadScorer, Registry, RegistryError


class NotAllowed:  # a type from outside the allow-list
    pass


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b"], 300)})
    y = (rng.random(300) < 1 / (1 + np.exp(-2 * X["x"]))).astype(int)
    return LeadScorer(kind="logistic").fit(X, y), X


def test_round_trip_gives_the_same_predictions(tmp_path, fitted):
    model, X = fitted
    reg = Registry(tmp_path)
    v = reg.save(model, {"metrics": {"roc_auc": 0.8, "baseline_roc_auc": 0.6}, "features": ["x", "c"]})
    loaded = reg.load(v)
    assert loaded.version == v
    np.testing.assert_allclose(loaded.model.predict_proba(X), model.predict_proba(X))
    meta = loaded.meta
    assert meta["libraries"]["scikit-learn"] and len(meta["artifact"]["sha256"]) == 64
    assert reg.table()["version"].tolist() == ["v0001"]


@pytest.mark.parametrize("kind", ["gbm", "auto"])
def test_a_gradient_boosting_model_round_trips(tmp_path, fitted, kind):
    """HistGradientBoosting keeps a functools.partial inside; the model still saves and loads."""
    _, X = fitted
    y = (X["x"] + 0.5 * (X["c"] == "a") > 0).astype(int)
    model = LeadScorer(kind=kind, max_iter=20).fit(X, y)
    reg = Registry(tmp_path)
    loaded = reg.load(reg.save(model, {})).model
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_tampered_artifact_is_refused(tmp_path, fitted):
    reg = Registry(tmp_path)
    v = reg.save(fitted[0], {})
    path = tmp_path / v / "model.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match="SHA-256.*refusing"):
        reg.load(v)


def test_incompatible_library_version_is_refused(tmp_path, fitted):
    reg = Registry(tmp_path)
    v = reg.save(fitted[0], {})
    meta_path = tmp_path / v / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["libraries"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(RegistryError, match="scikit-learn 0.24.2"):
        reg.load(v)


def test_types_outside_the_allow_list_are_refused(tmp_path, fitted):
    import copy

    bad = copy.deepcopy(fitted[0])
    bad.extra_ = NotAllowed()
    with pytest.raises(RegistryError, match="allow-list"):
        Registry(tmp_path).save(bad, {})
    assert not (tmp_path / "v0001").exists()  # nothing half-written blocks the next save
    assert Registry(tmp_path).save(fitted[0], {}) == "v0001"


def test_promote_and_roll_back(tmp_path, fitted):
    reg = Registry(tmp_path)
    v1, v2 = reg.save(fitted[0], {}), reg.save(fitted[0], {})
    with pytest.raises(RegistryError, match="no version is promoted"):
        reg.load()
    with pytest.raises(RegistryError, match="nothing to roll back"):
        reg.rollback()
    reg.promote(v1)
    reg.promote(v2)
    assert reg.promoted == v2 and reg.load().meta["version"] == v2 == reg.load().version
    assert reg.rollback() == v1 and reg.promoted == v1
    with pytest.raises(RegistryError, match="no version 'v0009'"):
        reg.promote("v0009")
    with pytest.raises(RegistryError, match="not fitted"):
        reg.save(LeadScorer(), {})
