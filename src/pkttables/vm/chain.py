"""Running chains: ``nft_do_chain``, base chains at the netfilter hooks, and load checks.

Theory of operation
-------------------
A committed :class:`~pkttables.model.Ruleset` generation is *loaded* once
(:class:`LoadedRuleset`): every rule's program becomes a tuple of
:mod:`pkttables.vm` instructions (read back from the compiler's ``--debug=netlink``
text when the compiler still keeps its own records), anonymous sets become
:class:`~pkttables.vm.context.SetLookup` values bound to the lookups that use them,
and the base chains are grouped by ``(family, hook)`` in the order the kernel walks
them.

:func:`do_chain` is ``nft_do_chain`` (net/netfilter/nf_tables_core.c)::

    for each rule of the chain:           verdict := CONTINUE, run the expressions
        BREAK    (no match)               -> next rule
        CONTINUE (matched, no verdict)    -> trace "rule", next rule
        otherwise                         -> leave the rule loop
    ACCEPT / QUEUE / STOLEN               -> return it      (the hook ends)
    DROP                                  -> return it      (every later hook entry too)
    JUMP                                  -> push the next rule, enter the chain
    GOTO                                  -> enter the chain (nothing pushed)
    CONTINUE (end of chain) / RETURN      -> pop: resume after the jump,
                                             or, on an empty stack, the base chain policy

The jump stack holds ``NFT_JUMP_STACK_SIZE`` = 16 entries.  The kernel never
overflows it at run time because ``nft_chain_validate`` refuses, at load time, a
ruleset whose jumps nest deeper than 16 (``-EMLINK``) or loop (``-ELOOP``); should it
overflow anyway the kernel WARNs and drops.  :func:`check_loops` is that load-time
check (the commands executor calls it before committing), and :func:`do_chain` drops
on overflow as the kernel would.

Hook order (nf_hook_entries_grow, net/netfilter/core.c): entries are sorted by
priority and a new entry goes *before* the entries that already have its priority, so
at equal priority the chain registered last runs first.  nft registers a base chain
when its table/chain is created, so registration order is the order tables and
chains were created (table handle, then chain handle).  Every base chain is one hook
entry: its accept lets the packet go on to the next entry (another table's chain at
the same hook), its drop ends the hook.  ``inet`` chains register in both ``ip`` and
``ip6``; ``netdev`` chains (and ``inet`` ingress) run only for their devices.

Example::

    rs = run_text(text, Ruleset()).ruleset
    loaded = LoadedRuleset(rs)
    runtime = ChainRuntime(loaded, host=host, seed=1)
    runtime.install(hook_table)           # a HookTable of pkttables.stack.hooks
    # or directly: runtime.run_hook("ip", "input", pkt, now=1.0) -> HookVerdict
"""

from __future__ import annotations

import dataclasses
import errno as _errno
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from pkttables.errors import Diagnostic, Location
from pkttables.vm._base import Instr
from pkttables.vm.lookup import Lookup, Objref
from pkttables.vm.program import ELEM_CATCHALL, ELEM_INTERVAL_END, Program, SetDump, SetFlag, parse_dump
from pkttables.vm.regs import Regs, Verdict, VerdictData

__all__ = [
    "NFT_JUMP_STACK_SIZE", "LoadedRule", "LoadedChain", "LoadedRuleset", "DumpSet", "ChainResult",
    "do_chain", "check_loops", "check_new_jumps", "jump_edges", "bases_reaching", "hook_starts", "check_hooks", "check_hooks_from", "program_of", "allowed_hooks", "jump_targets", "HOOK_FAMILIES", "NF_VERDICT_MASK", "QUEUE_BYPASS",
]

#: include/net/netfilter/nf_tables.h
NFT_JUMP_STACK_SIZE = 16
#: the low byte of a netfilter verdict is the verdict, the rest its argument (queue number)
NF_VERDICT_MASK = 0xFF
#: NF_VERDICT_FLAG_QUEUE_BYPASS (linux/netfilter.h): accept when nobody listens
QUEUE_BYPASS = 0x8000

#: which engine families a table family's base chains are registered in
HOOK_FAMILIES: dict[str, tuple[str, ...]] = {
    "ip": ("ip",), "ip6": ("ip6",), "inet": ("ip", "ip6"), "arp": ("arp",),
    "bridge": ("bridge",), "netdev": ("netdev",),
}


