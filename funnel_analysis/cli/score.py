"""The ``funnel score`` commands: train, evaluate, promote (or roll back), predict, list.

Models live in a registry folder (``--registry``, default ``models/``). Errors
about the data or the registry print one line ``error: ...`` naming the file,
column and rule, and exit with status 2.

Examples
--------
.. code-block:: console

    $ funnel score train data/sample --json
    $ funnel score train ../shared/realdata/x_education_leads --mapping x_education --json
    $ funnel score list
    $ funnel score evaluate data/sample v0002          # against the promoted version, same held-out leads
    $ funnel score promote v0002                       # refused unless it beats the points baseline
    $ funnel score promote --rollback
    $ funnel score predict data/sample --out scores.csv
"""

from __future__ import annotations

import json
import math

import click

from .common import engine_option, fail, json_option, load_or_fail, mapping_option

__all__ = ["score_command"]

_REGISTRY = click.option(
    "--registry",
    "registry_dir",
    default="models",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Model registry folder.",
)
_MAPPING = mapping_option("Mapping file or built-in mapping name (x_education, ...).")
_WHERE = click.option(
    "--where",
    default="",
    help="Only the leads this selects, e.g. \"owner.region == 'EMEA'\" (see funnel_analysis.crm.expression).",
)


def _clean(obj):
    """JSON-safe: NaN -> null."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


@click.group("score", context_settings={"help_option_names": ["-h", "--help"]})
def score_command():
    """Lead scoring: train, evaluate, promote or roll back, predict, list model versions."""


@score_command.command("train")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@_MAPPING
@_REGISTRY
@click.option("--as-of", "as_of", default=None, help="Training date (YYYY-MM-DD); default: the latest in the data.")
@click.option(
    "--window-days",
    default=90,
    show_default=True,
    type=int,
    help="A lead counts as converted when it converted within this many days of creation.",
)
@click.option(
    "--delay-days",
    default=0.0,
    show_default=True,
    type=float,
    help="Score leads this many days after creation (features known by then).",
)
@_WHERE
@click.option("--kind", type=click.Choice(["auto", "gbm", "logistic"]), default="auto", show_default=True)
@click.option(
    "--split",
    type=click.Choice(["auto", "time", "order", "cv"]),
    default="auto",
    show_default=True,
    help="Held-out leads: the newest by date (time) or by creation sequence (order), or cross-validation; "
    "auto takes the first the data allow.",
)
@click.option(
    "--points",
    "points_path",
    default=None,
    type=click.Path(dir_okay=False),
    help="Points-score YAML (default: the shipped scoring/points_score.yaml).",
)
@click.option(
    "--promote/--no-promote",
    default=False,
    help="Promote the new version if it beats the points baseline on the held-out leads.",
)
@engine_option()
@json_option("Print the evaluation as one JSON object.")
def train_cmd(
    folder,
    mapping,
    registry_dir,
    as_of,
    window_days,
    delay_days,
    where,
    kind,
    split,
    points_path,
    promote,
    engine,
    as_json,
):
    """Train and evaluate a new model version on FOLDER and save it in the registry."""
    from ..scoring import Registry, RegistryError, ScoringDataError, train

    crm = load_or_fail(folder, mapping, engine=engine)
    try:
        result = train(
            crm,
            as_of=as_of,
            where=where,
            window_days=window_days,
            delay_days=delay_days,
            kind=kind,
            points_path=points_path,
            split=split,
        )
        reg = Registry(registry_dir)
        version = reg.save(result.model, result.metadata(crm))
        promoted = False
        if promote and result.beats_baseline:
            reg.promote(version, reason="trained with --promote; beats the points baseline")
            promoted = True
    except (ScoringDataError, RegistryError, ValueError) as exc:
        fail(exc)
    m = result.metrics
    doc = {
        "version": version,
        "registry": str(reg.root),
        "model_kind": result.model.kind_,
        "calibration": result.model.calibration_method_,
        **m,
        "leakage_flagged": result.leakage.loc[result.leakage["flagged"], "source_name"].tolist(),
        "rule_excluded": result.excluded["source_name"].tolist(),
        "split": result.split,
        "features": result.features,
        "beats_baseline": result.beats_baseline,
        "promoted": promoted,
    }
    if as_json:
        click.echo(json.dumps(_clean(doc), indent=1, default=str))
        return
    click.echo(
        f"version {version} ({result.model.kind_}, {result.model.calibration_method_} calibration) saved in {reg.root}"
    )
    click.echo(
        f"split: {result.split['method']}, {result.split['n_train']} training / {result.split['n_test']} held-out leads"
    )
    click.echo(
        result.comparison[
            ["model", "roc_auc", "roc_auc_ci_low", "roc_auc_ci_high", "pr_auc", "brier", "ece"]
        ].to_string(index=False, float_format=lambda v: f"{v:.4f}")
    )
    if doc["leakage_flagged"]:
        click.echo(f"leakage: flagged and not used: {', '.join(doc['leakage_flagged'])}")
    click.echo("beats the points baseline: " + ("yes" if result.beats_baseline else "NO (cannot be promoted)"))


@score_command.command("evaluate")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.argument("version")
@_MAPPING
@_REGISTRY
@click.option("--against", default=None, help="Version to compare with (default: the promoted one).")
@engine_option()
@json_option("Print one JSON object.")
def evaluate_cmd(folder, version, mapping, registry_dir, against, engine, as_json):
    """Compare VERSION with the promoted one (or --against) on VERSION's held-out leads of FOLDER."""
    import pandas as pd

    from ..scoring import Registry, RegistryError, ScoringDataError, compare_scores, held_out_predictions

    crm = load_or_fail(folder, mapping, engine=engine)
    reg = Registry(registry_dir)
    try:
        loaded = reg.load(version)
        other = against or reg.promoted
        meta = loaded.meta
        p = meta["params"]
        same_leads = {
            "split": meta["split"],
            "as_of": p.get("as_of"),
            "where": p.get("where"),
            "window_days": p["window_days"],
            "delay_days": p["delay_days"],
        }
        held = held_out_predictions(crm, model=loaded.model, **same_leads)
        scores = {version: held["probability"]}
        if other and other != version:
            # the same held-out leads, with the features the other version needs
            scores[other] = held_out_predictions(crm, model=reg.load(other).model, **same_leads)["probability"]
        table = compare_scores(held["converted"], scores)
    except (ScoringDataError, RegistryError, ValueError) as exc:
        fail(exc)
    if meta["split"].get("method") not in ("time", "order"):
        click.echo("note: the leads carry no dates; these are in-sample figures, not a held-out test", err=True)
    if as_json:
        click.echo(json.dumps(_clean(table.to_dict(orient="records")), indent=1, default=str))
        return
    with pd.option_context("display.width", 200):
        click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


