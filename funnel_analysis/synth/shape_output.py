"""The files and the truth of the org shapes (:mod:`.shapes`), once the export's own files are built.

Reads the simulation and the drawn shapes only: the truth is never read back from the files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .history import gap_times, lead_history, lead_status_on_dates, opportunity_history, queue_time
from .joined import write_joined_source
from .model import _CONTACT_ROLES, _CUSTOM_FIELDS, _CUSTOM_LEAD_STATUSES, _FIELD_HISTORY, _JOINED, _QUEUES
from .routing import calendar_tables, opportunity_truth, routing_truth, rules_yaml, stage_gate_truth


def _ts(sec: int) -> str:
    return pd.Timestamp(int(sec), unit="s").strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def write_shapes(shapes, out: Path, extract: int, headers: dict) -> dict:
    """Build the shapes' files into ``shapes.files`` (in :data:`SHAPE_FILES` order), write the describe
    files and the joined source; return what their truth needs."""
    out = Path(out)
    result: dict = {}
    groups = shapes.extras.groups if shapes.extras is not None else {}
    if shapes.lead_statuses:
        shapes.lead_status_file()
    if shapes.queues:
        shapes.group_files()
    gaps = gap_times(shapes.sim, extract) if shapes.field_history else None
    if shapes.field_history:
        result["lead_history"] = lead_history(shapes, gaps)
        result["opportunity_history"], result["close_date_pushes"] = opportunity_history(shapes, gaps)
        result["lead_status_on_dates"] = lead_status_on_dates(shapes, gaps)
        result["gaps"] = gaps
    if shapes.queues:
        result["queue_time"] = queue_time(shapes, gaps)
    if shapes.contact_roles:
        shapes.contact_role_file()
        deleted = [groups["Opportunity.csv:deleted"]] if "Opportunity.csv:deleted" in groups else []
        shapes.files["OpportunityContactRole.csv"] = shapes.contact_role_table(deleted)
    if shapes.routing:
        shapes.files.update(calendar_tables(shapes.sim.routing, shapes.new_ids))
        if getattr(shapes, "gates", None) is not None:
            opp_ids = [i.decode() for i in shapes.sim.ids["opportunities"]]
            result["stage_gates"], result["stage_gate_violations"] = stage_gate_truth(
                shapes.gates, opp_ids, gaps["cut"]
            )
    if shapes.custom_fields:
        shapes.describe(out, headers)
    if shapes.joined_source:
        result["joined"] = write_joined_source(shapes, out)
    return result


def write_shapes_truth(shapes, result: dict, truth_dir, info: dict) -> dict:
    """Write the truth files of the shapes; return ``info`` (truth.json) with an ``org_shapes`` section."""
    truth_dir = Path(truth_dir)
    files: dict[str, str] = {}

    def write(df: pd.DataFrame, name: str, doc: str) -> None:
        df.to_csv(truth_dir / name, index=False, lineterminator="\n")
        files[name] = doc

    section: dict = dict(options=dict(shapes.options))
    if shapes.field_history:
        gaps = result["gaps"]
        write(
            result["lead_status_on_dates"],
            "lead_status_on_dates.csv",
            "every lead of the org (duplicates included, deleted and merged rows excluded) created by the end of each "
            "on_date (UTC): its true status then (Lead.Status labels of the run), and known: whether LeadHistory.csv "
            "can tell it (false when that moment is before max(the lead's creation, the retention cut, the day "
            "Status tracking was switched on))",
        )
        write(
            result["close_date_pushes"],
            "close_date_pushes.csv",
            "every opportunity of the org: pushes (CloseDate changes to a later date over its simulated life, "
            "closing and reopening rows included), days_pushed (their sum in days), pushes_in_history (those whose "
            "row is in OpportunityFieldHistory.csv), complete_in_history (created on or after the retention cut: its "
            "whole history is in the file; false: pushes older than the oldest row are unknown, not 0)",
        )
        section["field_history"] = dict(
            tracked=dict(Lead=["Status", "Owner"], Opportunity=["StageName", "CloseDate", "Amount", "Owner"]),
            gaps=dict(
                tracking_switched_on=dict(
                    object="Lead",
                    field="Status",
                    at=_ts(gaps["status_on"]),
                    status_changes_not_written=result["lead_history"]["status_changes_before_tracking"],
                    note="no Status row before it; created and Owner rows go back to the retention cut",
                ),
                retention=dict(
                    months=_FIELD_HISTORY["retention_months"],
                    cut=_ts(gaps["cut"]),
                    rows_dropped={
                        "LeadHistory.csv": result["lead_history"]["rows_dropped_by_retention"],
                        "OpportunityFieldHistory.csv": result["opportunity_history"]["rows_dropped_by_retention"],
                    },
                ),
                owner_rows_in_pairs=dict(
                    lead_owner_changes=result["lead_history"]["owner_changes"],
                    opportunity_owner_changes=result["opportunity_history"]["owner_changes"],
                    note="each change is two rows at the same second: DataType EntityId (Ids) and Text (names)",
                ),
                same_second=dict(
                    lead_status_steps_in_one_second=result["lead_history"]["same_second_status_steps"],
                    opportunity_rows_sharing_a_second=result["opportunity_history"]["same_second_rows"],
                    note="rows of one record at the same second are in Id order; the last by Id is the value",
                ),
                created_rows="a 'created' row for every record created on or after the retention cut",
                deleted_records="the history of deleted deals and leads and of merged-away leads has IsDeleted true",
            ),
            lead_status_dates=gaps["dates"],
            deals_pushed_three_times_or_more=result["opportunity_history"]["deals_pushed_three_times_or_more"],
            model=dict(_FIELD_HISTORY),
        )
    if shapes.queues:
        write(
            result["queue_time"],
            "queue_time.csv",
            "every lead of the org created owned by a queue: queue_id, queue_name, entered_queue_at (its creation), "
            "picked_up_at and picked_up_by (the SDR; empty while still_in_queue), hours_in_queue, pickup_in_history "
            "(the Owner change is in LeadHistory.csv)",
        )
        qt = result["queue_time"]
        section["queues"] = dict(
            queued_leads=len(qt),
            still_in_queue=int((qt["still_in_queue"] == "true").sum()),
            model={k: list(v) if isinstance(v, tuple) else v for k, v in _QUEUES.items()},
        )
    if shapes.routing:
        import json

        sim, tl = shapes.sim, shapes.lead
        user_ids = [u.decode() for u in sim.ids["users"]]
        queue_ids = shapes.queue_ids.to_pylist() if shapes.queues else []
        lead_ids = [i.decode() for i in sim.ids["leads"]]
        (truth_dir / "routing_rules.yaml").write_text(rules_yaml(sim.routing, user_ids, queue_ids), encoding="utf-8")
        files["routing_rules.yaml"] = (
            "the sample's routing rules (teams, entries, SLA, touches, calendar, stage criteria)"
        )
        leads, rinfo = routing_truth(
            sim.routing, lead_ids, user_ids, queue_ids, tl["cbc"], tl["first_owner"], tl["t_owner"]
        )
        write(
            leads,
            "routing_leads.csv",
            "every lead of the org (duplicates included, deleted and merged rows excluded): the entry that matches "
            "(or default), its target, the round-robin rep, the true first owner, misrouted, reassignments (Owner "
            "changes after the first owner, queue pick-ups included, older ones maybe past the history's retention), "
            "the first touch (UTC), business minutes to it and breached (empty for converted-before-created leads)",
        )
        if hasattr(sim.routing, "opp_team"):
            opp_ids = [i.decode() for i in sim.ids["opportunities"]]
            opps, rinfo["opportunities"] = opportunity_truth(sim.routing, opp_ids, user_ids)
            write(opps, "routing_opportunities.csv", "every deal: the opportunity entry, its team, owner, misrouted")
        if "stage_gates" in result:
            write(result["stage_gates"], "stage_gate_truth.csv", "every (opportunity, stage entered): compliant")
            rinfo["stage_gate_violations"] = result["stage_gate_violations"]
        (truth_dir / "routing_truth.json").write_text(json.dumps(rinfo, indent=2) + "\n", encoding="utf-8")
        files["routing_truth.json"] = "misroute and SLA breach shares, the true delay effect, stage-gate violations"
        section["routing"] = dict(misroute_share=rinfo["misroute_share"], sla_breach_share=rinfo["sla_breach_share"])
    if shapes.lead_statuses:
        section["lead_statuses"] = [
            dict(label=s[0], sort_order=s[1], is_converted=s[2], is_default=s[3]) for s in _CUSTOM_LEAD_STATUSES
        ]
    if shapes.contact_roles:
        section["contact_roles"] = dict(_CONTACT_ROLES, deals_with_roles=int(len(set(shapes.roles["opp"].tolist()))))
    if shapes.custom_fields:
        section["custom_fields"] = dict(
            Lead={"Zip__c": "string", "Lead_Score__c": "double"},
            Opportunity={"Budget_Confirmed__c": "boolean", "Discount__c": "percent", "ARR__c": "currency"},
            model={k: list(v) if isinstance(v, tuple) else v for k, v in _CUSTOM_FIELDS.items()},
            describe_files=["Lead.describe.json", "Opportunity.describe.json"],
        )
    if shapes.joined_source:
        write(
            result["joined"],
            "joined_converted_leads.csv",
            "every converted lead of joined_source/leads.csv: lead_id, sf_lead_id (its Id in Lead.csv), deal_id "
            "(the earliest of its deals by created_at: the conversion), converted_at, n_deals (deals.csv rows with "
            "its lead_id)",
        )
        section["joined_source"] = dict(
            folder="joined_source",
            files=["leads.csv", "deals.csv"],
            converted_leads=len(result["joined"]),
            leads_with_two_deals=int((result["joined"]["n_deals"] > 1).sum()),
            rule="a lead converted iff a deal has its lead_id; with two deals the earliest by created_at converts it",
            model={k: list(v) if isinstance(v, tuple) else v for k, v in _JOINED.items()},
        )
    info = dict(info)
    info["truth_files"] = dict(info["truth_files"], **files)
    info["org_shapes"] = section
    return info
