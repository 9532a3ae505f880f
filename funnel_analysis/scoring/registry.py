"""A model registry on disk: versions with metadata, integrity checks, promotion and rollback.

Layout of a registry folder::

    registry.json              promoted version and the promotion history
    v0001/model.skops          the fitted estimator (skops format: loading runs no code)
    v0001/meta.json            features, training window, data fingerprint, metrics, library
                               versions, and the SHA-256 of model.skops

:meth:`Registry.load` refuses (:class:`RegistryError`) an artifact whose
SHA-256 differs from the one recorded, one built with another scikit-learn
minor version (estimators are not guaranteed to load across them), and one
that holds a type outside the allow-list (scikit-learn, NumPy, SciPy and this
package's scoring module).

Examples
--------
>>> import tempfile, numpy as np, pandas as pd
>>> from funnel_analysis.scoring import LeadScorer
>>> X = pd.DataFrame({"x": np.arange(200.0)}); y = (X["x"] > 100).astype(int)
>>> reg = Registry(tempfile.mkdtemp())
>>> v = reg.save(LeadScorer(kind="logistic", calibration="none").fit(X, y), {"metrics": {"roc_auc": 1.0}})
>>> v, reg.load(v).meta["version"]
('v0001', 'v0001')
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["Registry", "RegistryError", "RegisteredModel", "library_versions", "ALLOWED_MODULES", "ALLOWED_TYPES"]

#: Types from these modules may be loaded from an artifact; anything else is refused.
ALLOWED_MODULES = ("sklearn.", "numpy.", "scipy.", "funnel_analysis.scoring.", "builtins.")
#: And these exact types: HistGradientBoosting keeps a ``functools.partial`` of scikit-learn's
#: ``check_array`` in its preprocessor; skops lists the function a partial wraps as a type of its own,
#: so what it wraps is still checked against the modules above.
ALLOWED_TYPES = frozenset({"functools.partial"})


def _outside_allow_list(untrusted) -> list:
    return [t for t in untrusted if not t.startswith(ALLOWED_MODULES) and t not in ALLOWED_TYPES]


class RegistryError(RuntimeError):
    """A registry operation that cannot be done safely (tampered or incompatible artifact, unknown version)."""


@dataclasses.dataclass(frozen=True)
class RegisteredModel:
    """A version loaded from a registry (what :meth:`Registry.load` returns).

    Attributes
    ----------
    version : str
        The version name (``v0003``).
    model : LeadScorer
        The fitted estimator, after the integrity checks.
    meta : Mapping[str, Any]
        Its metadata (``meta.json``): features, params, split, metrics, libraries, ...
    """

    version: str
    model: Any
    meta: Mapping[str, Any]


def library_versions() -> Mapping[str, str]:
    """Versions that decide whether an artifact can be loaded: Python, scikit-learn, NumPy, pandas, skops.

    Returns
    -------
    Mapping[str, str]
        Library name -> version.
    """
    import numpy
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
        "skops": skops.__version__,
    }


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _minor(v: str) -> tuple:
    return tuple(v.split(".")[:2])


class Registry:
    """Versions of lead-scoring models in ``root`` (created on first save).

    Parameters
    ----------
    root : str or Path
        The registry folder.
    """

    def __init__(self, root):
        self.root = Path(root)

    # ---- state ---------------------------------------------------------------------------
    def _state(self) -> dict:
        p = self.root / "registry.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {"promoted": None, "history": []}

    def _write_state(self, state: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "registry.json.tmp"
        tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
        tmp.replace(self.root / "registry.json")

    def versions(self) -> list[str]:
        """Saved versions, oldest first.

        Returns
        -------
        list of str
            Version names (``v0001``, ...).
        """
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and (p / "meta.json").exists())

    @property
    def promoted(self) -> str | None:
        """The promoted version, or None."""
        return self._state()["promoted"]

    def meta(self, version: str) -> Mapping[str, Any]:
        """The metadata of ``version``.

        Parameters
        ----------
        version : str
            A saved version.

        Returns
        -------
        Mapping[str, Any]
            The contents of its ``meta.json``.

        Raises
        ------
        RegistryError
            For an unknown version.
        """
        p = self.root / str(version) / "meta.json"
        if not p.exists():
            raise RegistryError(f"{self.root}: no version {version!r} (have {self.versions()})")
        return json.loads(p.read_text(encoding="utf-8"))

    # ---- saving and loading --------------------------------------------------------------
    def save(self, model, meta: Mapping[str, Any]) -> str:
        """Save a fitted model with its metadata as the next version.

        Parameters
        ----------
        model : LeadScorer
            A fitted model.
        meta : Mapping[str, Any]
            Its metadata (JSON-safe), such as ``TrainingResult.metadata(crm)``; the version, time,
            library versions and the artifact's SHA-256 are added.

        Returns
        -------
        str
            The new version's name.

        Raises
        ------
        RegistryError
            For a model that is not fitted or holds types outside the allow-list.
        """
        import skops.io as sio

        if not hasattr(model, "base_"):
            raise RegistryError("the model is not fitted: fit it before saving")
        existing = self.versions()
        version = f"v{(int(existing[-1][1:]) + 1) if existing else 1:04d}"
        folder = self.root / version
        artifact = sio.dumps(model)
        bad = _outside_allow_list(sio.get_untrusted_types(data=artifact))
        if bad:  # checked before anything is written: a refused model leaves no half version behind
            raise RegistryError(f"the model holds types outside the allow-list: {bad}")
        folder.mkdir(parents=True, exist_ok=False)
        path = folder / "model.skops"
        path.write_bytes(artifact)
        doc = {
            **meta,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "libraries": library_versions(),
            "artifact": {"file": "model.skops", "sha256": _sha256(path)},
            "model_class": f"{type(model).__module__}.{type(model).__name__}",
        }
        (folder / "meta.json").write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        return version

    def load(self, version: str | None = None) -> RegisteredModel:
        """The model and metadata of ``version`` (default: the promoted one), after the integrity checks.

        Parameters
        ----------
        version : str, optional
            A saved version; None for the promoted one.

        Returns
        -------
        RegisteredModel
            version, model and meta.

        Raises
        ------
        RegistryError
            Unknown version, nothing promoted, hash mismatch, incompatible scikit-learn,
            or a type outside :data:`ALLOWED_MODULES`.
        """
        import skops.io as sio

        version = version or self.promoted
        if version is None:
            raise RegistryError(f"{self.root}: no version is promoted; give a version (have {self.versions()})")
        meta = self.meta(version)
        path = self.root / version / meta["artifact"]["file"]
        if not path.exists():
            raise RegistryError(f"{path}: artifact missing")
        digest = _sha256(path)
        if digest != meta["artifact"]["sha256"]:
            raise RegistryError(
                f"{path}: SHA-256 {digest[:12]}... does not match the recorded "
                f"{meta['artifact']['sha256'][:12]}...: the artifact was changed; refusing to load"
            )
        built = meta["libraries"]["scikit-learn"]
        here = library_versions()["scikit-learn"]
        if _minor(built) != _minor(here):
            raise RegistryError(
                f"{path}: built with scikit-learn {built}, this is {here}: retrain it "
                f"(estimators do not load safely across minor versions)"
            )
        untrusted = sio.get_untrusted_types(file=path)
        bad = _outside_allow_list(untrusted)
        if bad:
            raise RegistryError(f"{path}: holds types outside the allow-list: {bad}; refusing to load")
        return RegisteredModel(version=version, model=sio.load(path, trusted=untrusted), meta=meta)

    # ---- promotion -----------------------------------------------------------------------
    def promote(self, version: str, *, reason: str = "") -> None:
        """Make ``version`` the promoted one (the history keeps every promotion, for rollback).

        Parameters
        ----------
        version : str
            A saved version.
        reason : str
            Why, kept in the history.

        Raises
        ------
        RegistryError
            For an unknown version.
        """
        self.meta(version)  # raises for an unknown version
        state = self._state()
        state["history"].append(
            {
                "version": version,
                "from": state["promoted"],
                "reason": reason,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        state["promoted"] = version
        self._write_state(state)

    def rollback(self) -> str:
        """Promote again the version that was promoted before the current one.

        Returns
        -------
        str
            The version promoted again.

        Raises
        ------
        RegistryError
            When there is nothing to roll back to.
        """
        state = self._state()
        if state["promoted"] is None or not state["history"] or state["history"][-1]["from"] is None:
            raise RegistryError(f"{self.root}: nothing to roll back to")
        previous = state["history"][-1]["from"]
        self.promote(previous, reason=f"rollback from {state['promoted']}")
        return previous

    def table(self) -> pd.DataFrame:
        """One row per version: created_at, model kind, training window, roc_auc, baseline, promoted.

        Returns
        -------
        DataFrame
            version, created_at, kind, train_from, train_to, roc_auc, baseline_roc_auc, ece, promoted.
        """
        rows = []
        promoted = self.promoted
        for v in self.versions():
            m = self.meta(v)
            met = m.get("metrics", {})
            kind = m.get("model_kind", m.get("params", {}).get("kind"))
            rows.append(
                {
                    "version": v,
                    "created_at": m.get("created_at"),
                    "kind": kind,
                    "train_from": m.get("training_window", {}).get("from"),
                    "train_to": m.get("training_window", {}).get("to"),
                    "roc_auc": met.get("roc_auc"),
                    "baseline_roc_auc": met.get("baseline_roc_auc"),
                    "ece": met.get("ece"),
                    "promoted": v == promoted,
                }
            )
        return pd.DataFrame(
            rows,
            columns=[
                "version",
                "created_at",
                "kind",
                "train_from",
                "train_to",
                "roc_auc",
                "baseline_roc_auc",
                "ece",
                "promoted",
            ],
        )
