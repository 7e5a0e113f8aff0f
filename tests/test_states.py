"""States, kinds and audit event names are types: the product code never spells one as a bare string.

outreach/store/states.py holds the message statuses and kinds, directions, stop kinds and crawl-run statuses, with
their groupings; outreach/audit_events.py holds every audit event name. These tests parse the product code (outreach,
messaging, crawler) and fail on a string equal to one of those values where it is used as one, and on an
`audit.record` whose name is not a registry member. The checker is tested on snippets too, so it can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import pytest

from outreach import audit_events
from outreach.audit_events import Event
from outreach.store.states import CrawlRunStatus, Direction, MessageKind, MessageStatus, StopKind

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("outreach", "messaging", "crawler")
STATES_MODULE = Path("outreach/store/states.py")
REGISTRY_MODULE = Path("outreach/audit_events.py")
STATE_ENUMS: tuple[type[StrEnum], ...] = (MessageStatus, MessageKind, StopKind, Direction, CrawlRunStatus)
VOCABULARY = frozenset(member.value for enum in STATE_ENUMS for member in enum)
ENUM_NAMES = frozenset(enum.__name__ for enum in STATE_ENUMS)
# Names under which a state is passed or stored: keyword arguments, attributes, variables, dict keys.
STATE_FIELDS = frozenset({"status", "kind", "direction", "expected"})
# The registry's lookups by state (Event.stopped(kind), ...): their results are registry members too.
EVENT_LOOKUPS = frozenset(name for name, value in vars(Event).items() if isinstance(value, classmethod))

# Where a string equal to a state is something else, and why. (path, the top-level name it is defined under).
ALLOWED = {
    ("messaging/outbox/delivery.py", "PROVIDER_STATES"): (
        "Twilio's own status words (queued, sending, sent, ... as Twilio spells them; its `canceled` has one l): the "
        "provider's vocabulary, mapped to MessageStatus members. Its `queued` means the provider has the message, "
        "ours that we have not sent it."
    ),
    ("messaging/intents.py", "Intent"): (
        "What an inbound message asks for, the classifier's own vocabulary; outreach.people.inbound stores it as a "
        "MessageKind through an explicit table (KIND_OF_INTENT), so the two may part ways."
    ),
    ("messaging/twilio_codes.py", "Outcome"): (
        "What a provider error code means (`opt_out`: record an opt-out; `failed`: anything else), not a message's "
        "state or a stop kind; audit events carry these values as `outcome`."
    ),
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    owner: str  # the top-level function, class or assignment it is in
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.owner}): {self.what}"


def _state(node: ast.AST | None) -> str | None:
    """The state a literal spells, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in VOCABULARY:
        return node.value
    return None


def _states_in(node: ast.AST | None) -> list[str]:
    """States spelled by a literal, by the branches of a conditional, or by the elements of a literal collection."""
    if isinstance(node, ast.IfExp):
        return _states_in(node.body) + _states_in(node.orelse)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [value for element in node.elts for value in _states_in(element)]
    value = _state(node)
    return [value] if value is not None else []


def _field_name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Attribute):
        return target.attr
    if isinstance(target, ast.Name):
        return target.id
    return None


