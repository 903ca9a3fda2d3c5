"""Parsing what the kernel reports back: ``nft -j list ruleset`` and ``conntrack -o xml``.

Pure functions over text and parsed JSON, so they are unit-tested without root.

Counters: in libnftables JSON a rule is ``{"rule": {family, table, chain, handle, expr}}``
and an anonymous counter is one ``{"counter": {"packets", "bytes"}}`` item of ``expr``;
named objects are ``{"counter": {family, table, name, handle, packets, bytes}}`` and
``{"quota": {..., bytes, used, inv}}`` at the top level.  A chain's policy has no counter
in nf_tables (only rules and objects count).

Conntrack: ``conntrack -L -o xml`` (conntrack-tools, ``nfct_snprintf`` XML) gives one
``<flow>`` per entry with ``<meta direction="original|reply|independent">``.  The XML
form is used because it is self-describing; the ``-o extended`` text is kept alongside
for humans.
"""

from __future__ import annotations

import re

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from pkttables.errors import HarnessError

__all__ = ["Count", "rule_counters", "named_objects", "parse_conntrack_xml"]


@dataclass(frozen=True, slots=True)
class Count:
    """Packets and bytes of one counter (``used`` for a quota: bytes used, ``packets`` 0)."""

    packets: int
    bytes: int


def rule_counters(ruleset_json: dict[str, Any]) -> dict[tuple[str, str, str, int], Count]:
    """(family, table, chain, handle) -> Count for every rule with a ``counter`` statement.

    A rule with several counters sums them in rule order into one entry keyed by the rule
    handle; :func:`rule_counter_list` keeps them apart.
    """
    out: dict[tuple[str, str, str, int], Count] = {}
    for key, counts in rule_counter_list(ruleset_json).items():
        out[key] = Count(sum(c.packets for c in counts), sum(c.bytes for c in counts))
    return out


def rule_counter_list(ruleset_json: dict[str, Any]) -> dict[tuple[str, str, str, int], list[Count]]:
    """(family, table, chain, handle) -> every anonymous counter of that rule, in order."""
    out: dict[tuple[str, str, str, int], list[Count]] = {}
    for item in ruleset_json.get("nftables", []):
        rule = item.get("rule")
        if not rule:
            continue
        counts = [Count(int(e["counter"].get("packets", 0)), int(e["counter"].get("bytes", 0)))
                  for e in rule.get("expr", [])
                  if isinstance(e, dict) and isinstance(e.get("counter"), dict)
                  and "name" not in e["counter"]]
        if counts:
            out[(rule["family"], rule["table"], rule["chain"], int(rule["handle"]))] = counts
    return out


def named_objects(ruleset_json: dict[str, Any]) -> dict[tuple[str, str, str, str], Count]:
    """(kind, family, table, name) -> Count for named counters and quotas.

    For a quota, ``bytes`` is the bytes used so far (``used``) and ``packets`` is 0.
    """
    out: dict[tuple[str, str, str, str], Count] = {}
    for item in ruleset_json.get("nftables", []):
        if "counter" in item:
            o = item["counter"]
            out[("counter", o["family"], o["table"], o["name"])] = Count(
                int(o.get("packets", 0)), int(o.get("bytes", 0)))
        elif "quota" in item:
            o = item["quota"]
            out[("quota", o["family"], o["table"], o["name"])] = Count(0, int(o.get("used", 0)))
    return out


# --- conntrack ------------------------------------------------------------------------

_TUPLE_L4_FIELDS = ("sport", "dport", "type", "code", "id")
# Status flags that conntrack-tools' XML writes as empty elements in the independent meta.
_STATUS_TAGS = ("assured", "unreplied", "seen_reply", "expected", "confirmed",
                "snat", "dnat", "dying", "fixed_timeout", "template", "offload",
                "hw_offload", "helper", "untracked")


def _tuple(meta: ET.Element) -> dict[str, Any]:
    t: dict[str, Any] = {}
    l3 = meta.find("layer3")
    if l3 is not None:
        t["src"] = (l3.findtext("src") or "").strip()
        t["dst"] = (l3.findtext("dst") or "").strip()
    l4 = meta.find("layer4")
    if l4 is not None:
        for f in _TUPLE_L4_FIELDS:
            v = l4.findtext(f)
            if v is not None and v.strip():
                t[f] = int(v)
    zone = meta.findtext("zone")
    if zone is not None and zone.strip():
        t["zone"] = int(zone)
    counters = meta.find("counters")
    if counters is not None:
        t["packets"] = int(counters.findtext("packets") or 0)
        t["bytes"] = int(counters.findtext("bytes") or 0)
    return t