# ------------------------------------------------------------------ sets from dumps
class DumpSet:
    """An anonymous set (or map) read from a rule's dump: the kernel's hash/rbtree.

    Keys are compared as the kernel compares them: ``klen`` bytes, ``memcmp`` order.
    Element keys in a dump are printed in whole 32-bit words, and registers zero the
    rest of a short value's last word, so comparing word-padded keys gives the same
    answer.  Interval sets (NFT_SET_INTERVAL) hold start elements and end markers
    (NFT_SET_ELEM_INTERVAL_END, the first key *after* the range), as nft sends them.
    """

    __slots__ = ("name", "flags", "klen", "dlen", "_exact", "_starts", "_catchall", "elements")

    def __init__(self, name: str, flags: int, elements: Iterable[Any]):
        self.name = name
        self.flags = flags
        self.elements = tuple(elements)
        keys = [e.key for e in self.elements if not e.flags & ELEM_CATCHALL]
        self.klen = max((len(k) for k in keys), default=4)
        self.dlen = 0
        self._catchall: tuple[bool, Any] = (False, None)
        self._exact: dict[bytes, Any] = {}
        starts: list[tuple[bytes, bool, Any]] = []
        for e in self.elements:
            data = e.data if (isinstance(e.data, VerdictData) or e.data) else None
            if e.flags & ELEM_CATCHALL:
                self._catchall = (True, data)
                continue
            if isinstance(data, bytes):
                self.dlen = max(self.dlen, len(data))
            key = e.key.ljust(self.klen, b"\0")
            if flags & SetFlag.INTERVAL:
                starts.append((key, bool(e.flags & ELEM_INTERVAL_END), data))
                if e.key_end is not None:   # a range of a concatenation (pipapo)
                    starts.pop()
                    starts.append((key, False, data))
                    self._exact[b"end:" + key] = e.key_end.ljust(self.klen, b"\0")
            else:
                self._exact[key] = data
        starts.sort(key=lambda s: s[0])
        self._starts = starts

    def lookup(self, key: bytes) -> tuple[bool, Any]:
        if not self.flags & SetFlag.INTERVAL:
            if key in self._exact:
                return True, self._exact[key]
            return False, None
        found = (False, None)
        for start, is_end, data in self._starts:
            if start > key:
                break
            end = self._exact.get(b"end:" + start)
            if end is not None:       # concatenated range: inclusive end
                if key <= end:
                    found = (True, data)
                continue
            found = (False, None) if is_end else (True, data)
        return found

    def catchall(self) -> tuple[bool, Any]:
        return self._catchall


# ------------------------------------------------------------------ loading
@dataclass(slots=True)
class LoadedRule:
    """One rule ready to run: its instructions and the sets they name."""

    family: str
    table: str
    chain: str
    handle: int
    instrs: tuple[Instr, ...]
    sets: dict[str, Any] = field(default_factory=dict)
    rule: Any = None                 # the model Rule (for traces: its text)
    index_of: dict[int, int] = field(default_factory=dict)   # id(instr) -> position

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.family, self.table, self.chain, self.handle)


@dataclass(slots=True)
class LoadedChain:
    family: str
    table: str
    name: str
    handle: int
    rules: list[LoadedRule]
    hook: Any = None                 # model Hook for base chains
    table_handle: int = 0

    @property
    def is_base(self) -> bool:
        return self.hook is not None

    @property
    def policy(self) -> Verdict:
        p = getattr(self.hook, "policy", None)
        return Verdict.DROP if p == "drop" else Verdict.ACCEPT


def _is_vm_instrs(instrs) -> bool:
    return all(isinstance(i, Instr) for i in instrs)


def program_of(rule, family: str, table: str, chain: str) -> tuple[tuple[Instr, ...], list[SetDump]]:
    """The rule's instructions (vm classes) and the anonymous sets its dump declares.

    Accepts a :class:`pkttables.vm.Program`, a tuple of vm instructions, or the
    compiler's own records (read back through their ``--debug=netlink`` text)."""
    prog = rule.userdata.get("program") if hasattr(rule, "userdata") else rule
    if prog is None:
        return (), []
    if isinstance(prog, Program):
        return tuple(prog.instrs), []
    instrs = getattr(prog, "instrs", prog)
    sets = getattr(prog, "sets", ())
    if isinstance(instrs, (tuple, list)) and _is_vm_instrs(instrs) and not sets:
        return tuple(instrs), []
    from pkttables.compile import dump as _cdump   # compile sits above vm: import lazily
    items = parse_dump(_cdump(prog))
    progs = [i for i in items if isinstance(i, Program)]
    dumps = [i for i in items if isinstance(i, SetDump)]
    instrs = tuple(i for p in progs for i in p.instrs)
    return instrs, dumps