def _is_enum_member(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ENUM_NAMES


def _literal_findings(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                for value in _states_in(operand):
                    yield node, f"compared with {value!r}"
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("in_", "not_in"):
                for argument in node.args:
                    for value in _states_in(argument):
                        yield node, f"{value!r} in .{node.func.attr}()"
            for keyword in node.keywords:
                if keyword.arg in STATE_FIELDS:
                    for value in _states_in(keyword.value):
                        yield node, f"{keyword.arg}={value!r}"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for default in (*node.args.defaults, *node.args.kw_defaults):
                for value in _states_in(default):
                    yield node, f"default {value!r}"
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                pairs: list[tuple[ast.AST, ast.AST | None]] = [(target, node.value)]
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    pairs = list(zip(target.elts, node.value.elts, strict=False))
                for one, value_node in pairs:
                    name = _field_name(one)
                    if name in STATE_FIELDS:
                        for value in _states_in(value_node):
                            yield node, f"{name} = {value!r}"
                    elif isinstance(one, ast.Name) and name and name.isupper() and _state(value_node):
                        yield node, f"a second name for a state: {name} = {_state(value_node)!r}"
        elif isinstance(node, ast.Dict):
            string_keys = [_state(key) for key in node.keys]
            if len(node.keys) > 1 and all(string_keys):
                yield node, f"a mapping keyed by states {string_keys}"
                continue
            for key, value_node in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in STATE_FIELDS:
                    for value in _states_in(value_node):
                        yield node, f"{{{key.value!r}: {value!r}}}"
                elif _state(key) and (_state(value_node) or _is_enum_member(value_node)):
                    yield node, f"state {_state(key)!r} as a mapping key"
        if (
            isinstance(node, ast.Tuple | ast.List | ast.Set)
            and node.elts
            and all(_state(element) for element in node.elts)
            and not isinstance(getattr(node, "ctx", None), ast.Store)
        ):
            yield node, f"a grouping of states {[_state(e) for e in node.elts]}"


def _registered(node: ast.AST, event_parameters: set[str]) -> bool:
    """An Event member: Event.NAME, a registry lookup, a choice between them, or a parameter typed Event."""
    if isinstance(node, ast.IfExp):
        return _registered(node.body, event_parameters) and _registered(node.orelse, event_parameters)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Event":
        return node.attr in Event.__members__
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        return isinstance(owner, ast.Name) and owner.id == "Event" and node.func.attr in EVENT_LOOKUPS
    return isinstance(node, ast.Name) and node.id in event_parameters


def _event_parameters(function: ast.AST) -> set[str]:
    if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
        return set()
    arguments = function.args
    return {
        argument.arg
        for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
        if isinstance(argument.annotation, ast.Name) and argument.annotation.id == "Event"
    }


def _is_audit_record(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr == "record" and _field_name(func.value) == "audit") or (
        isinstance(func, ast.Name) and func.id == "record"
    )


def _audit_findings(tree: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    functions: list[ast.AST] = [tree]
    functions += [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    seen: set[int] = set()
    for function in reversed(functions):  # innermost first, so a call is judged in its own function
        parameters = _event_parameters(function)
        for node in ast.walk(function):
            if not isinstance(node, ast.Call) or id(node) in seen:
                continue
            name: ast.AST | None = None
            if _is_audit_record(node):
                name = (
                    node.args[1]
                    if len(node.args) > 1
                    else next((k.value for k in node.keywords if k.arg == "name"), None)
                )
            elif any(k.arg == "event" for k in node.keywords):
                name = next(k.value for k in node.keywords if k.arg == "event")
            if name is None:
                continue
            seen.add(id(node))
            if not _registered(name, parameters):
                yield node, f"audit event name {ast.unparse(name)} is not a member of outreach.audit_events.Event"


def _owners(tree: ast.Module) -> list[tuple[int, int, str]]:
    spans = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            spans.append((node.lineno, node.end_lineno or node.lineno, node.name))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            name = ", ".join(ast.unparse(target) for target in targets)
            spans.append((node.lineno, node.end_lineno or node.lineno, name))
    return spans


def check(source: str, path: str = "<snippet>") -> list[Finding]:
    """Everything in one module that spells a state as a string or names an audit event outside the registry."""
    tree = ast.parse(source)
    spans = _owners(tree)
    found = []
    for node, what in [*_literal_findings(tree), *_audit_findings(tree)]:
        line = getattr(node, "lineno", 0)
        owner = next((name for start, end, name in spans if start <= line <= end), "<module>")
        found.append(Finding(path, line, owner, what))
    return sorted(set(found), key=lambda finding: (finding.line, finding.what))


def _product_modules() -> Iterator[Path]:
    for package in PRODUCT:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_no_product_module_spells_a_state_or_an_event_name_as_a_string() -> None:
    found = []
    for path in _product_modules():
        relative = path.relative_to(ROOT)
        if relative in (STATES_MODULE, REGISTRY_MODULE):
            continue
        found += [f for f in check(path.read_text(), relative.as_posix()) if (f.path, f.owner) not in ALLOWED]
    assert not found, "use outreach.store.states and outreach.audit_events:\n" + "\n".join(map(str, found))


def test_every_allowed_exception_still_exists() -> None:
    """An exception whose code has gone must go too, or it would silently allow the next literal there."""
    for path, owner in ALLOWED:
        assert any(f.owner == owner for f in check((ROOT / path).read_text(), path)), (path, owner)


@pytest.mark.parametrize(
    "snippet",
    [
        'q = select(Message).where(Message.status == "queued")',
        'ok = message.kind != "first_contact"',
        'q = select(Message).where(Message.status.in_(("draft", "queued")))',
        'q = select(Message).where(Message.status.not_in(["draft", "cancelled"]))',
        'u = update(Message).values(status="sent")',
        'Message(direction="in", kind="reply" if x else "resend")',
        'optouts.stop(session, key, kind="block", source="cli", actor=actor)',
        'def unblock(kind: str = "block") -> None: ...',
        'message.status = "cancelled"',
        'message.status, message.error_message = "cancelled", "why"',
        'run.status = "failed" if error else "ok"',
        'status, values = "unknown", {}',
        'values = {"status": "sent", "provider_sid": sid}',
        'RANK = {"draft": 0, "queued": 0, "sent": 2}',
        'MAP = {"accepted": MessageStatus.SENT, "sent": MessageStatus.SENT}',
        'WAITING = ("draft", "queued", "sending", "unknown")',
        'OPT_OUT_CONFIRMATION = "opt_out_confirmation"',
        'if "opt_out" in stops: pass',
        'ok = stopped == {"opt_out"}',
        'audit.record(session, "message.sent", actor)',
        'audit.record(session, f"message.{status}", actor, message_id=1)',
        'audit.record(session, "person." + kind, actor)',
        "audit.record(session, Event.NO_SUCH_EVENT, actor)",
        "audit.record(session, name=EVENTS[status], actor=actor)",
        'queue_message(session, event="message.queued", actor=actor)',
        'def f(session, event: str) -> None:\n    audit.record(session, event, "me")',
    ],
)
def test_the_checker_finds_a_state_or_event_name_spelled_as_a_string(snippet: str) -> None:
    assert check(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        "q = select(Message).where(Message.status == MessageStatus.QUEUED, Message.direction == Direction.OUT)",
        "q = select(Message).where(Message.status.in_(WAITING), Message.kind.in_(CONTACTS))",
        "u = update(Message).values(status=MessageStatus.DRAFT if draft else MessageStatus.QUEUED)",
        'table.add_row("sent", str(count))',  # a label, not a state
        'notify("sending.paused", fields)',  # a notification, not an audit event
        'audit.record(session, Event.MESSAGE_SENT, actor, status="whatever the provider said")',
        "audit.record(session, Event.stopped(kind), actor)",
        "audit.record(session, Event.REVIEW_APPROVED if approve else Event.REVIEW_REJECTED, actor)",
        "def f(session, event: Event) -> None:\n    audit.record(session, event, 'me')",
    ],
)
def test_the_checker_lets_members_and_other_strings_pass(snippet: str) -> None:
    assert not check(snippet), snippet


def _lookup_tables() -> dict[str, str]:
    """Registry lookup method -> the module-level table it reads (`return _TABLE[...]`)."""
    tree = ast.parse((ROOT / REGISTRY_MODULE).read_text())
    tables = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in EVENT_LOOKUPS:
            (returned,) = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
            assert isinstance(returned.value, ast.Subscript) and isinstance(returned.value.value, ast.Name)
            tables[node.name] = returned.value.value.id
    return tables


def test_every_registered_event_is_written_somewhere() -> None:
    """A name nobody records is a stale entry (or a call site that lost its event)."""
    used: set[str] = set()
    lookups: set[str] = set()
    for path in _product_modules():
        if path.relative_to(ROOT) == REGISTRY_MODULE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Event":
                (lookups if node.attr in EVENT_LOOKUPS else used).add(node.attr)
    tables = _lookup_tables()
    assert set(tables) == EVENT_LOOKUPS
    for lookup in lookups:
        used |= {event.name for event in getattr(audit_events, tables[lookup]).values()}
    unused = sorted(set(Event.__members__) - used)
    assert not unused, f"registered but never recorded: {unused}"


def test_the_lookups_answer_every_state_they_are_asked_about() -> None:
    assert {Event.stopped(kind) for kind in StopKind} == {Event.PERSON_OPT_OUT, Event.PERSON_BLOCK}
    assert {Event.unstopped(kind) for kind in StopKind} == {Event.PERSON_UN_OPT_OUT, Event.PERSON_UN_BLOCK}
    assert Event.claim_ended(MessageStatus.QUEUED) is Event.MESSAGE_REQUEUED
    for status in (MessageStatus.CANCELLED, MessageStatus.FAILED, MessageStatus.UNKNOWN):
        assert Event.claim_ended(status) == f"message.{status}"


def test_stored_event_names_never_change() -> None:
    """The hash chain covers each event's name: renaming one would break `outreach audit verify` on every existing
    database. Add a new name here when you register it; never change or remove one."""
    assert {event.value for event in Event} == {
        "advert.language",
        "audit.verified",
        "blocklist.exported",
        "contact_log.exported",
        "report.made",
        "case.opened",
        "case.reopened",
        "case.closed",
        "case.assigned",
        "case.labelled",
        "case.note_added",
        "case.escalated",
        "conversation.handled",
        "crawl.finished",
        "crawl.started",
        "cycle.finished",
        "cycle.started",
        "keys.rotated",
        "number.searched",
        "log.exported",
        "message.approved",
        "message.cancelled",
        "message.drafted",
        "message.edited",
        "message.failed",
        "message.queued",
        "message.received",
        "message.reconciled",
        "message.rejected",
        "message.requeued",
        "message.resend",
        "message.sent",
        "message.status",
        "message.unknown",
        "numbers.revealed",
        "person.block",
        "person.opt_out",
        "person.un_block",
        "person.un_opt_out",
        "retention.purged",
        "review.approved",
        "review.rejected",
        "review.reopened",
        "sending.halted",
        "sending.paused",
        "sending.resumed",
        "subject.erased",
        "subject.exported",
        "user.added",
        "user.logged_in",
        "user.password_changed",
        "user.password_reset",
        "user.role_changed",
        "user.enabled",
        "user.disabled",
    }


def test_states_are_stored_as_the_strings_the_migrations_allow() -> None:
    """No migration: the CHECK constraints built from the enums read exactly as migrations/versions wrote them."""
    from outreach.store.models import Message, OptOut

    checks = {
        str(constraint.sqltext)
        for table in (Message.__table__, OptOut.__table__)
        for constraint in getattr(table, "constraints", ())
        if constraint.__class__.__name__ == "CheckConstraint"
    }
    assert checks == {
        "status IN ('draft', 'queued', 'sending', 'unknown', 'sent', 'delivered', 'undelivered', 'failed', "
        "'cancelled', 'received')",
        "direction IN ('out', 'in')",
        "kind IN ('opt_out', 'block')",
    }
