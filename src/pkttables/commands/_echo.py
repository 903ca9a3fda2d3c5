"""``nft -e`` (echo): what nft prints for the objects a batch created.

Theory of operation
-------------------
With echo, nft 1.0.6 sets ``NLM_F_ECHO`` on the batch and prints the kernel's
notifications as ``nft monitor`` prints them (``netlink_echo_callback`` ->
``netlink_events_cb``), once the batch is committed.  Only what the kernel *creates*
sends a notification that nft prints here: new tables, chains, sets (then one
``add element`` line per element), stateful objects and rules.  Deleting, flushing,
renaming, or adding a table or chain that already exists prints nothing.  A batch that
printed something ends with the ``NEWGEN`` notification::

    add rule inet t c tcp dport 22 accept # handle 4      (the handle with -a)
    # new generation 5 by process 1234 (nft)

Details taken from nft 1.0.6 on Linux 6.18 (tests/unit/commands/cli2/golden_cli2.json):

* the verb is ``create`` for objects created with ``create`` (``NLM_F_EXCL``) and
  ``insert`` for rules inserted, else ``add``;
* a rule placed with ``position``/``index`` carries ``handle P``, P being the handle of
  the rule now before it (the kernel's ``NFTA_RULE_POSITION`` in the notification);
* ``replace rule`` prints ``delete rule ... handle H`` then the new rule (same handle);
* sets, maps and objects end with ``} `` (a trailing blank, as nft prints them);
* the generation is the kernel's: one more than the number of committed batches.

With ``-j`` the same objects are one JSON document ``{"nftables": [{"add": {...}}]}``
and no generation line; for JSON *input*, nft echoes the input commands back with the
new ``handle`` added to each created object.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

from pkttables.model import Ruleset

__all__ = ["EchoEvent", "render_echo", "process_name"]


@dataclass(frozen=True, slots=True)
class EchoEvent:
    """One created object: ``kind`` table/chain/set/element/object/rule."""

    kind: str
    verb: str                   # add, create, insert
    family: str
    table: str
    name: str | None = None     # chain, set or object name
    handle: int | None = None   # rule handle
    chain: str | None = None    # a rule's chain
    prev: int | None = None     # a placed rule: the handle before it
    replaced: bool = False      # a replace rule: print the delete first
    obj_kind: str | None = None  # counter, quota, ...
    elements: tuple = ()        # element events: the model elements added
    cmd_index: int | None = None


def process_name() -> str:
    """The committing process' name, as the kernel puts it in NEWGEN (``comm``)."""
    try:
        with open("/proc/self/comm", encoding="utf-8") as fh:
            return fh.read().strip() or "pkt"
    except OSError:
        return "pkt"


def _block_lines(block: str) -> list[str]:
    """The inner lines of a listed block (``\\tset s {`` ... ``\\t}``)."""
    lines = [x.strip() for x in block.splitlines()]
    return [x for x in lines[1:-1] if x]


def _elements_text(s, els, o) -> list[str]:
    """One listing text per element, as ``elements = { ... }`` would print it."""
    from pkttables.render import text as T
    out = []
    for el in els:
        one = copy.copy(s)
        one.elements = [el]
        body = T.set_block(one, o)
        i = body.find("elements = {")
        if i < 0:
            continue
        j = body.rfind("}", i, body.rfind("}"))
        out.append(" ".join(body[i + len("elements = {"):j].split()))
    return out


def _text(ev: EchoEvent, rs: Ruleset, o) -> list[str]:
    from pkttables.render import text as T
    t = rs.tables.get((ev.family, ev.table))
    head = f"{ev.verb} {ev.kind if ev.kind != 'object' else ev.obj_kind} {ev.family} {ev.table}"
    if ev.kind == "table":
        return [head]
    if t is None:
        return []
    if ev.kind == "chain":
        c = t.chains.get(ev.name)
        if c is None:
            return []
        return [f"{head} {ev.name}" + (f" {{ {T._hook_line(c, ev.family, o)} }}" if c.hook is not None else "")]
    if ev.kind == "set":
        s = t.sets.get(ev.name)
        if s is None:
            return []
        empty = copy.copy(s)
        empty.elements = []
        lines = [x for x in _block_lines(T.set_block(empty, o)) if not x.startswith("elements")]
        kind = "map" if s.is_map else "set"
        return [f"{ev.verb} {kind} {ev.family} {ev.table} {ev.name} {{ " + "".join(x + "; " for x in lines) + "} "]
    if ev.kind == "element":
        s = t.sets.get(ev.name)
        if s is None:
            return []
        return [f"{head} {ev.name} {{ {x} }}" for x in _elements_text(s, ev.elements, o)]
    if ev.kind == "object":
        obj = t.objects.get((ev.obj_kind, ev.name))
        if obj is None:
            return []
        lines = _block_lines(T.object_block(obj, o))
        return [f"{head} {ev.name} {{ " + "; ".join(lines) + " } "]
    if ev.kind == "rule":
        c = t.chains.get(ev.chain)
        r = next((x for x in c.rules if x.handle == ev.handle), None) if c is not None else None
        if r is None:
            return []
        body = T._rule_body(r, ev.family, o, t)
        out = []
        where = f"rule {ev.family} {ev.table} {ev.chain}"
        if ev.replaced:
            out.append(f"delete {where} handle {ev.handle}")
        pos = f" handle {ev.prev}" if ev.prev is not None else ""
        hd = f" # handle {r.handle}" if o.handle else ""
        out.append(f"{ev.verb} {where}{pos} {body}{hd}")
        return out
    return []