def _distinct(instrs: tuple[Instr, ...]) -> tuple[Instr, ...]:
    """The rule's instructions, each a distinct object.  Stateful instructions find their
    state by identity (``LoadedRule.index_of``: id -> position), but equal constant-free
    instructions may arrive as one shared object (the dump parser and the rule-shape cache
    reuse them): ``counter counter`` would then count twice into one cell."""
    seen: set[int] = set()
    out = list(instrs)
    for k, i in enumerate(out):
        if id(i) in seen:
            out[k] = dataclasses.replace(i)
        seen.add(id(out[k]))
    return tuple(out)


def _bind_anon_sets(instrs: tuple[Instr, ...], dumps: list[SetDump], uid: str, objdata=None):
    """Pair the declaration and element lines of each anonymous set and give each a
    name of its own: nft prints every anonymous set as ``__set%d`` (the kernel numbers
    them on load), in the order the rule's lookups use them."""
    sets: list[DumpSet] = []
    for d in dumps:
        if d.flags & SetFlag.ANONYMOUS or not sets or sets[-1].name != d.name:
            sets.append(DumpSet(d.name, d.flags, d.elements))
        else:
            prev = sets[-1]
            sets[-1] = DumpSet(prev.name, prev.flags, prev.elements + d.elements)
    out: dict[str, Any] = {}
    queue = list(sets)
    new_instrs = []
    for ins in instrs:
        name = getattr(ins, "set", None)
        if isinstance(ins, (Lookup, Objref)) and name and "%d" in name and queue:
            idx = next((k for k, s in enumerate(queue) if s.name == name), None)
            if idx is not None:
                s = queue.pop(idx)
                real = f"{name.replace('%d', '')}{uid}.{len(out)}"
                s.name = real
                out[real] = s
                ins = dataclasses.replace(ins, set=real)
        new_instrs.append(ins)
    return tuple(new_instrs), out


def _anon_instances(anon: dict, rule, sets: dict, fam: str, tname: str) -> dict:
    """The rule's anonymous sets as the model's ``__set%d`` instances (pkttables.sets:
    pipapo for concatenated ranges, timeouts, element expressions) when the model names
    them (``Rule.userdata["sets"]``, in declaration order) and the DumpSet would answer
    differently -- the DumpSet stays otherwise."""
    names = (getattr(rule, "userdata", None) or {}).get("sets") or ()
    insts = [sets.get((fam, tname, n)) for n in names]
    if not anon or len(insts) != len(anon) or any(i is None or not hasattr(i, "match") for i in insts):
        return anon
    out = {}
    for (real, ds), inst in zip(anon.items(), insts):
        n_dump = sum(1 for e in ds.elements if not (ds.flags & SetFlag.INTERVAL and e.flags & 1
                                                        and e.key_end is None))
        n_inst = len(inst.model_elements) if getattr(inst, "model_elements", None) else None
        # only where the dump's flat memcmp answer is not the kernel's: ranges of a
        # concatenation (pipapo compares per field), element expressions, timeouts; the
        # rest stays a DumpSet, which codegen inlines
        # object maps too: only the model's elements carry the object names (dumps have none)
        needed = (inst.kind == "pipapo" or inst.spec.exprs or inst.spec.has_timeout
                  or getattr(inst, "obj_kind", None))
        out[real] = inst if needed and (n_inst is None or n_inst <= n_dump) else ds
    return out


