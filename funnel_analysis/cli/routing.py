"""``funnel routing DIR --rules FILE [--json]``: the rule audit, speed to lead and fairness figures of an org.

The rules file is read and every criteria checked against the org before anything is evaluated
(:func:`funnel_analysis.routing.load_rules`): a bad rule (an unknown field, a circular team, a function call) is one
line on stderr naming the file, the rule and the position, and exit 2.

Examples
--------
.. code-block:: console

    $ funnel routing data/sample --rules data/examples/routing_rules.yaml
    $ funnel routing data/sample --rules data/examples/routing_rules.yaml --json
"""

from __future__ import annotations

import json
import math

import click

from .common import engine_option, fail, json_option, load_or_fail, mapping_option

__all__ = ["routing_command"]


def _records(df, columns) -> list[dict]:
    out = []
    for row in df[[c for c in columns if c in df.columns]].to_dict("records"):
        clean = {}
        for k, v in row.items():
            if v is None or (isinstance(v, float) and math.isnan(v)):
                clean[k] = None
            elif hasattr(v, "item"):
                clean[k] = v.item()
            elif v is not None and type(v).__name__ in ("NAType", "NaTType"):
                clean[k] = None
            else:
                clean[k] = v if isinstance(v, (int, float, bool, str)) else str(v)
        out.append(clean)
    return out


def _pct(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f} %"


@click.command("routing", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--rules",
    "rules_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Routing rules file (YAML).",
)
@mapping_option("Mapping file or built-in mapping name.")
@click.option(
    "--as-of", "as_of", default=None, help="Date (YYYY-MM-DD) to cut the org at; default: the latest date in the data."
)
@click.option("--where", default=None, help="Only the leads this expression selects, e.g. \"country == 'Germany'\".")
@click.option(
    "--mature-days", default=30, show_default=True, type=int, help="Speed to lead over leads at least this old."
)
@engine_option()
@json_option("Print one JSON object: audit summary, speed to lead by team, SLA breaches by owner, fairness.")
def routing_command(folder, rules_file, mapping, as_of, where, mature_days, engine, as_json):
    """Rule audit (misrouted share per entry), speed to lead and SLA per team and owner, fairness per rep."""
    from ..crm.expression import ExpressionError
    from ..routing import RulesError, fairness, load_rules, misroute_summary, rule_audit
    from ..sources import report

    crm = load_or_fail(folder, mapping, engine=engine)
    try:
        rules = load_rules(rules_file, crm=crm)
        audit = rule_audit(crm, rules=rules, as_of=as_of or None, where=where)
        entries = misroute_summary(audit, by="entry")
        teams = report.speed_to_lead(
            crm, rules=rules, as_of=as_of or None, where=where, mature_days=mature_days, by="team"
        )
        owners = report.speed_to_lead(
            crm, rules=rules, as_of=as_of or None, where=where, mature_days=mature_days, by="owner_id"
        )
        fair = fairness(crm, rules=rules, as_of=as_of or None, where=where)
    except (RulesError, ExpressionError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
    teams = teams[teams["bucket"].astype(str) == "all"]
    owners = owners[owners["bucket"].astype(str) == "all"]
    speed_cols = ["leads", "contacted", "median_minutes", "p90_minutes", "median_business_minutes",
                  "p90_business_minutes", "sla_judged", "sla_breaches", "breach_share", "breach_share_ci_low",
                  "breach_share_ci_high"]  # fmt: skip
    if as_json:
        doc = {
            "rules": str(rules_file),
            "first_owners": audit.attrs.get("note", ""),
            "note": teams.attrs.get("note", ""),
            "misroutes": _records(entries, list(entries.columns)),
            "speed_to_lead_by_team": _records(teams, ["team", *speed_cols]),
            "sla_by_owner": _records(owners, ["owner_id", "owner_name", *speed_cols]),
            "fairness": _records(fair, list(fair.columns)),
        }
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    click.echo(f"Rule audit ({len(audit)} leads; {audit.attrs.get('note', '')})")
    for r in entries.itertuples():
        click.echo(
            f"  {r.entry:<32} {r.leads:>7,} leads  misrouted {_pct(r.misroute_share):>8}"
            f"  ({_pct(r.misroute_share_ci_low)} - {_pct(r.misroute_share_ci_high)})"
        )
    click.echo(f"Speed to lead by team (leads at least {mature_days} days old; business minutes)")
    for r in teams.itertuples():
        click.echo(
            f"  {(r.team if isinstance(r.team, str) else '(no team)'):<20} {r.leads:>7,} leads  median {r.median_business_minutes:>8.1f}"
            f"  p90 {r.p90_business_minutes:>8.1f}  SLA breached {_pct(r.breach_share):>8}"
        )
    click.echo("Fairness (leads received / the round robin's equal share over the days each rep was active)")
    for r in fair.itertuples():
        click.echo(f"  {r.team:<20} {r.owner_id}  {r.leads:>6,} of {r.expected_leads:>8.1f}  ratio {r.ratio:.2f}")
    click.echo(teams.attrs.get("note", ""))
