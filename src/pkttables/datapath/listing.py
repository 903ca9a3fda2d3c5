"""The ruleset as ``nft list ruleset`` prints it on the kernel *after* the traffic.

Theory of operation
-------------------
The model (:class:`pkttables.model.Ruleset`) holds what was loaded: rule counters,
named counters and quotas with their declared values.  While the replay runs, the
stateful values live elsewhere, in the runtimes' :class:`StatefulState`:

* ``state.counters[(family, table, chain, handle, instr index)]`` -- every ``counter``
  statement of every rule (nft_counter_eval);
* ``state.quotas[...]`` -- the same for anonymous ``quota`` statements (nft_quota_eval);
* ``state.objects[(family, table, kind, name)]`` -- named counters, quotas and limits,
  created on first use (nft_objref_eval).

The kernel dumps them as follows, and so does this module:

* a counter: packets and bytes (nft_counter_do_dump);
* a quota: ``used`` is ``min(consumed, quota)`` (nft_quota_do_dump caps the consumed
  bytes at the quota), printed only when non-zero, like nft does;
* a limit: rate, unit, burst and flags only.  The token bucket is not dumped
  (nft_limit_dump), so a limit prints as it was loaded.

:func:`final_ruleset` returns a copy of the model in which the named objects carry their
final values.  The copy shares every table part except ``objects``.  The rules' own
counters and quotas are put into the ``-a`` listing text by :func:`listing_after_run`,
which finds rule lines by their handles.  In each rule line it replaces the counters, and
then the quotas, in the order of their instructions (the order of the rule text).

The filter and the nat chains run in two runtimes (see replay.Simulator), and each
runtime has its own state.  A rule runs in one of them only.  A named object can be
touched from both, so its two states are merged: the deltas from the loaded value are
added.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterable

__all__ = ["final_ruleset", "listing_after_run", "merge_worker_states", "merged_states", "named_set_instances",
           "worker_state"]

_HANDLE_RE = re.compile(r" # handle (\d+)$")
_COUNTER_RE = re.compile(r"\bcounter packets \d+ bytes \d+")
# an anonymous quota statement: `quota [over] N UNIT [used M UNIT]` (not `quota name ...`)
_QUOTA_RE = re.compile(r"\bquota (over )?(\d+) ([kmg]?bytes)(?: used \d+ [kmg]?bytes)?")


def merged_states(runtimes: Iterable[Any]) -> tuple[dict, dict, dict]:
    """``(counters, quotas, objects)`` of the runtimes' states, the same runtime counted
    once; objects seen by several runtimes are merged (deltas from the loaded value)."""
    from pkttables.vm.stateful_impl import Count, _NamedQuota

    counters: dict = {}
    quotas: dict = {}
    objects: dict = {}
    seen: set[int] = set()
    for rt in runtimes:
        st = getattr(rt, "state", None)
        if st is None or id(st) in seen or not hasattr(st, "counters"):
            continue
        seen.add(id(st))
        counters.update(st.counters)
        quotas.update(getattr(st, "quotas", {}))
        for key, obj in getattr(st, "objects", {}).items():
            prev = objects.get(key)
            if prev is None:
                objects[key] = obj
            elif isinstance(prev, Count) and isinstance(obj, Count):
                objects[key] = ("sum", prev, obj)
            elif isinstance(prev, _NamedQuota) and isinstance(obj, _NamedQuota):
                objects[key] = ("sum", prev, obj)
    return counters, quotas, objects


def _spec_after(obj, state, loaded_spec: dict) -> dict | None:
    """The object's spec with its final values, or None when it keeps the loaded one."""
    from pkttables.vm.stateful_impl import Count, _NamedQuota

    spec = dict(loaded_spec)
    if isinstance(state, tuple) and state[:1] == ("sum",):
        a, b = state[1], state[2]
        if isinstance(a, Count):
            p0, b0 = int(spec.get("packets", 0) or 0), int(spec.get("bytes", 0) or 0)
            state = Count(a.packets + b.packets - p0, a.bytes + b.bytes - b0)
        else:
            u0 = int(spec.get("used", 0) or 0)
            state = _NamedQuota(copy.copy(a.q), a.inverted)
            state.q.consumed = a.q.consumed + b.q.consumed - u0
    if obj.kind == "counter" and isinstance(state, Count):
        spec["packets"], spec["bytes"] = state.packets, state.bytes
        return spec
    if obj.kind == "quota" and isinstance(state, _NamedQuota):
        # nft_quota_do_dump(): the consumed bytes reported are capped at the quota
        spec["used"] = min(state.q.consumed, state.q.quota)
        return spec
    return None         # limits (nft_limit_dump has no token state) and the rest