class LoadedRuleset:
    """A committed generation, compiled for running: chains by (family, table, name)
    and base chains by hook.  Building it never changes the model."""

    def __init__(self, ruleset, *, sets: dict | None = None):
        self.ruleset = ruleset
        self.generation = getattr(ruleset, "generation", 0)
        self._base_chains: dict[tuple, tuple[LoadedChain, ...]] = {}
        self.chains: dict[tuple[str, str, str], LoadedChain] = {}
        self.tables: dict[tuple[str, str], Any] = {}
        #: named sets: (family, table, name) -> SetLookup.  Callers running several loaded
        #: views of one generation (filter and nat runtimes) pass one dict so the packet
        #: path's set updates are seen by all; by default the model's sets are built here.
        if sets is None:
            from pkttables.sets import instances_from_model

            sets = instances_from_model(ruleset)
        self.named_sets = sets
        for (fam, tname), t in ruleset.tables.items():
            self.tables[(fam, tname)] = t
            for cname, c in t.chains.items():
                rules = []
                for r in c.rules:
                    instrs, dumps = program_of(r, fam, tname, cname)
                    instrs, anon = _bind_anon_sets(instrs, dumps, f"{fam}/{tname}/{cname}/{r.handle}")
                    anon = _anon_instances(anon, r, sets, fam, tname)
                    instrs = _distinct(instrs)
                    lr = LoadedRule(fam, tname, cname, r.handle, instrs, anon, r)
                    lr.index_of = {id(i): k for k, i in enumerate(instrs)}
                    rules.append(lr)
                self.chains[(fam, tname, cname)] = LoadedChain(fam, tname, cname, c.handle, rules,
                                                              c.hook, t.handle)

    def chain(self, family: str, table: str, name: str) -> LoadedChain | None:
        return self.chains.get((family, table, name))

    def base_chains(self, family: str, hook: str, *, types: Iterable[str] = ("filter", "route"),
                    device: str | None = None, prio: tuple[int, int] | None = None) -> tuple[LoadedChain, ...]:
        """The base chains a packet of engine family ``family`` meets at ``hook``, in the
        kernel's order (priority; at equal priority the later registered first).

        ``device``: for netdev ingress/egress, only chains bound to that device.
        ``prio = (lo, hi)``: only the chains of one hook entry (priorities lo..hi).
        A generation never changes, and every packet asks again at every hook entry:
        the answers are computed once per generation and key."""
        types = tuple(types)
        key = (family, hook, types, device, prio)
        found = self._base_chains.get(key)
        if found is None:
            found = self._base_chains[key] = self._find_base_chains(family, hook, types, device, prio)
        return found

    def _find_base_chains(self, family: str, hook: str, types: tuple[str, ...], device: str | None,
                          prio: tuple[int, int] | None) -> tuple[LoadedChain, ...]:
        found = []
        for lc in self.chains.values():
            h = lc.hook
            if h is None or h.type not in types or h.hook != hook:
                continue
            t = self.tables.get((lc.family, lc.table))
            if t is not None and "dormant" in t.flags:
                continue
            fams = HOOK_FAMILIES.get(lc.family, ())
            if lc.family == "inet" and hook == "ingress":
                fams = ("netdev",)   # inet ingress chains hook netdev ingress (5.10+)
            if family not in fams:
                continue
            if family == "netdev" and device is not None and h.devices and device not in h.devices:
                continue
            if prio is not None:
                if isinstance(prio[0], tuple):
                    # a hook entry that is part of one priority's chains (a tie split by
                    # another entry, pkttables.datapath.replay): bounds are tie_keys
                    if not prio[0] <= tie_key(lc) <= prio[1]:
                        continue
                elif not prio[0] <= h.priority <= prio[1]:
                    continue
            found.append(lc)
        # registration order = creation order; later registered runs first at a tie
        found.sort(key=tie_key)
        return tuple(found)

    def named_set(self, family: str, table: str, name: str):
        return self.named_sets.get((family, table, name))


def tie_key(lc) -> tuple[int, int, int]:
    """A base chain's place in its hook's walk: priority, then the later created first
    (nf_hook_entries_grow inserts a new entry before those of equal priority)."""
    return (lc.hook.priority, -lc.table_handle, -lc.handle)


# ------------------------------------------------------------------ load-time checks
def check_loops(ruleset) -> list[Diagnostic]:
    """``nft_chain_validate``: every chain reachable from a base chain through jumps and
    gotos (and verdict maps) must not reach itself nor nest deeper than
    NFT_JUMP_STACK_SIZE.  Both give ``EMLINK``: Linux 6.18 answers a loop with
    ``Could not process rule: Too many links`` (its depth walk hits the limit before
    anything else; checked with nft 1.0.6, the carets then cover the whole command).
    Returns one diagnostic per offending rule.

    The kernel counts depth from the base chain (level 0); a regular chain that no
    base chain reaches is only checked for loops when a base chain reaches it, as in
    the kernel (nft_table_validate walks base chains only)."""
    diags: list[Diagnostic] = []
    seen_bad: set[tuple] = set()
    for (fam, tname), t in ruleset.tables.items():
        edges: dict[str, list[tuple[str, Any]]] = {}
        for cname, c in t.chains.items():
            out = []
            for r in c.rules:
                for target in jump_targets(r, fam, tname, cname):
                    out.append((target, r))
            edges[cname] = out

        def walk(cname: str, level: int, path: tuple[str, ...]):
            for target, r in edges.get(cname, ()):
                if target in path or target == cname:
                    key = ("loop", fam, tname, cname, r.handle)
                    if key not in seen_bad:
                        seen_bad.add(key)
                        diags.append(_diag(r, _errno.EMLINK))
                    continue
                if level + 1 >= NFT_JUMP_STACK_SIZE:
                    key = ("deep", fam, tname, cname, r.handle)
                    if key not in seen_bad:
                        seen_bad.add(key)
                        diags.append(_diag(r, _errno.EMLINK))
                    continue
                walk(target, level + 1, path + (target,))

        for cname, c in t.chains.items():
            if c.hook is not None:
                walk(cname, 0, (cname,))
    return diags


