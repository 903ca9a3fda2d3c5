"""Listings: ``list ...`` and ``reset ...`` commands, answered by :mod:`pkttables.render.text`.

This module is the one place that maps a parsed listing command to render's entry points
and the executor's output flags (python-nftables names, ``Options.flags``) to
:class:`pkttables.render.ListOptions`.  What nft prints for each command (nft 1.0.6
``do_command_list``/``do_list_*`` in ``src/rule.c``):

=================================  ==============================================
``list ruleset [FAMILY]``          every table, blank line between blocks
``list tables [FAMILY]``           ``table FAMILY NAME`` lines
``list table FAMILY NAME``         the one table
``list chains [FAMILY]``           every chain without its rules
``list chain FAMILY TABLE NAME``   the chain with its rules, inside its table
``list sets|maps [FAMILY]``        every named set (map), inside its table
``list set|map FAMILY TABLE NAME`` one set
``list counters|quotas|...``       objects of a kind (``table FAMILY NAME`` narrows)
``list counter FAMILY TABLE NAME`` one object
``list flowtables [FAMILY]``       every flowtable
``list meters [FAMILY]``           every table, with its meters (rule-declared sets)
``list meter FAMILY TABLE NAME``   one meter
``list hooks [FAMILY]``            nothing (nft 1.0.6 on Linux 6.18 prints nothing)
``reset counters|quotas ...``      the listing, then the values go back to zero
=================================  ==============================================

With ``-j`` (``json`` in the output flags) every listing is one libnftables document
printed by :mod:`pkttables.render.json_output` (``do_command_list_json``): a
``metainfo`` object, then the same objects in the same order as the text listing.
"""

from __future__ import annotations

from pkttables.errors import Diagnostic
from pkttables.lang import ast as A
from pkttables.model import Ruleset

__all__ = ["list_options", "render"]

# ``list counters`` -> the object kind as the model names it
_PLURAL_KINDS = {
    "counters": "counter", "quotas": "quota", "limits": "limit", "secmarks": "secmark",
    "synproxys": "synproxy", "ct helpers": "ct helper", "ct timeouts": "ct timeout",
    "ct expectations": "ct expectation",
}


def list_options(flags) -> "object":
    """Executor/python-nftables output flag names -> :class:`ListOptions`."""
    from pkttables.render import ListOptions
    f = set(flags or ())
    # nft 1.0.6 -n sets every numeric flag at once (NFT_CTX_OUTPUT_NUMERIC_ALL);
    # numeric_symbol is the one that makes symbols (ports, marks, ...) numeric.
    numeric = 2 if "numeric_symbol" in f else 0
    return ListOptions(handle="handle" in f, stateless="stateless" in f, terse="terse" in f,
                       numeric=numeric, numeric_proto="numeric_proto" in f, service="service" in f,
                       numeric_time="numeric_time" in f, guid="guid" in f,
                       numeric_priority="numeric_prio" in f)


def _not_available(cmd: A.Command, what: str):
    from ._exec import NotAvailable
    return NotAvailable(Diagnostic(None, f"'{cmd.verb} {what}' is not available yet"))


def _is_meter(s) -> bool:
    """A set a rule declared with ``meter NAME { ... }``: dynamic, anonymous, and named
    by the user (anonymous sets of rules are ``__set%d``)."""
    return "anonymous" in s.flags and "dynamic" in s.flags and not s.name.startswith("__")


def _meter_text(s, o) -> str:
    # nft 1.0.6 set_print_plain for a meter: type, size, flags dynamic; no blank line
    # between meters (unlike sets)
    from pkttables.render import text as T
    types = " . ".join(s.key_type) if s.key_type else "integer"
    hd = f" # handle {s.handle}" if o.handle else ""
    return (f"\tmeter {s.name} {{{hd}\n\t\ttype {types}\n\t\tsize {s.size or 65535}\n"
            f"\t\tflags dynamic\n\t}}\n")


def _meter_json(s, t) -> dict:
    return {"meter": {"family": t.family, "name": s.name, "table": t.name,
                      "type": (" . ".join(s.key_type) if s.key_type else "integer"),
                      "handle": s.handle, "size": s.size or 65535}}


def _meters(cmd: A.Command, ruleset: Ruleset, o, as_json: bool):
    from pkttables.render import json_output as J
    from pkttables.render import text as T
    obj = cmd.obj
    if isinstance(obj, A.SetObj):        # list meter FAMILY TABLE NAME
        t = ruleset.table(obj.family or "ip", obj.table)
        pick = [(t, [t.sets[obj.name]])]
    else:
        fam = obj.family
        pick = [(t, [s for s in t.sets.values() if _is_meter(s)])
                for t in ruleset.tables.values() if fam is None or t.family == fam]
    if as_json:
        return J.dumps({"nftables": [J.metainfo()] + [_meter_json(s, t) for t, ss in pick for s in ss]}) + "\n"
    out = ""
    for t, ss in pick:
        out += T._table_header(t, o) + "".join(_meter_text(s, o) for s in ss) + "}\n"
    return out