def final_ruleset(ruleset, objects: dict):
    """A copy of ``ruleset`` whose named counters and quotas carry the final values in
    ``objects`` (``(family, table, kind, name) -> state``, see :func:`merged_states`).
    The model itself is not changed: it may be shared with the runtimes."""
    if not objects:
        return ruleset
    out = copy.copy(ruleset)
    out.tables = dict(ruleset.tables)
    for (fam, tname), t in ruleset.tables.items():
        changed = {}
        for okey, obj in t.objects.items():
            st = objects.get((fam, tname, obj.kind, obj.name))
            if st is None or not isinstance(obj.spec, dict):
                continue
            spec = _spec_after(obj, st, obj.spec)
            if spec is not None and spec != obj.spec:
                o2 = copy.copy(obj)
                o2.spec = spec
                changed[okey] = o2
        if changed:
            t2 = copy.copy(t)
            t2.objects = {**t.objects, **changed}
            out.tables[(fam, tname)] = t2
    return out


def _with_live_sets(ruleset, sets: dict, now):
    """A copy of ``ruleset`` whose sets with an instance in ``sets`` list its live
    elements (sets.listing.live_set); the other parts are shared."""
    from pkttables.sets.listing import live_set

    if not sets:
        return ruleset
    out = copy.copy(ruleset)
    out.tables = dict(ruleset.tables)
    for (fam, tname), t in ruleset.tables.items():
        live = {name: live_set(mset, sets[(fam, tname, name)], now) for name, mset in t.sets.items()
                if hasattr(sets.get((fam, tname, name)), "elements")}
        if live:
            t2 = copy.copy(t)
            t2.sets = {**t.sets, **live}
            out.tables[(fam, tname)] = t2
    return out


def _per_rule(values: dict) -> dict[tuple, list]:
    """``(family, table, chain, handle, index) -> v`` grouped per rule, in index order."""
    out: dict[tuple, list] = {}
    for key in sorted(values, key=lambda k: (repr(k[:4]), k[4] if len(k) > 4 else 0)):
        if len(key) > 4 and (not isinstance(key[4], int) or key[4] < 0):
            continue        # not a statement of the rule's own program (no position)
        out.setdefault(key[:4], []).append(values[key])
    return out


def named_set_instances(runtimes: Iterable[Any]) -> dict:
    """``(family, table, name) -> SetInstance`` of the runtimes' loaded rulesets (the filter
    and nat runtimes share theirs, see replay.Simulator)."""
    out: dict = {}
    for rt in runtimes:
        sets = getattr(getattr(rt, "loaded", None), "named_sets", None)
        if isinstance(sets, dict):
            for k, v in sets.items():
                out.setdefault(k, v)
    return out