def check_new_jumps(ruleset, jumps, edges: dict | None = None) -> bool | None:
    """:func:`check_loops` for a batch that added the jumps ``jumps`` (``(family,
    table, source chain, target chain)``) to a generation that passed it: whether the
    new generation fails (True/False), walking only what the new jumps can reach.
    None when a table of a jump is missing (the caller runs the full check).

    Why this is enough.  check_loops walks every path from every base chain; the
    committed generation passed, so a failing path of the new one uses a new edge.

    * A source that is a **base chain** ``src``: a path whose first edge is the new one
      is walked by check_loops as ``walk(dst, 1, (src, dst))``, and any later new edge
      lies in that subtree.  nft_verdict_init refuses jumps to base chains, so a path
      never comes back to ``src``.  The subtree is the same walk as check_loops' (same
      path and level tests), so the answers agree.  Only the chains it reaches are read.
    * A source that is a **regular chain**: its depth below the base chains is not
      known without the edges into it, so the table's jump edges are read
      (:func:`jump_edges`, or ``edges[(family, table)]`` when the caller has them), the
      base chains that reach a new source are found by walking the edges backwards, and
      check_loops' walk runs from those base chains only: a base chain that reaches no
      new source walks exactly what it walked in the committed generation.

    tests/unit/backends/test_backends_loops.py compares both cases with the full check
    on random chain graphs (hypothesis)."""
    by_table: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for fam, tname, src, dst in jumps:
        t = ruleset.tables.get((fam, tname))
        if t is None or src not in t.chains:
            return None
        by_table.setdefault((fam, tname), []).append((src, dst))
    for (fam, tname), pairs in by_table.items():
        t = ruleset.tables[(fam, tname)]
        if all(t.chains[src].hook is not None for src, _dst in pairs):
            if _walk_from_base_jumps(t, fam, tname, pairs):
                return True
            continue
        e = edges.get((fam, tname)) if edges is not None else None
        if e is None:
            e = jump_edges(t, fam, tname)
        bases = bases_reaching(t, e, {src for src, _dst in pairs})
        if _walk_fails(e, bases):
            return True
    return False


def _walk_from_base_jumps(t, fam: str, tname: str, pairs) -> bool:
    """New jumps from base chains only: the subtree under each new edge, the chains
    read as the walk reaches them."""
    edges: dict[str, list[str]] = {}

    def out(cname: str) -> list[str]:
        got = edges.get(cname)
        if got is None:
            c = t.chains.get(cname)
            got = [tg for r in (c.rules if c is not None else ()) for tg in jump_targets(r, fam, tname, cname)]
            edges[cname] = got
        return got

    def walk(cname: str, level: int, path: tuple[str, ...]) -> bool:
        for target in out(cname):
            if target in path or target == cname or level + 1 >= NFT_JUMP_STACK_SIZE:
                return True
            if walk(target, level + 1, path + (target,)):
                return True
        return False

    return any(dst == src or walk(dst, 1, (src, dst)) for src, dst in pairs)


def _walk_fails(edges: dict[str, list[str]], bases: Iterable[str]) -> bool:
    """check_loops' walk from ``bases`` (the same tests), stopping at the first failure."""

    def walk(cname: str, level: int, path: tuple[str, ...]) -> bool:
        for target in edges.get(cname, ()):
            if target in path or target == cname or level + 1 >= NFT_JUMP_STACK_SIZE:
                return True
            if walk(target, level + 1, path + (target,)):
                return True
        return False

    return any(walk(b, 0, (b,)) for b in bases)


def jump_edges(table, fam: str, tname: str) -> dict[str, list[str]]:
    """chain name -> the chains its rules jump or go to (:func:`jump_targets`), for the
    chains that jump at all.  One pass over the table's rules: the cost of a jump
    added in a regular chain (the kernel's nft_table_validate walks the whole table)."""
    out: dict[str, list[str]] = {}
    for cname, c in table.chains.items():
        got = [tg for r in c.rules if _may_jump(r) for tg in jump_targets(r, fam, tname, cname)]
        if got:
            out[cname] = got
    return out