@score_command.command("promote")
@click.argument("version", required=False)
@_REGISTRY
@click.option("--rollback", is_flag=True, help="Promote again the version promoted before the current one.")
@click.option("--force", is_flag=True, help="Promote even if it did not beat the points baseline.")
def promote_cmd(version, registry_dir, rollback, force):
    """Promote VERSION (it must have beaten the points baseline on its held-out leads), or --rollback."""
    from ..scoring import Registry, RegistryError

    reg = Registry(registry_dir)
    try:
        if rollback:
            click.echo(f"promoted: {reg.rollback()}")
            return
        if not version:
            raise RegistryError("give a VERSION to promote, or --rollback")
        meta = reg.meta(version)
        reg.load(version)  # integrity checks before it can serve
        if not meta.get("beats_baseline") and not force:
            raise RegistryError(
                f"{version}: ROC-AUC {meta['metrics']['roc_auc']:.4f} does not beat the points "
                f"baseline {meta['metrics']['baseline_roc_auc']:.4f} on its held-out leads "
                f"(rule: promotion needs a win; --force to override)"
            )
        reg.promote(version, reason="forced" if force and not meta.get("beats_baseline") else "beats baseline")
    except RegistryError as exc:
        fail(exc)
    click.echo(f"promoted: {version}")


@score_command.command("list")
@_REGISTRY
@json_option("Print one JSON list.")
def list_cmd(registry_dir, as_json):
    """The model versions in the registry, with their metrics; the promoted one is marked."""
    from ..scoring import Registry

    table = Registry(registry_dir).table()
    if as_json:
        click.echo(json.dumps(_clean(table.to_dict(orient="records")), indent=1, default=str))
        return
    click.echo(table.to_string(index=False) if len(table) else f"no versions in {registry_dir}")


@score_command.command("predict")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output file: .csv or .parquet.")
@_MAPPING
@_REGISTRY
@click.option("--version", default=None, help="Model version (default: the promoted one).")
@click.option("--as-of", "as_of", default=None, help="Score as of this date (default: the latest in the data).")
@_WHERE
@click.option("--all-leads", is_flag=True, help="Also score leads already converted.")
@click.option("--drift-threshold", default=0.2, show_default=True, type=float, help="PSI above which to flag drift.")
@engine_option()
def predict_cmd(folder, out, mapping, registry_dir, version, as_of, where, all_leads, drift_threshold, engine):
    """Score the open leads of FOLDER to OUT: probability, 1-99 score, top reasons; report drift."""
    import pandas as pd

    from ..scoring import Registry, RegistryError, ScoringDataError, score_leads, write_scores
    from ..scoring.features import training_table
    from ..scoring.workflow import drift_report

    crm = load_or_fail(folder, mapping, engine=engine)
    reg = Registry(registry_dir)
    try:
        loaded = reg.load(version)
        model, meta = loaded.model, loaded.meta
        p = meta["params"]
        scored = score_leads(
            crm, model=model, as_of=as_of, where=where, delay_days=p["delay_days"], open_only=not all_leads
        )
        base = training_table(
            crm, as_of=p.get("as_of"), where=p.get("where"), window_days=p["window_days"], delay_days=p["delay_days"]
        )
        window = meta.get("training_window") or {}
        if window.get("from") and window.get("to"):  # the leads of the model's own training window
            t = pd.to_datetime(base["scored_at"])
            base = base[(t >= pd.Timestamp(window["from"])) & (t <= pd.Timestamp(window["to"]))]
        drift = drift_report(scored, base, model=model, threshold=drift_threshold)
        path = write_scores(scored, out)
    except (ScoringDataError, RegistryError, ValueError) as exc:
        fail(exc)
    click.echo(f"{len(scored)} leads scored with {meta['version']} -> {path}")
    flagged = drift[drift["flagged"]]
    if len(flagged):
        click.echo(
            f"drift (PSI > {drift_threshold:.2f}): "
            + ", ".join(f"{r.column} {r.psi:.2f}" for r in flagged.itertuples())
        )
    else:
        click.echo(
            f"no drift above PSI {drift_threshold} (largest: {drift['column'].iloc[0]} {drift['psi'].iloc[0]:.3f})"
        )
