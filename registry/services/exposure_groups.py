"""Similar exposure groups (SEGs) and who belonged to them when."""

from __future__ import annotations

import datetime as dt
import uuid

from registry.access import Action, Gate, Record
from registry.services.organisations import require_own_site
from registry.store import Tx
from registry.store import exposure as table
from registry.store import people as people_table
from schemas.errors import FieldError, InvalidInput, NotFound
from schemas.exposure import SegIn, SegMemberIn, SegMemberOut, SegOut

__all__ = ["add_seg_member", "create_seg", "get_seg", "list_seg_members", "list_segs"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_seg(tx: Tx, gate: Gate, seg: SegIn) -> SegOut:
    employer_id = gate.employer_id()
    gate.check(Action.CREATE, Record(type="seg", owner_employer_id=employer_id))
    if seg.site_id is not None:
        require_own_site(tx, employer_id, seg.site_id, "site_id")
    out = SegOut(
        id=uuid.uuid4(),
        employer_id=employer_id,
        name=seg.name.strip(),
        site_id=seg.site_id,
        description=seg.description,
    )
    table.insert_seg(tx, out, _now())
    return out


def get_seg(tx: Tx, gate: Gate, seg_id: uuid.UUID) -> SegOut:
    seg = table.seg_by_id(tx, seg_id)
    gate.check(
        Action.READ,
        Record(type="seg", id=str(seg_id), owner_employer_id=seg.employer_id if seg else None),
    )
    if seg is None:
        raise NotFound(f"seg {seg_id} not found")
    return seg


def list_segs(tx: Tx, gate: Gate) -> list[SegOut]:
    gate.note_list("seg")
    return table.segs_of(tx, gate.employer_id())


def add_seg_member(tx: Tx, gate: Gate, seg_id: uuid.UUID, member: SegMemberIn) -> SegMemberOut:
    get_seg(tx, gate, seg_id)
    related = people_table.related_employers(tx, [member.worker_id])[member.worker_id]
    if not related:
        raise InvalidInput([FieldError(field="worker_id", reason="no worker with this id has an employment")])
    gate.check(
        Action.CREATE,
        Record(type="seg_member", subject_worker_id=member.worker_id, related_employer_ids=related),
    )
    out = SegMemberOut(
        id=uuid.uuid4(),
        seg_id=seg_id,
        worker_id=member.worker_id,
        start_date=member.start_date,
        end_date=member.end_date,
    )
    table.insert_seg_member(tx, out, _now())
    return out


def list_seg_members(tx: Tx, gate: Gate, seg_id: uuid.UUID) -> list[SegMemberOut]:
    get_seg(tx, gate, seg_id)
    members = table.seg_members(tx, seg_id)
    gate.note_list("seg_member", {m.worker_id for m in members})
    return members