def _may_jump(rule) -> bool:
    """False when the rule's program surely holds no jump: vm instructions without a
    verdict-data immediate and no anonymous sets (no vmap).  A cheap filter in front of
    :func:`jump_targets` (which reads the program through program_of)."""
    prog = rule.userdata.get("program") if hasattr(rule, "userdata") else rule
    if prog is None:
        return False
    instrs = prog.instrs if isinstance(prog, Program) else getattr(prog, "instrs", None)
    if not isinstance(prog, Program) and (getattr(prog, "sets", None) or not isinstance(instrs, (tuple, list))):
        return True
    for i in instrs:
        d = getattr(i, "data", None)
        if d.__class__ is VerdictData:
            if d.code in _JUMP_CODES:
                return True
        elif not isinstance(i, Instr):
            return True                 # compiler records: let jump_targets read them
    return False


_JUMP_CODES = frozenset({Verdict.JUMP, Verdict.GOTO})


def bases_reaching(table, edges: dict[str, list[str]], names: Iterable[str]) -> list[str]:
    """The base chains of ``table`` from which a chain of ``names`` is reachable through
    ``edges`` (:func:`jump_edges`), a base chain of ``names`` included; in table order."""
    rev: dict[str, list[str]] = {}
    for src, targets in edges.items():
        for tg in targets:
            rev.setdefault(tg, []).append(src)
    seen: set[str] = set()
    todo = list(names)
    while todo:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.add(cur)
        todo.extend(rev.get(cur, ()))
    return [n for n, c in table.chains.items() if c.hook is not None and n in seen]


_PIF = frozenset({"prerouting", "input", "forward"})
_FOP = frozenset({"forward", "output", "postrouting"})
_ALL_INET = frozenset({"prerouting", "input", "forward", "output", "postrouting", "ingress"})


_RESTRICTED: frozenset[type] | None = None


def _restricted_types() -> frozenset[type]:
    global _RESTRICTED
    if _RESTRICTED is None:
        from pkttables.vm.meta import MetaLoad, MetaSet
        from pkttables.vm.route import Fib, Osf, Rt, Socket, Xfrm
        _RESTRICTED = frozenset({Fib, MetaLoad, MetaSet, Rt, Socket, Osf, Xfrm})
    return _RESTRICTED


def allowed_hooks(instr: Instr, family: str) -> frozenset[str] | None:
    """The hooks whose base chains may hold ``instr``, as the expression's ``validate``
    op decides at commit (None: no restriction).  Measured on Linux 6.18 with nft 1.0.6
    (tests/kernel/test_diff_refusals.py); the kernel functions are named per case."""
    # the commit checks ask this of every instruction a base chain reaches: most are
    # of no restricted kind, answered by one set lookup (no imports, no isinstance chain)
    if type(instr) not in (_RESTRICTED or _restricted_types()):
        return None
    from pkttables.proto import FibFlag, FibResult, MetaKeyId, RtKeyId, XfrmDir
    from pkttables.vm.meta import MetaLoad, MetaSet
    from pkttables.vm.route import Fib, Osf, Rt, Socket, Xfrm
    netdev = family == "netdev"
    if isinstance(instr, Fib):
        # nft_fib_validate: an output interface needs the input path; the address type
        # of the input interface too, of the output interface the output path
        if instr.result in (FibResult.OIF, FibResult.OIFNAME) or instr.flags & FibFlag.PRESENT:
            return frozenset({"ingress"}) if netdev else _PIF
        if instr.flags & FibFlag.IIF:
            return frozenset({"ingress"}) if netdev else _PIF
        if instr.flags & FibFlag.OIF and not netdev:
            return _FOP
        return None
    if isinstance(instr, MetaLoad) and instr.key == MetaKeyId.SECPATH:
        # nft_meta_get_validate
        if netdev:
            return frozenset({"ingress"})
        return _PIF if family in ("ip", "ip6", "inet") else frozenset()
    if isinstance(instr, MetaSet) and instr.key == MetaKeyId.PKTTYPE:
        # nft_meta_set_validate
        return frozenset({"ingress"}) if netdev else frozenset({"prerouting"})
    if isinstance(instr, Rt) and instr.key == RtKeyId.TCPMSS:
        return _FOP                                              # nft_rt_validate
    if isinstance(instr, Socket):
        return frozenset({"prerouting", "input", "output"})     # nft_socket_validate
    if isinstance(instr, Osf):
        return _PIF                                              # nft_osf_validate
    if isinstance(instr, Xfrm):
        return _PIF if instr.dir == XfrmDir.IN else _FOP        # nft_xfrm_validate
    return None