def parse_conntrack_xml(text: str) -> list[dict[str, Any]]:
    """``conntrack -L -o xml`` -> one dict per entry, in the tool's order.

    Keys: ``l3`` (ipv4/ipv6), ``proto`` (name), ``protonum``, ``state`` (TCP/SCTP/DCCP
    state name or None), ``timeout`` (s), ``original``/``reply`` (src, dst, sport/dport or
    ICMP type/code/id, zone), ``status`` (sorted upper-case flags: ASSURED, UNREPLIED,
    SNAT, ...), ``mark``, ``zone`` (0 if absent), ``secmark``, ``use``, ``id``.
    """
    text = text.strip()
    if not text:
        return []
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise HarnessError(f"conntrack XML output does not parse: {e}") from None
    entries = []
    for flow in root.iter("flow"):
        e: dict[str, Any] = {"l3": None, "proto": None, "protonum": None, "state": None,
                             "timeout": None, "original": {}, "reply": {}, "status": [],
                             "mark": 0, "zone": 0, "use": None, "id": None}
        status: set[str] = set()
        for meta in flow.findall("meta"):
            direction = meta.get("direction")
            if direction in ("original", "reply"):
                e[direction] = _tuple(meta)
                l3 = meta.find("layer3")
                l4 = meta.find("layer4")
                if direction == "original":
                    if l3 is not None:
                        e["l3"] = l3.get("protoname")
                    if l4 is not None:
                        e["proto"] = l4.get("protoname")
                        e["protonum"] = int(l4.get("protonum", "0"))
            elif direction == "independent":
                for child in meta:
                    tag = child.tag
                    val = (child.text or "").strip()
                    if tag == "state":
                        e["state"] = val
                    elif tag in ("timeout", "mark", "zone", "use", "id", "secmark"):
                        e[tag] = int(val) if val else 0
                    elif tag in _STATUS_TAGS or not val and len(child) == 0:
                        status.add(tag.upper())
                    else:
                        e[tag] = val
        e["status"] = sorted(status)
        entries.append(e)
    return entries


_ICMP_FIELD = re.compile(r"\b(type|code|id)=(\d+)")


def needs_extended(entries: list[dict[str, Any]]) -> bool:
    return any(e["proto"] in ("icmp", "icmpv6", "sctp") for e in entries)


def merge_icmp_fields(entries: list[dict[str, Any]], extended_id_text: str) -> None:
    """Repair what conntrack's XML output gets wrong from ``conntrack -L -o extended,id``
    (matched by the entry id, the last ``id=`` of a line): XML leaves out the ICMP
    type/code/id of a tuple, and names SCTP states with the TCP names of the same numbers
    (conntrack-tools 1.4.7: an ESTABLISHED SCTP entry shows as FIN_WAIT)."""
    by_id: dict[int, list[dict[str, int]]] = {}
    states: dict[int, str] = {}
    for line in extended_id_text.splitlines():
        fields = _ICMP_FIELD.findall(line)
        if not fields or fields[-1][0] != "id":
            continue
        ctid = int(fields[-1][1])
        words = line.split()
        # "ipv4 2 sctp 132 49 ESTABLISHED src=..."
        if len(words) > 5 and words[2] == "sctp" and "=" not in words[5]:
            states[ctid] = words[5]
        tuples, cur = [], {}
        for k, v in fields[:-1]:
            if k in cur:
                tuples.append(cur)
                cur = {}
            cur[k] = int(v)
        if cur:
            tuples.append(cur)
        by_id[ctid] = tuples
    for e in entries:
        if e.get("proto") == "sctp" and e.get("id") in states:
            e["state"] = states[e["id"]]
        if e.get("proto") in ("icmp", "icmpv6") and e.get("id") in by_id:
            tuples = by_id[e["id"]]
            for direction, t in zip(("original", "reply"), tuples):
                e[direction].update(t)