def _json(ev: EchoEvent, rs: Ruleset, o) -> list[dict]:
    from pkttables.render import json_output as J
    t = rs.tables.get((ev.family, ev.table))
    if t is None:
        return []
    if ev.kind == "table":
        return [{ev.verb: J.table_json(t)}]
    if ev.kind == "chain":
        c = t.chains.get(ev.name)
        return [{ev.verb: J.chain_json(c, t)}] if c is not None else []
    if ev.kind == "set":
        s = t.sets.get(ev.name)
        if s is None:
            return []
        empty = copy.copy(s)
        empty.elements = []
        return [{ev.verb: J.set_json(empty, t, o)}]
    if ev.kind == "element":
        s = t.sets.get(ev.name)
        if s is None:
            return []
        return [{ev.verb: {"element": {"family": ev.family, "table": ev.table, "name": ev.name,
                                       "elem": {"set": [J._element_json(s, el, o)]}}}}
                for el in ev.elements]
    if ev.kind == "object":
        obj = t.objects.get((ev.obj_kind, ev.name))
        return [{ev.verb: J.object_json(obj, t, o)}] if obj is not None else []
    if ev.kind == "rule":
        c = t.chains.get(ev.chain)
        r = next((x for x in c.rules if x.handle == ev.handle), None) if c is not None else None
        return [{ev.verb: J.rule_obj_json(r, c, t, o)}] if r is not None else []
    return []


def _handle_of(ev: EchoEvent, rs: Ruleset) -> int | None:
    t = rs.tables.get((ev.family, ev.table))
    if t is None:
        return None
    if ev.kind == "table":
        return t.handle
    if ev.kind == "chain":
        c = t.chains.get(ev.name)
        return c.handle if c is not None else None
    if ev.kind == "set":
        s = t.sets.get(ev.name)
        return s.handle if s is not None else None
    if ev.kind == "object":
        obj = t.objects.get((ev.obj_kind, ev.name))
        return obj.handle if obj is not None else None
    return ev.handle


def render_echo(events: list[EchoEvent], rs: Ruleset, opts, json_doc=None) -> str:
    """What ``nft -e`` prints after the batch that produced ``events`` committed ``rs``."""
    from ._listing import list_options
    if not events:
        return ""
    flags = getattr(opts, "flags", set())
    o = list_options(flags)
    if "json" in flags:
        from pkttables.render import json_output as J
        if isinstance(json_doc, dict) and isinstance(json_doc.get("nftables"), list):
            # nft echoes JSON input back, each created object with its new handle
            doc = copy.deepcopy(json_doc)
            items = doc["nftables"]
            for ev in events:
                if ev.cmd_index is None or ev.kind == "element" or ev.cmd_index >= len(items):
                    continue
                item = items[ev.cmd_index]
                body = next(iter(item.values()), None) if isinstance(item, dict) and len(item) == 1 else None
                inner = next(iter(body.values()), None) if isinstance(body, dict) and len(body) == 1 else None
                h = _handle_of(ev, rs)
                if isinstance(inner, dict) and h is not None:
                    inner["handle"] = h
            return J.dumps(doc)         # nft 1.0.6 prints this one without a newline
        items = [x for ev in events for x in _json(ev, rs, o)]
        return J.dumps({"nftables": items}) + "\n"
    lines = [x for ev in events for x in _text(ev, rs, o)]
    # NEWGEN: the kernel's generation counts from 1 in a fresh namespace
    lines.append(f"# new generation {rs.generation + 1} by process {os.getpid()} ({process_name()})")
    return "\n".join(lines) + "\n"