def check_hooks(ruleset) -> list[tuple[str, str, str, int]]:
    """``nft_table_validate`` -> each expression's ``validate`` op: rules holding an
    expression that the hook of a base chain reaching them (directly or through
    jumps/gotos, ``nft_chain_validate_hooks``) does not allow.  The kernel refuses them
    with ``EOPNOTSUPP``; returns their ``(family, table, chain, handle)``."""
    bad: list[tuple[str, str, str, int]] = []
    for (fam, tname), t in ruleset.tables.items():
        progs: dict[str, list[tuple[Any, tuple[Instr, ...]]]] = {}
        for cname, c in t.chains.items():
            lst = []
            for r in c.rules:
                try:
                    instrs, _dumps = program_of(r, fam, tname, cname)
                except Exception:   # noqa: BLE001 -- unreadable programs are checked elsewhere
                    instrs = ()
                lst.append((r, tuple(instrs)))
            progs[cname] = lst
        for cname, c in t.chains.items():
            hook = getattr(c.hook, "hook", None)
            if hook is None:
                continue
            seen: set[str] = set()
            todo = [cname]
            while todo:
                cur = todo.pop()
                if cur in seen:
                    continue
                seen.add(cur)
                for r, instrs in progs.get(cur, ()):
                    for i in instrs:
                        ok = allowed_hooks(i, fam)
                        if ok is not None and hook not in ok:
                            k = (fam, tname, cur, r.handle)
                            if k not in bad:
                                bad.append(k)
                            break
                    todo.extend(jump_targets(r, fam, tname, cur))
    return bad


def check_hooks_from(ruleset, starts) -> list[tuple[str, str, str, int]]:
    """:func:`check_hooks` for jumps a batch added to base chains: ``starts`` are
    ``(family, table, base chain, target chain)``; walks only the chains reachable from
    each target, under the base chain's hook.  On a generation that passed check_hooks
    this finds every new violation such a jump makes (no chain jumps to a base chain,
    so the base chain's own hook is the only new one that reaches the target)."""
    bad: list[tuple[str, str, str, int]] = []
    for fam, tname, base, start in starts:
        t = ruleset.tables.get((fam, tname))
        hook = getattr(getattr(t.chains.get(base), "hook", None), "hook", None) if t is not None else None
        if hook is None:
            continue
        seen: set[str] = set()
        todo = [start]
        while todo:
            cur = todo.pop()
            c = t.chains.get(cur)
            if cur in seen or c is None:
                continue
            seen.add(cur)
            for r in c.rules:
                try:
                    instrs, _dumps = program_of(r, fam, tname, cur)
                except Exception:   # noqa: BLE001 -- as check_hooks
                    instrs = ()
                for i in instrs:
                    ok = allowed_hooks(i, fam)
                    if ok is not None and hook not in ok:
                        k = (fam, tname, cur, r.handle)
                        if k not in bad:
                            bad.append(k)
                        break
                todo.extend(jump_targets(r, fam, tname, cur))
    return bad


def hook_starts(ruleset, fam: str, tname: str, chains: Iterable[str],
                edges: dict[str, list[str]] | None = None) -> list[tuple[str, str, str, str]]:
    """The :func:`check_hooks_from` starts for new rules (a jump, or a restricted
    expression) in the regular chains ``chains``: ``(family, table, base chain, chain)``
    for every base chain reaching one of them (:func:`bases_reaching` over
    :func:`jump_edges`).  Why this is enough: the committed generation passed
    check_hooks, so a new violation is a rule that a base chain newly reaches, or a new
    rule; either way a path from that base chain passes through a chain the batch
    changed, and the walk from that chain under the base chain's hook finds it."""
    t = ruleset.tables[(fam, tname)]
    e = jump_edges(t, fam, tname) if edges is None else edges
    out = []
    for c in dict.fromkeys(chains):
        for b in bases_reaching(t, e, (c,)):
            out.append((fam, tname, b, c))
    return out


def _diag(rule, err: int) -> Diagnostic:
    loc = getattr(rule, "loc", None)
    return Diagnostic(loc if isinstance(loc, Location) else None,
                      "Could not process rule: " + os.strerror(err))


def jump_targets(rule, fam, tname, cname) -> list[str]:
    try:
        instrs, dumps = program_of(rule, fam, tname, cname)
    except Exception:   # a rule the vm cannot read has no jumps we can see
        return []
    out = []
    for i in instrs:
        data = getattr(i, "data", None)
        if isinstance(data, VerdictData) and data.code in (Verdict.JUMP, Verdict.GOTO) and data.chain:
            out.append(data.chain)
    for d in dumps:
        for e in d.elements:
            if isinstance(e.data, VerdictData) and e.data.code in (Verdict.JUMP, Verdict.GOTO) \
                    and e.data.chain:
                out.append(e.data.chain)
    # named verdict maps are not followed: their elements are AST values in the model
    return out


