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
``reset counters|quotas ...``      the listing, then the values go back to zero
=================================  ==============================================

JSON output (``-j``) is not produced here yet: it raises :class:`NotAvailable`.
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


def render(cmd: A.Command, ruleset: Ruleset, opts) -> str:
    """The text nft prints for a ``list``/``reset`` command on ``ruleset``."""
    from pkttables.render import text as T
    flags = getattr(opts, "flags", set())
    if "json" in flags:
        raise _not_available(cmd, "-j (JSON listing)")
    o = list_options(flags)
    obj = cmd.obj
    if isinstance(obj, A.RulesetObj):
        return T.list_ruleset(ruleset, o, obj.family)
    if isinstance(obj, A.TableObj):
        return T.list_table(ruleset, obj.family or "ip", obj.name, o)
    if isinstance(obj, A.ChainObj):
        return T.list_chain(ruleset, obj.family or "ip", obj.table, obj.name, o)
    if isinstance(obj, A.SetObj):
        if obj.kind == "meter":
            raise _not_available(cmd, "meter")
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