def listing_after_run(ruleset, counters: dict, quotas: dict | None = None, objects: dict | None = None,
                      ifnames=None, sets: dict | None = None, now: float | None = None) -> str:
    """``nft list ruleset`` after the run: the rules' counters (``counters``: ``(family,
    table, chain, handle[, index]) -> Count``) and anonymous quotas (``quotas``, same keys
    -> QuotaState) replaced in rule order, and the named objects (``objects``) at their final
    values.  A rule whose statements did not run keeps its loaded values.
    ``ifnames``: ``((ifindex, name), ...)`` of the simulated host.  ``sets``
    (``(family, table, name) -> SetInstance``, see :func:`named_set_instances`): the sets
    list their live elements at ``now`` (the last packet's time, in seconds) -- the
    elements the packet path added, element counters and quotas, and ``expires`` relative
    to ``now`` (sets.listing.live_ruleset, as nft_set_elem_expr_dump and
    nf_tables_fill_setelem report them)."""
    from pkttables.render.delinearize import _data_unit
    from pkttables.render.options import ListOptions
    from pkttables.render.text import list_ruleset

    rs = _with_live_sets(final_ruleset(ruleset, objects or {}), sets or {}, now)
    rule_counters = _per_rule(counters)
    rule_quotas = _per_rule(quotas or {})
    opts = ListOptions(handle=True) if ifnames is None else ListOptions(handle=True, ifnames=tuple(ifnames))
    out = []
    family = table = chain = None
    for line in list_ruleset(rs, opts).splitlines(keepends=True):
        body = line.rstrip("\n")
        words = body.split()
        if body.startswith("table ") and len(words) >= 3:
            family, table = words[1], words[2]
        elif body.startswith("\tchain ") and len(words) >= 2:
            chain = words[1]
        m = _HANDLE_RE.search(body)
        if m is not None:
            key = (family, table, chain, int(m.group(1)))
            body = body[:m.start()]
            if body.startswith("\t\t"):
                cs = iter(rule_counters.get(key, ()))
                body = _COUNTER_RE.sub(lambda mm: _next_counter(mm, cs), body)
                qs = iter(rule_quotas.get(key, ()))
                body = _QUOTA_RE.sub(lambda mm: _next_quota(mm, qs, _data_unit), body)
        out.append(body + ("\n" if line.endswith("\n") else ""))
    return "".join(out)


def _next_counter(m: re.Match, it) -> str:
    c = next(it, None)
    return m.group(0) if c is None else f"counter packets {c.packets} bytes {c.bytes}"


def _next_quota(m: re.Match, it, data_unit) -> str:
    q = next(it, None)
    if q is None:
        return m.group(0)
    s = f"quota {m.group(1) or ''}{m.group(2)} {m.group(3)}"
    used = min(q.consumed, q.quota)         # nft_quota_do_dump(): capped at the quota
    if used:
        v, u = data_unit(used)
        s += f" used {v} {u}"
    return s


# ------------------------------------------------------------------ --workers
# Each worker of ``pkt simulate --workers N`` starts from the same loaded state (forked
# after the ruleset was loaded at the first packet's time) and sends back its final
# state (:func:`worker_state`).  The parent merges them (:func:`merge_worker_states`):
# every counter and consumed quota is the loaded value plus the sum of the workers'
# deltas from it, which is exact for counters; set elements are the union of the
# workers' elements, each with its counter/quota deltas summed and the ``expires`` of
# the worker that refreshed it last (the largest).

def worker_state(runtimes: Iterable[Any], now: float | None) -> dict:
    """A worker's final stateful values, picklable: rule counters and quotas by their full
    key, named counters/quotas, and the live elements of every named set."""
    from pkttables.sets.instance import SetInstance
    from pkttables.vm.stateful_impl import Count, _NamedQuota

    runtimes = list(runtimes)
    counters, quotas, objects = merged_states(runtimes)
    objs = {}
    for key, st in objects.items():
        if isinstance(st, tuple):
            continue                        # both runtimes of one worker: not expected
        if isinstance(st, Count):
            objs[key] = ("counter", st.packets, st.bytes)
        elif isinstance(st, _NamedQuota):
            objs[key] = ("quota", st.q.consumed, st.q.quota, st.inverted)
    sets = {k: inst.elements(now) for k, inst in named_set_instances(runtimes).items()
            if isinstance(inst, SetInstance)}
    return {"counters": {k: (c.packets, c.bytes) for k, c in counters.items()},
            "quotas": {k: (q.consumed, q.quota) for k, q in quotas.items()},
            "objects": objs, "sets": sets}