def render(cmd: A.Command, ruleset: Ruleset, opts) -> str:
    """The text nft prints for a ``list``/``reset`` command on ``ruleset``."""
    flags = getattr(opts, "flags", set())
    o = list_options(flags)
    obj = cmd.obj
    if (isinstance(obj, A.SetObj) and obj.kind == "meter") or (isinstance(obj, A.ListObj) and obj.what == "meters"):
        return _meters(cmd, ruleset, o, "json" in flags)
    if isinstance(obj, A.ListObj) and obj.what == "hooks":
        # nft 1.0.6 `list hooks` asks NFNL_SUBSYS_HOOK per device and prints nothing here
        return ""
    if "json" in flags:
        from pkttables.render import json_output as J
        return J.dumps(_render_json(cmd, ruleset, o)) + "\n"
    return _render_text(cmd, ruleset, o)


def _render_json(cmd: A.Command, ruleset: Ruleset, o) -> dict:
    from pkttables.render import json_output as J
    obj = cmd.obj
    if isinstance(obj, A.RulesetObj):
        return J.list_ruleset_json(ruleset, o, obj.family)
    if isinstance(obj, A.TableObj):
        return J.list_table_json(ruleset, obj.family or "ip", obj.name, o)
    if isinstance(obj, A.ChainObj):
        return J.list_chain_json(ruleset, obj.family or "ip", obj.table, obj.name, o)
    if isinstance(obj, A.SetObj):
        return J.list_set_json(ruleset, obj.family or "ip", obj.table, obj.name, o)
    if isinstance(obj, A.StatefulObj):
        return J.list_objects_json(ruleset, obj.kind, o, obj.family or "ip", obj.table, obj.name)
    if isinstance(obj, A.ListObj):
        w, fam = obj.what, obj.family
        simple = {"tables": J.list_tables_json, "chains": J.list_chains_json, "sets": J.list_sets_json,
                  "maps": J.list_maps_json, "flowtables": J.list_flowtables_json}
        if w in simple:
            return simple[w](ruleset, o, fam)
        kind = _PLURAL_KINDS.get(w) or (w if w in _PLURAL_KINDS.values() else None)
        if kind is not None:
            if obj.table is not None and fam is None:
                fam = "ip"
            return J.list_objects_json(ruleset, kind, o, fam, obj.table)
        raise _not_available(cmd, w)
    if isinstance(obj, A.FlowtableObj):
        return {"nftables": [J.metainfo()] + [J.flowtable_json(ruleset.table(obj.family or "ip", obj.table)
                                                               .flowtables[obj.name],
                                                               ruleset.table(obj.family or "ip", obj.table))]}
    raise _not_available(cmd, type(obj).__name__)


def _render_text(cmd: A.Command, ruleset: Ruleset, o) -> str:
    from pkttables.render import text as T
    obj = cmd.obj
    if isinstance(obj, A.RulesetObj):
        return T.list_ruleset(ruleset, o, obj.family)
    if isinstance(obj, A.TableObj):
        return T.list_table(ruleset, obj.family or "ip", obj.name, o)
    if isinstance(obj, A.ChainObj):
        return T.list_chain(ruleset, obj.family or "ip", obj.table, obj.name, o)
    if isinstance(obj, A.SetObj):
        return T.list_set(ruleset, obj.family or "ip", obj.table, obj.name, o)
    if isinstance(obj, A.StatefulObj):
        return T.list_object(ruleset, obj.kind, obj.family or "ip", obj.table, obj.name, o)
    if isinstance(obj, A.FlowtableObj):
        return T.list_flowtable(ruleset, obj.family or "ip", obj.table, obj.name, o)
    if isinstance(obj, A.ListObj):
        w = obj.what
        fam = obj.family
        if w == "tables":
            return T.list_tables(ruleset, o, fam)
        if w == "chains":
            return T.list_chains(ruleset, o, fam)
        if w == "sets":
            return T.list_sets(ruleset, o, fam)
        if w == "maps":
            return T.list_maps(ruleset, o, fam)
        if w == "flowtables":
            return T.list_flowtables(ruleset, o, fam)
        kind = _PLURAL_KINDS.get(w) or (w if w in _PLURAL_KINDS.values() else None)
        if kind is not None:
            if obj.table is not None and fam is None:
                fam = "ip"
            return T.list_objects(ruleset, kind, o, fam, obj.table, reset=cmd.verb == "reset")
        raise _not_available(cmd, w)
    raise _not_available(cmd, type(obj).__name__)


def reset_objects(ruleset: Ruleset, cmd: A.Command):
    """The (family, table, kind, name) of the objects a ``reset`` command zeroes."""
    obj = cmd.obj
    out = []
    if isinstance(obj, A.StatefulObj):
        return [(obj.family or "ip", obj.table, obj.kind, obj.name)]
    if isinstance(obj, A.ListObj):
        kind = _PLURAL_KINDS.get(obj.what)
        fam = obj.family if obj.family or obj.table is None else "ip"
        for t in ruleset.tables.values():
            if (fam is not None and t.family != fam) or (obj.table is not None and t.name != obj.table):
                continue
            for (k, n) in t.objects:
                if k == kind:
                    out.append((t.family, t.name, k, n))
    return out


def zeroed(spec: dict) -> dict:
    """A counter's or quota's spec after ``reset`` (``packets``/``bytes``/``used`` 0)."""
    sp = dict(spec)
    for k in ("packets", "used"):
        if k in sp:
            sp[k] = 0
    if "packets" in sp:
        sp["bytes"] = 0
    return sp