# ------------------------------------------------------------------ nft_do_chain
@dataclass(slots=True)
class ChainResult:
    """What one base chain decided: the raw verdict code (NF_QUEUE keeps its queue
    number in the upper bits), the rule that decided (None: the policy), and the
    chain it was in."""

    verdict: int
    rule: LoadedRule | None = None
    chain: LoadedChain | None = None
    policy: bool = False

    @property
    def base_verdict(self) -> int:
        return self.verdict & NF_VERDICT_MASK


class Tracer:
    """What :func:`do_chain` reports when the packet has ``nftrace`` set (the kernel's
    NFT_TRACETYPE_RULE/RETURN/POLICY events).  Subclassed by :mod:`pkttables.trace`."""

    def rule(self, chain: LoadedChain, rule: LoadedRule, verdict: int, target: str | None) -> None: ...
    def ret(self, chain: LoadedChain, verdict: int, rule: LoadedRule | None) -> None: ...
    def policy(self, chain: LoadedChain, verdict: int) -> None: ...


def do_chain(loaded: LoadedRuleset, base: LoadedChain, pkt, ctx, *,
             tracer: Tracer | None = None, regs: Regs | None = None) -> ChainResult:
    """Run base chain ``base`` on ``pkt`` (nft_do_chain); see the module docstring.

    ``ctx`` is an :class:`~pkttables.vm.context.EvalContext`; when it has a
    ``current_rule`` attribute it is set to the :class:`LoadedRule` being run (the
    stateful hooks key their state by rule and instruction)."""
    if regs is None:
        regs = Regs()
    chain = base
    rules = chain.rules
    i = 0
    stack: list[tuple[LoadedChain, int]] = []
    has_cur = hasattr(ctx, "current_rule")
    _CONT, _BREAK = Verdict.CONTINUE, Verdict.BREAK
    while True:
        code = _CONT
        rule = None
        while i < len(rules):
            rule = rules[i]
            i += 1
            if has_cur:
                ctx.current_rule = rule
            if rule.sets:
                ctx.rule_sets = rule.sets
            regs.verdict = _CONT
            regs.chain = None
            for ins in rule.instrs:
                ins.eval(regs, pkt, ctx)
                if regs.verdict != _CONT:
                    break
            code = regs.verdict
            if code == _BREAK:
                code = _CONT
                continue
            if code == _CONT:
                # a rule that matched without a verdict: NFT_TRACETYPE_RULE, continue
                if tracer is not None and pkt.nftrace:
                    tracer.rule(chain, rule, code, None)
                continue
            break
        else:
            rule = None
            code = _CONT
        tracing = tracer is not None and pkt.nftrace
        if tracing and code != _CONT and code != Verdict.RETURN:
            # __nft_trace_verdict: NFT_TRACETYPE_RULE with the verdict
            tracer.rule(chain, rule, code, regs.chain)
        elif tracing:
            # end of chain or return: NFT_TRACETYPE_RETURN (the rule only for `return`)
            tracer.ret(chain, code, rule if code == Verdict.RETURN else None)
        base_code = code & NF_VERDICT_MASK if code >= 0 else code
        if base_code in (Verdict.ACCEPT, Verdict.QUEUE, Verdict.STOLEN, Verdict.DROP):
            return ChainResult(code, rule, chain)
        if code == Verdict.JUMP or code == Verdict.GOTO:
            target = loaded.chain(chain.family, chain.table, regs.chain or "")
            if target is None:   # cannot happen for a validated ruleset: the kernel holds a reference
                return ChainResult(Verdict.DROP, rule, chain)
            if code == Verdict.JUMP:
                if len(stack) >= NFT_JUMP_STACK_SIZE:
                    # WARN_ON_ONCE(stackptr >= NFT_JUMP_STACK_SIZE): NF_DROP
                    return ChainResult(Verdict.DROP, rule, chain)
                stack.append((chain, i))
            chain, rules, i = target, target.rules, 0
            continue
        # CONTINUE at the end of a chain, or RETURN
        if stack:
            chain, i = stack.pop()
            rules = chain.rules
            continue
        policy = base.policy
        if tracer is not None and pkt.nftrace:
            tracer.policy(base, policy)
        return ChainResult(int(policy), None, base, policy=True)
