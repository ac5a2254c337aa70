"""Similar exposure groups (SEGs) and who belonged to them when."""

from __future__ import annotations

import uuid

from registry.access import Action, Record, Work
from registry.services.organisations import require_own_site
from registry.services.workers import NO_SUCH_WORKER
from registry.store import exposure as table
from registry.store import people as people_table
from schemas.errors import FieldError, InvalidInput, NotFound
from schemas.exposure import SegIn, SegMemberIn, SegMemberOut, SegOut

__all__ = ["add_seg_member", "create_seg", "get_seg", "list_seg_members", "list_segs"]


def create_seg(work: Work, seg: SegIn) -> SegOut:
    employer_id = work.employer_id()
    work.check(Action.CREATE, Record(type="seg", owner_employer_id=employer_id))
    if seg.site_id is not None:
        require_own_site(work.tx, employer_id, seg.site_id, "site_id")
    out = SegOut(
        id=uuid.uuid4(),
        employer_id=employer_id,
        name=seg.name.strip(),
        site_id=seg.site_id,
        description=seg.description,
    )
    table.insert_seg(work.tx, out, work.now)
    return out


def get_seg(work: Work, seg_id: uuid.UUID) -> SegOut:
    seg = table.seg_by_id(work.tx, seg_id)
    work.check(
        Action.READ,
        Record(type="seg", id=str(seg_id), owner_employer_id=seg.employer_id if seg else None),
    )
    if seg is None:
        raise NotFound(f"seg {seg_id} not found")
    return seg


def list_segs(work: Work) -> list[SegOut]:
    work.note_list("seg")
    return table.segs_in_scope(work.tx, work.scope(worker_column=None))


def add_seg_member(work: Work, seg_id: uuid.UUID, member: SegMemberIn) -> SegMemberOut:
    seg = get_seg(work, seg_id)
    if people_table.own_worker(work.tx, seg.employer_id, member.worker_id) is None:
        raise InvalidInput([FieldError(field="worker_id", reason=NO_SUCH_WORKER)])
    work.check(
        Action.CREATE,
        Record(type="seg_member", owner_employer_id=seg.employer_id, subject_worker_id=member.worker_id),
    )
    out = SegMemberOut(
        id=uuid.uuid4(),
        seg_id=seg_id,
        worker_id=member.worker_id,
        start_date=member.start_date,
        end_date=member.end_date,
    )
    table.insert_seg_member(work.tx, out, work.now)
    return out


def list_seg_members(work: Work, seg_id: uuid.UUID) -> list[SegMemberOut]:
    get_seg(work, seg_id)
    members = table.seg_members(work.tx, seg_id)
    work.note_list("seg_member", {m.worker_id for m in members})
    return members