class _MergedSet:
    """What :func:`pkttables.sets.listing.live_set` reads of a SetInstance: its spec
    and its elements."""

    def __init__(self, spec, views: list):
        self.spec = spec
        self._views = views

    def elements(self, now=None) -> list:
        return self._views


def _expr_values(view) -> dict:
    return {name: v for name, v in view.exprs}


def _merge_views(base: dict, views: list[list]) -> list:
    """The union of the workers' elements; counters and quotas: base + the deltas."""
    import dataclasses

    order: list = []
    per: dict = {}
    for vs in views:
        for v in vs:
            ident = (v.catchall, v.key, v.key_end)
            if ident not in per:
                order.append(ident)
            per.setdefault(ident, []).append(v)
    out = []
    for ident in order:
        vs = per[ident]
        b = _expr_values(base[ident]) if ident in base else {}
        last = max(vs, key=lambda v: -1 if v.expires is None else v.expires)
        exprs = []
        for name, val in last.exprs:
            val = dict(val)
            if name == "counter":
                for f in ("packets", "bytes"):
                    b0 = b.get("counter", {}).get(f, 0)
                    val[f] = b0 + sum(_expr_values(v).get("counter", {}).get(f, b0) - b0 for v in vs)
            elif name == "quota":
                b0 = b.get("quota", {}).get("used", 0)
                val["used"] = b0 + sum(_expr_values(v).get("quota", {}).get("used", b0) - b0 for v in vs)
            exprs.append((name, val))
        out.append(dataclasses.replace(last, exprs=tuple(exprs)))
    return out


def merge_worker_states(ruleset, parent_runtimes: Iterable[Any], states: list[dict], now: float | None):
    """``(counters, quotas, objects, sets)`` for :func:`listing_after_run` from the
    workers' :func:`worker_state`; ``parent_runtimes``: the parent's (unrun) runtimes,
    whose sets hold the loaded elements."""
    from types import SimpleNamespace

    from pkttables.vm.stateful_impl import Count, QuotaState, _NamedQuota

    counters: dict = {}
    for st in states:
        for k, (p, b) in st.get("counters", {}).items():
            c = counters.setdefault(k, Count(0, 0))
            c.packets += p
            c.bytes += b
    quotas: dict = {}
    for st in states:
        for k, (used, size) in st.get("quotas", {}).items():
            q = quotas.setdefault(k, SimpleNamespace(consumed=0, quota=size))
            q.consumed += used
    loaded: dict = {}
    for (fam, tname), t in ruleset.tables.items():
        for obj in t.objects.values():
            if isinstance(obj.spec, dict):
                loaded[(fam, tname, obj.kind, obj.name)] = obj.spec
    objects: dict = {}
    for st in states:
        for k, v in st.get("objects", {}).items():
            spec = loaded.get(k, {})
            if v[0] == "counter":
                p0, b0 = int(spec.get("packets", 0) or 0), int(spec.get("bytes", 0) or 0)
                o = objects.setdefault(k, Count(p0, b0))
                o.packets += v[1] - p0
                o.bytes += v[2] - b0
            else:
                u0 = int(spec.get("used", 0) or 0)
                o = objects.setdefault(k, _NamedQuota(QuotaState(v[2], u0), v[3]))
                o.q.consumed += v[1] - u0
    sets: dict = {}
    for key, inst in named_set_instances(parent_runtimes).items():
        views = [st["sets"][key] for st in states if key in st.get("sets", {})]
        if not views or not hasattr(inst, "elements"):
            continue
        base = {(v.catchall, v.key, v.key_end): v for v in inst.elements(now)}
        sets[key] = _MergedSet(inst.spec, _merge_views(base, views))
    return counters, quotas, objects, sets
