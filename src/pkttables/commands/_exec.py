"""Executing parsed commands against the model, as one atomic batch.

Theory of operation
-------------------
``nft -f FILE`` (or one command line) is one netlink batch: the kernel applies every
command or none.  :func:`execute` opens one :class:`pkttables.model.Transaction` on the
current generation, runs the commands in order against it, and commits only when all of
them succeeded; any error leaves the caller's generation untouched.  ``list`` commands
read the transaction's view (what the batch has built so far).

nft finds errors in two places, and they print differently:

* its own evaluation, against the cache (``list table inet nosuch``, ``add element`` to
  a missing set, a missing rule ``position``): ``Error: No such file or directory``;
* the kernel, answering the batch (a missing table or chain, an existing object with
  ``create``, a chain still jumped to): ``Error: Could not process rule: <strerror>``.

Both point at one token of the command (nft keeps a location per field of ``struct
handle``); :mod:`._locate` finds it.  The errnos and the carets were taken from nft 1.0.6
on Linux 6.18 (tests/unit/commands/golden_errors.json, captured by capture_golden.py).

Rules go through :func:`._pipeline.compile_rule` -- evaluation and compilation when
those stages exist -- and everything else (tables, chains with hooks, sets and maps,
elements, stateful objects, flowtables, delete/destroy/flush/rename, handles and
positions) is executed here.
"""

from __future__ import annotations

import dataclasses
import errno as E
import gc
import os
import re
from dataclasses import dataclass, field

from pkttables.errors import Diagnostic, EvalError, Location, PktError
from pkttables.lang import ast as A
from pkttables.model import (Chain, Element, Flowtable, Hook, ModelError, Rule, Ruleset, Set,
                             StatefulObject, Table, Transaction)

from . import _locate as L
from . import _sets as S
from .fastelements import unique_new as fast_unique
from ._pipeline import FastRule, compile_rule, fast_parts, fast_rule, set_infos, stages

_UNSET = object()

__all__ = ["CommandError", "Options", "Result", "execute", "NotAvailable"]

_DEFAULT_FAMILY = "ip"
#: nft's ``parser_max_errors``: nft_evaluate stops at the 10th error, the parser's included
MAX_ERRORS = 10
_KERNEL_PREFIX = "Could not process rule: "
#: every hook name nft's parser takes (src/rule.c hooknum2str), whatever the family
_HOOK_NAMES = frozenset(("prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"))
_TABLE_FLAGS = frozenset(("dormant", "owner"))


class CommandError(PktError):
    """A command nft or the kernel refuses: ``errno`` and nft's rendering with carets."""

    def __init__(self, err: int, loc: Location | None, *, kernel: bool = True, suffix: str = ""):
        self.errno = err
        prefix = "Could not process rule: " if kernel else ""
        super().__init__(Diagnostic(loc, prefix + os.strerror(err) + suffix))


class NotAvailable(PktError):
    """A command whose stage is not written yet (listing before ``render`` lands)."""


@dataclass
class Options:
    """nft's context: output flags (python-nftables names), debug flags, dry run,
    include paths and ``-D`` variables."""

    flags: set[str] = field(default_factory=set)    # handle json echo stateless terse ...
    debug: set[str] = field(default_factory=set)    # netlink, ...
    dry_run: bool = False
    include_paths: list[str] = field(default_factory=list)
    vars: dict[str, str] = field(default_factory=dict)
    json_input: object = None   # the decoded JSON document the script came from (-j echo)
    #: interface name -> ifindex for `meta iif lan0` (nft resolves names with
    #: if_nametoindex on the machine it runs on; here: the simulated host).  A mapping,
    #: a callable name -> int | None, or a Host (its interfaces' ifindexes).  None: the
    #: machine running pkttables.
    ifindex: object = None

    def ifindex_fn(self):
        """``self.ifindex`` as evaluate's ``ctx.ifindex`` callable (or None)."""
        m = self.ifindex
        if m is None or callable(m):
            return m
        if hasattr(m, "interfaces"):
            m = {name: i.ifindex for name, i in m.interfaces.items()}
        return dict(m).get


@dataclass
class Result:
    ruleset: Ruleset        # the new generation (the old one when nothing changed or dry run)
    output: str = ""        # what nft prints on stdout (listings, echo, --debug=netlink)
    changed: bool = False


def execute(script: A.Script, base: Ruleset, opts: Options | None = None, *, prior_errors: int = 0) -> Result:
    """Run every command of ``script`` as one batch on ``base``.

    Raises :class:`pkttables.errors.PktError` (``CommandError``, ``EvalError``...) and
    then nothing changed; ``Result.output`` is what nft would print on success.  With
    a debug flag the bytecode printed before an error is in ``exc.output``.

    Like nft, an error does not stop the batch: every command is evaluated and the
    error carries the diagnostics of all of them (see :meth:`_Executor.raise_collected`);
    ``prior_errors`` is how many the parser already reported (nft's ``nerrs``)."""
    if script.error is not None:
        _evaluate_after_parse_error(script, base, opts or Options())
    ex = _Executor(base, opts or Options())
    # A batch builds millions of small objects that live as long as the ruleset; the
    # cyclic GC's full passes over them cost ~30% of a 10k-rule load (measured), and
    # nothing built here needs it to be freed: pause it, as the parser does.
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for i, cmd in enumerate(script.commands):
            ex.cmd_index = i
            ex.message(ex.command, cmd)
            if ex.eval_errors() >= MAX_ERRORS - prior_errors:
                break
        ex.raise_collected(prior_errors)
        ex.validate()
    except PktError as exc:
        exc.output = "".join(ex.out)  # nft prints --debug=netlink before the kernel answers
        if getattr(exc, "errno", None) == E.EMLINK and not ex.opts.dry_run:
            _replay(script, base, ex.opts)
        raise
    finally:
        if gc_was:
            gc.enable()
    ex.apply_resets()
    if ex.changed and not ex.opts.dry_run:
        new = ex.tx.commit()
    else:
        new = base
    out = "".join(ex.out)
    if ex.echo and ex.changed and not ex.opts.dry_run:
        from ._echo import render_echo
        out += render_echo(ex.echo, new, ex.opts, ex.opts.json_input)
    return Result(new, out, ex.changed and not ex.opts.dry_run)


def _evaluate_after_parse_error(script: A.Script, base: Ruleset, opts: Options) -> None:
    """Raise the parser's error of ``script`` followed by the evaluation errors of the
    commands it kept.

    nft 1.0.6 (``__nft_run_cmd_from_filename``) runs ``nft_evaluate`` even when the
    parser failed, then stops before netlink: the parser's errors print first, then
    each evaluation error, and the kernel never sees the batch (so no kernel error is
    reported).  The parser and the evaluation share one error counter, ``nerrs``:
    evaluation stops when it *reaches* ``parser_max_errors`` -- after a parser that
    gave up at its 10th error it never does, and every command's error is printed."""
    perr = script.error
    prior = len(perr.diagnostics)
    ex = _Executor(base, dataclasses.replace(opts, dry_run=True, flags=set(), debug=set()))
    # The evaluation shares base's handle counters, but this batch never reaches the
    # kernel, so it takes no handle there: give back whatever the executor took
    # (checked with nft 1.0.6: after a file with a syntax error, the next table gets
    # the handle it would have got without it).
    counters = [base.table_handles] + [t.hgen for t in base.tables.values()]
    marks = [c.value for c in counters]
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for i, cmd in enumerate(script.commands):
            ex.cmd_index = i
            try:
                ex.message(ex.command, cmd)
            except PktError:
                continue    # EMLINK: a kernel answer, never reached here
            if prior + ex.eval_errors() == MAX_ERRORS:
                break
    finally:
        for c, v in zip(counters, marks):
            c.value = v
        if gc_was:
            gc.enable()
    evals = [d for e in ex.errors for d in e.diagnostics if not _is_kernel(d)]
    if prior < MAX_ERRORS:
        evals = evals[:MAX_ERRORS - prior]
    perr.diagnostics = list(perr.diagnostics) + evals
    perr.args = (perr.render(),)
    perr.output = ""
    raise perr


def _replay(script: A.Script, base: Ruleset, opts: Options) -> None:
    """The kernel's second pass over a batch whose commit-time validation failed: Linux
    answers ``nf_tables_validate`` failing with ``-EAGAIN``, nfnetlink aborts and replays
    the whole batch with validation at each rule, so every rule (and table, chain, set)
    of the batch takes a handle a second time.  The handle counters are shared with
    ``base``; everything else of the replay is thrown away."""
    ex = _Executor(base, dataclasses.replace(opts, flags=set(), debug=set()))
    for cmd in script.commands:
        try:
            ex.command(cmd)
        except PktError:
            continue        # nfnetlink goes on with the batch to report every error


def _is_kernel(d: Diagnostic) -> bool:
    """An error the kernel answers (reported only when the evaluation passed)."""
    return d.message.startswith(_KERNEL_PREFIX)


# ------------------------------------------------------------------ references
def _walk(node, seen=None):
    """Every dataclass node below ``node`` (statements, expressions), depth first."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (tuple, list)):
            stack.extend(n)
        elif dataclasses.is_dataclass(n) and not isinstance(n, type):
            yield n
            for f in dataclasses.fields(n):
                if f.name != "loc":
                    stack.append(getattr(n, f.name))


def _jump_target(n) -> str | None:
    kind = getattr(n, "kind", None)
    if kind not in ("jump", "goto"):
        return None
    t = getattr(n, "target", None)
    if t is not None:
        return getattr(t, "name", None) or getattr(t, "value", None)
    return getattr(n, "chain", None)


def _data_jump(data) -> str | None:
    """The chain a map element's verdict text (``"jump c"``) names."""
    if isinstance(data, str) and data.split(" ", 1)[0] in ("jump", "goto") and " " in data:
        return data.split(" ", 1)[1]
    return None


_RE_JUMP = re.compile(r"immediate reg 0 (?:jump|goto) -> (\S+)")
_RE_SET = re.compile(r"(?:lookup|dynset|objref)\b.*? set (\S+)")
_RE_OBJ = re.compile(r"objref type \d+ name (\S+)")
_RE_FT = re.compile(r"flow_offload flowtable (\S+)")


def _prog_lines(prog) -> list[str]:
    """A program's instruction lines (``[ ... ]`` dumps): a stored program keeps them as
    text, a compiled one prints them."""
    lines = getattr(prog, "lines", None)
    if lines is not None:
        return lines
    return [i.dump() for i in getattr(prog, "instrs", ()) or ()]


def _instr_refs(instrs, chains: set, sets: set, objs: set, fts: set) -> None:
    """The references of compiled instructions, read from their attributes (what the
    regular expressions below find in their dumps, without printing them)."""
    from pkttables.vm import Dynset, FlowOffload, Immediate, Lookup, Objref
    from pkttables.vm.regs import Verdict, VerdictData
    for i in instrs:
        t = type(i)
        if t is Immediate:
            d = i.data
            if i.dreg == 0 and type(d) is VerdictData and d.chain is not None \
                    and d.code in (Verdict.JUMP, Verdict.GOTO):
                chains.add(d.chain)
        elif t is Lookup or t is Dynset:
            sets.add(i.set)
        elif t is Objref:
            if i.set is not None:
                sets.add(i.set)
            if i.type is not None and i.obj is not None:
                objs.add(i.obj)
        elif t is FlowOffload:
            fts.add(i.table)


def _prog_refs(r: Rule):
    """(chains, sets, objects, flowtables) a compiled rule refers to, read from its
    instructions as the kernel holds them (immediate jump/goto, lookup/dynset/objref
    set, objref name, flow_offload) plus the verdicts of its anonymous vmaps."""
    prog = r.userdata.get("program")
    chains, sets, objs, fts = set(), set(), set(), set()
    bound = list(r.userdata.get("sets", ()))
    if getattr(prog, "lines", None) is None:
        _instr_refs(getattr(prog, "instrs", ()) or (), chains, sets, objs, fts)
    else:   # a stored program keeps its dump text
        for line in prog.lines:
            for rx, out in ((_RE_JUMP, chains), (_RE_SET, sets), (_RE_OBJ, objs), (_RE_FT, fts)):
                m = rx.search(line)
                if m:
                    out.add(m.group(1))
    if any("%d" in x for x in sets):
        sets = {x for x in sets if "%d" not in x} | set(bound)
    for d in getattr(prog, "sets", ()) or ():
        for e in d.elements:
            j = _data_jump(getattr(e, "verdict", None))
            if j:
                chains.add(j)
    return chains, sets, objs, fts


def _rule_targets(r: Rule, table: Table) -> set[str]:
    """The chains a rule jumps or goes to: its verdicts, its anonymous vmaps, and the
    named vmaps it looks up."""
    out: set[str] = set()
    if r.userdata.get("program") is not None:
        chains, sets, _, _ = _prog_refs(r)
        out |= chains
        for name in sets:
            s = table.sets.get(name)
            if s is not None and s.is_map:
                out.update(x for x in (_data_jump(e.data) for e in s.elements) if x)
        return out
    for n in _walk(r.stmts):
        j = _jump_target(n)
        if j:
            out.add(j)
        if type(n).__name__ == "SetRef":
            s = table.sets.get(n.name)
            if s is not None and s.is_map:
                out.update(x for x in (_data_jump(e.data) for e in s.elements) if x)
    for name in r.userdata.get("sets", ()):
        s = table.sets.get(name)
        if s is not None:
            out.update(x for x in (_data_jump(e.data) for e in s.elements) if x)
    return out


def _rule_jumps(r: Rule) -> bool:
    """Whether a rule's program jumps or goes to a chain (immediate or anonymous vmap)."""
    if r.userdata.get("program") is None:
        return any(_jump_target(n) for n in _walk(r.stmts))
    return bool(_prog_refs(r)[0])


def _reaches(table: Table, start: str, goal: str) -> bool:
    """Whether ``goal`` is reachable from chain ``start`` through jumps and gotos."""
    seen, todo = set(), [start]
    while todo:
        c = todo.pop()
        if c == goal:
            return True
        if c in seen or c not in table.chains:
            continue
        seen.add(c)
        for r in table.chains[c].rules:
            todo.extend(_rule_targets(r, table))
    return False


def _refs(table: Table):
    """(chains jumped to, sets referenced, objects referenced, flowtables referenced)."""
    chains, sets, objs, fts = set(), set(), set(), set()
    for c in table.chains.values():
        for r in c.rules:
            if r.userdata.get("program") is not None:
                for acc, got in zip((chains, sets, objs, fts), _prog_refs(r)):
                    acc |= got
                continue
            for n in _walk(r.stmts):
                j = _jump_target(n)
                if j:
                    chains.add(j)
                cls = type(n).__name__
                if cls == "SetRef":
                    sets.add(n.name)
                elif cls in ("DynsetStmt", "Dynset"):
                    sets.add(n.set)
                elif cls == "Meter":
                    sets.add(n.name)
                elif cls in ("ObjRef", "Objref"):
                    nm = n.name if isinstance(n.name, str) else \
                        (getattr(n.name, "name", None) or getattr(n.name, "value", None))
                    if nm:
                        objs.add(nm)
                elif cls == "FlowOffload":
                    fts.add(getattr(n, "flowtable", None))
    for s in table.sets.values():
        for el in s.elements:
            j = _data_jump(el.data)
            if j:
                chains.add(j)
    return chains, sets, objs, fts


# ------------------------------------------------------------------ helpers
def _time_ms(v, loc) -> int:
    from pkttables.types import DATATYPES
    if isinstance(v, A.Number):
        return v.value * 1000
    text = getattr(v, "name", None) or getattr(v, "value", None) or str(v)
    try:
        return int(DATATYPES["time"].parse(text))
    except (PktError, ValueError):
        raise EvalError(Diagnostic(getattr(v, "loc", loc), "wrong time format")) from None


def _text(v) -> str:
    if isinstance(v, str):
        return v
    for a in ("name", "value"):
        x = getattr(v, a, None)
        if isinstance(x, str):
            return x
    return str(v)


def _strip(node):
    """A location-free, hashable form of an AST value, to compare set elements."""
    if isinstance(node, (tuple, list)):
        return tuple(_strip(x) for x in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            _strip(getattr(node, f.name)) for f in dataclasses.fields(node) if f.name != "loc")
    return node


_SET_FLAG_BITS = ((0x1, "anonymous"), (0x2, "constant"), (0x4, "interval"), (0x8, "map"),
                  (0x10, "timeout"), (0x20, "dynamic"), (0x40, "object"), (0x80, "concat"))


# NFT_OBJECT_* -> the object kind by name (an object map's data_type)
_OBJ_KIND = {1: "counter", 2: "quota", 3: "ct helper", 4: "limit", 5: "connlimit", 6: "tunnel",
             7: "ct timeout", 8: "secmark", 9: "ct expectation", 10: "synproxy"}


def _anon_set_model(d, t: Table) -> Set:
    """An anonymous set declaration of a compiled rule (``AnonSetDecl``) as a model set.
    Keys stay the kernel's bytes (key_type is unknown here: the rule's lookup types it);
    interval sets' start/end element pairs become ``key``/``key_end`` (inclusive)."""
    pattern = d.name if "%d" in d.name else None
    n = 0
    while pattern is not None and pattern % n in t.sets:
        n += 1
    name = pattern % n if pattern is not None else d.name      # a meter: its own name
    flags = frozenset(name for bit, name in _SET_FLAG_BITS if d.flags & bit)
    elements: list[Element] = []
    interval = "interval" in flags and not "concat" in flags
    for el in d.elements:
        data = el.verdict if getattr(el, "verdict", None) is not None else el.data
        if getattr(el, "obj", None) is not None:
            data = el.obj               # an object map: the object's name (docs/sets.md)
        elif isinstance(data, str):
            data = data.replace(" -> ", " ")    # the dump's "jump -> c" is the verdict "jump c"
        if interval:
            if not el.key:              # the catch-all element: no key, closes nothing
                elements.append(Element(b"", data, flags=0x2))   # NFT_SET_ELEM_CATCHALL
                continue
            if el.flags & 1:            # an interval end: closes the previous start
                if elements and elements[-1].key_end is None:
                    hi = int.from_bytes(el.key, "big") - 1
                    elements[-1].key_end = hi.to_bytes(len(el.key), "big")
                continue
            if elements and elements[-1].key_end is None and elements[-1].key:
                # adjacent ranges of a map: the next start closes the previous range
                hi = int.from_bytes(el.key, "big") - 1
                elements[-1].key_end = hi.to_bytes(len(el.key), "big")
            elements.append(Element(bytes(el.key), data))
            continue
        elements.append(Element(bytes(el.key), data, key_end=getattr(el, "key_end", None), flags=el.flags))
    if interval:
        for e in elements:
            if e.key_end is None and e.key:     # a range reaching the top has no end element
                e.key_end = b"\xff" * len(e.key)
    if interval and getattr(d, "string_key", False):
        # strings: the kernel's prefix ranges back to the model's form (a full name, or
        # a wildcard's prefix as a short key; the set is no interval set in the model)
        flags = flags - {"interval"}
        for e in elements:
            if e.key_end is not None:
                lo, hi = e.key, e.key_end
                n = len(lo)
                while n and lo[n - 1] == 0 and hi[n - 1] == 0xFF:
                    n -= 1
                e.key = lo if lo == hi else lo[:n]
                e.key_end = None
    # A map whose elements carry verdicts is a verdict map (NFT_DATA_VERDICT data).
    verdicts = any(getattr(el, "verdict", None) is not None for el in d.elements)
    return Set(name, 0, (), "verdict" if "map" in flags and verdicts else None, "map" in flags, flags,
               size=getattr(d, "size", None), elements=elements, key_len=(d.key_len,),
               data_len=getattr(d, "data_len", 0))


class _Executor:
    def __init__(self, base: Ruleset, opts: Options):
        self.base = base
        self.opts = opts
        self.tx = Transaction(base)
        self.out: list[str] = []
        self.changed = False
        self.resets: list[tuple[str, str, str, str]] = []
        self.echo: list = []            # EchoEvent, when -e
        self.cmd_index = 0
        self.rule_cmd: dict[tuple, Location] = {}   # (fam, table, handle) -> command location
        self.set_locs: dict[tuple, Location] = {}   # (fam, table, set) -> its name, this batch
        self.errors: list[PktError] = []            # every failing command/message so far
        self.nojump: set[tuple] = set()             # (fam, table, handle) of rules known not to jump
        self.stages = _UNSET                        # _pipeline.stages(), read at the first fast rule

    def _echo(self, kind: str, verb: str, fam: str, table: str, **kw) -> None:
        if "echo" in self.opts.flags:
            from ._echo import EchoEvent
            self.echo.append(EchoEvent(kind, verb, fam, table, cmd_index=self.cmd_index, **kw))

    # -- errors of the batch -----------------------------------------------------------
    def message(self, fn, *args, **kw) -> None:
        """Run one command, or one netlink message of a table block, keeping its error.

        nft 1.0.6 goes on after an error in both of its phases: ``nft_evaluate`` evaluates
        every command (and every chain, set and rule of a table block) and reports each
        failure, up to ``parser_max_errors``; when evaluation passed, the kernel's
        ``nfnetlink_rcv_batch`` processes every message of the batch, queues an error for
        each one that fails ("we don't stop processing the batch on errors"), and aborts
        the whole batch at the end; nft prints each error under its command's location
        (checked: tests/unit/commands/golden_batcherr.json).  A message that failed left
        nothing behind here either: the model rejects an operation before applying it."""
        try:
            fn(*args, **kw)
        except PktError as exc:
            if getattr(exc, "errno", None) == E.EMLINK or not exc.diagnostics:
                raise
            self.errors.append(exc)

    def eval_errors(self) -> int:
        return sum(1 for e in self.errors for d in e.diagnostics if not _is_kernel(d))

    def raise_collected(self, prior: int = 0) -> None:
        """Raise the batch's errors as one: the evaluation's when there are any (nft sends
        nothing to the kernel then), else every kernel error in message order."""
        if not self.errors:
            return
        diags = [d for e in self.errors for d in e.diagnostics]
        evals = [d for d in diags if not _is_kernel(d)]
        if evals:
            first = next(e for e in self.errors if any(not _is_kernel(d) for d in e.diagnostics))
            diags = evals[:max(MAX_ERRORS - prior, 1)]
        else:
            first = self.errors[0]
        first.diagnostics = diags
        first.args = (first.render(),)
        raise first

    # -- dispatch ---------------------------------------------------------------------
    def validate(self) -> None:
        """The kernel's commit-time check (nf_tables_validate -> nft_chain_validate,
        :func:`pkttables.vm.chain.check_loops`): jumps that loop or nest deeper than 16
        from a base chain.  Linux 6.18 then replays the batch checking each rule as it is
        added; nft 1.0.6 prints ``Could not process rule: Too many links`` under the whole
        command of every rule of the batch that jumps (checked: a loop closed by the
        batch's first rule fails its second jump too)."""
        if not self.rule_cmd or not self.changed:
            return
        by_handle = self._batch_rules()
        if not self.opts.dry_run:
            # The hook checks run at commit only: `nft -c` accepts `fib daddr oif` in an
            # output chain (rc 0) while `nft -f` refuses it (checked on Linux 6.18).
            self._validate_hooks(by_handle)
        jumping = False
        nojump = self.nojump
        for k in self.rule_cmd:
            if k in nojump:
                continue
            cr = by_handle.get(k)
            if cr is not None and _rule_jumps(cr[1]):
                jumping = True
                break
        if not jumping:     # only a new jump can close a loop or deepen the nesting
            return
        from pkttables.vm.chain import check_loops, check_new_jumps, jump_targets
        # the committed generation passed: only what the new jumps reach can fail
        # (check_new_jumps, with the edges _hooks_view read; None: check the whole tables)
        new, bad = [], None
        for (f, tn, _h), (cname, r) in by_handle.items():
            if _rule_jumps(r):
                targets = jump_targets(r, f, tn, cname)
                if not targets:        # a jump the vm cannot read: leave it to the full check
                    new = None
                    break
                new += [(f, tn, cname, tg) for tg in targets]
        if new:
            bad = check_new_jumps(self.tx, new, getattr(self, "jump_edges", None))
        if bad is None:
            tables = {(f, tn) for f, tn, _ in self.rule_cmd}
            view = Ruleset({k: t for k, t in self.tx.tables.items() if k in tables}, 0, self.tx.table_handles)
            bad = bool(check_loops(view))
        if not bad:
            return
        diags = []
        for key, loc in self.rule_cmd.items():
            cr = by_handle.get(key)
            if cr is not None and _rule_jumps(cr[1]):
                diags.append(Diagnostic(loc, "Could not process rule: " + os.strerror(E.EMLINK)))
        err = CommandError(E.EMLINK, None)
        err.diagnostics = diags or err.diagnostics
        raise err

    def _batch_rules(self) -> dict[tuple, tuple[str, Rule]]:
        """The batch's rules by ``(family, table, handle)`` -> (chain name, rule).

        Only chains this transaction wrote can hold them: a chain object shared with the
        base generation is unchanged (copy on first write, model.transaction), so a
        one-rule commit reads the one chain it touched, not the whole table."""
        out: dict[tuple, tuple[str, Rule]] = {}
        want: dict[tuple, set[int]] = {}
        for f, tn, h in self.rule_cmd:
            want.setdefault((f, tn), set()).add(h)
        for key, handles in want.items():
            t = self.tx.tables.get(key)
            if t is None:
                continue
            bt = self.tx.base.tables.get(key)
            bchains = bt.chains if bt is not None else {}
            for cname, c in t.chains.items():
                if bchains.get(cname) is c:
                    continue
                # newest last: an appended rule is found at once (a rule deleted again
                # by the batch is never found, which costs one full scan)
                for r in reversed(c.rules):
                    if r.handle in handles:
                        out[(key[0], key[1], r.handle)] = (cname, r)
                        handles.discard(r.handle)
                        if not handles:
                            break
                if not handles:
                    break
        return out

    def _hooks_view(self, by_handle: dict[tuple, tuple[str, Rule]]) -> Ruleset | None:
        """What :func:`check_hooks` must see to find every rule the batch makes invalid,
        without walking the whole table when the batch cannot have changed reachability.

        The committed generation passed this check, so a new violation (a rule holding an
        expression that a base chain reaching it does not allow) needs a new rule that
        either holds a restricted expression or adds a jump (a new path to old rules).
        Rules with neither are dropped.  When every remaining rule sits in a base chain
        and jumps nowhere, the only base chain reaching it is its own (nft_verdict_init
        refuses jumps to base chains, see _add_rule): the view is those chains holding
        only those rules.  A new jump from a base chain adds ``(family, table, chain,
        target)`` to ``self.hook_starts``: :func:`check_hooks_from` walks what the target
        reaches.  A restricted rule or a jump in a regular chain adds ``(family, table,
        base, chain)`` for every base chain reaching that chain
        (:func:`pkttables.vm.chain.hook_starts`; the table's jump edges are read once and
        kept in ``self.jump_edges`` for the loop check).  Otherwise (a jump the vm cannot
        read) the view is every table the batch touched, as the kernel's
        nft_table_validate walks.  None: no view to check."""
        from pkttables.vm.chain import allowed_hooks, hook_starts, jump_edges, jump_targets, program_of
        keep: dict[tuple, dict[str, list[Rule]]] = {}
        starts: list[tuple[str, str, str, str]] = []
        regular: dict[tuple, list[str]] = {}
        whole = False
        for (fam, tn, _h), (cname, r) in by_handle.items():
            try:
                instrs, _d = program_of(r, fam, tn, cname)
            except Exception:   # noqa: BLE001 -- as check_hooks: unreadable programs are checked elsewhere
                instrs = ()
            restricted = any(allowed_hooks(i, fam) is not None for i in instrs)
            jumps = bool(jump_targets(r, fam, tn, cname)) or (
                r.userdata.get("program") is None and _rule_jumps(r))
            if not restricted and not jumps:
                continue
            c = self.tx.tables[(fam, tn)].chains[cname]
            if c.hook is None:
                if jumps and not jump_targets(r, fam, tn, cname):
                    whole = True
                    break
                regular.setdefault((fam, tn), []).append(cname)
                continue
            if jumps:
                # a new jump from a base chain: only what its targets reach can become
                # invalid, under that chain's hook (check_hooks_from)
                targets = jump_targets(r, fam, tn, cname)
                if not targets:
                    whole = True
                    break
                starts += [(fam, tn, cname, tg) for tg in targets]
            if restricted:
                keep.setdefault((fam, tn), {}).setdefault(cname, []).append(r)
        tables = {(f, tn) for f, tn, _ in self.rule_cmd}
        if whole:
            return Ruleset({k: t for k, t in self.tx.tables.items() if k in tables}, 0, self.tx.table_handles)
        for (fam, tn), cnames in regular.items():
            edges = self.jump_edges[(fam, tn)] = jump_edges(self.tx.tables[(fam, tn)], fam, tn)
            starts += hook_starts(self.tx, fam, tn, cnames, edges)
        self.hook_starts = starts
        if not keep:
            return None
        view = {}
        for key, chains in keep.items():
            t = self.tx.tables[key]
            view[key] = dataclasses.replace(
                t, chains={cn: dataclasses.replace(t.chains[cn], rules=rs) for cn, rs in chains.items()})
        return Ruleset(view, 0, self.tx.table_handles)

    def _validate_hooks(self, by_handle: dict[tuple, tuple[str, Rule]]) -> None:
        """The expressions' ``validate`` ops at commit (:func:`pkttables.vm.chain.check_hooks`):
        ``fib daddr oif`` in an output chain, ``meta secpath`` at postrouting... Linux 6.18
        refuses the rule with EOPNOTSUPP; nft 1.0.6 prints ``Could not process rule:
        Operation not supported`` under the rule's whole command (checked).  Only what
        the batch can have made invalid is walked (:meth:`_hooks_view`)."""
        from pkttables.vm.chain import check_hooks, check_hooks_from
        self.hook_starts: list[tuple[str, str, str, str]] = []
        self.jump_edges: dict[tuple[str, str], dict[str, list[str]]] = {}
        view = self._hooks_view(by_handle)
        bad = check_hooks(view) if view is not None else []
        if self.hook_starts:
            bad += check_hooks_from(self.tx, self.hook_starts)
        if not bad:
            return
        bad_keys = {(f, tn, h) for f, tn, _c, h in bad}
        diags = [Diagnostic(loc, "Could not process rule: " + os.strerror(E.EOPNOTSUPP))
                 for key, loc in self.rule_cmd.items() if key in bad_keys]
        err = CommandError(E.EOPNOTSUPP, None)
        err.diagnostics = diags or err.diagnostics
        raise err

    def command(self, cmd: A.Command) -> None:
        self.cur_loc = cmd.loc
        verb, obj = cmd.verb, cmd.obj
        name = type(obj).__name__
        fn = getattr(self, f"_{verb}_{name}", None)
        if fn is None:
            if verb in ("list", "reset") or isinstance(obj, (A.ListObj, A.Monitor, A.Export)):
                fn = self._listing
            elif verb == "describe":
                fn = self._describe
            else:
                raise EvalError(Diagnostic(L.widen(cmd.loc), f"'{verb}' of a {name[:-3].lower()} is not supported"))
        fn(cmd)

    def _fam(self, obj) -> str:
        return obj.family or _DEFAULT_FAMILY

    def _view(self) -> Ruleset:
        return Ruleset(dict(self.tx.tables), self.base.generation, self.tx.table_handles)

    def _need_table(self, fam: str, name: str, loc, *, kernel=True) -> Table:
        t = self.tx.tables.get((fam, name))
        if t is None:
            raise CommandError(E.ENOENT, loc, kernel=kernel)
        return t

    def _mutating(self) -> None:
        self.changed = True

    # -- tables -----------------------------------------------------------------------
    def _add_TableObj(self, cmd: A.Command, create: bool = False) -> None:
        obj: A.TableObj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        flags = comment = None
        for item in obj.body or ():
            if isinstance(item, A.Prop) and item.name == "flags":
                for fl in item.value:
                    if fl not in _TABLE_FLAGS:
                        raise EvalError(Diagnostic(L.word(item.loc, fl) or item.loc, f"unknown table option {fl}"))
                flags = frozenset(item.value)
            elif isinstance(item, A.Prop) and item.name == "comment":
                comment = item.value
        new = (fam, obj.name) not in self.tx.tables
        if new or obj.body or flags is not None or comment is not None or create:
            # an existing table named again without changes is no transaction at all
            # (nf_tables_updtable queues nothing): no new generation
            self._mutating()
        try:
            self.tx.add_table(fam, obj.name, flags=flags, comment=comment, create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None
        if new:
            self._echo("table", "create" if create else "add", fam, obj.name)
        # nft's cmd_expand (src/rule.c) sends a table block as: the chains (without
        # rules), the objects, the sets, the flowtables, then every chain's rules -- so
        # handles come in that order and a rule may jump to a chain declared after it.
        body = obj.body or ()
        rules: list = []
        # Each is a message of its own: one failing does not stop the others (message()).
        for item in body:
            if isinstance(item, A.ChainObj):
                self.message(self._chain, item, fam, obj.name, create=False, nested=True, defer=rules)
        for item in body:
            if isinstance(item, A.StatefulObj):
                self.message(self._object, item, fam, obj.name, create=False, nested=True)
        for item in body:
            if isinstance(item, A.SetObj):
                self.message(self._set, item, fam, obj.name, create=False, nested=True)
        for item in body:
            if isinstance(item, A.FlowtableObj):
                self.message(self._flowtable, item, fam, obj.name, create=False, nested=True)
        fast_ok = "netlink" not in self.opts.debug and "echo" not in self.opts.flags
        for chain, r, f in rules:
            if fast_ok and type(r) is FastRule and self._add_fast_rule(fam, obj.name, chain, r):
                continue
            self.message(self._add_rule, fam, obj.name, chain, r, None, f)

    def _create_TableObj(self, cmd):
        self._add_TableObj(cmd, create=True)

    def _table_by(self, obj, f: L.Fields, kernel=True) -> tuple[str, str] | None:
        fam = self._fam(obj)
        if obj.name is not None:
            if (fam, obj.name) in self.tx.tables:
                return fam, obj.name
            return None
        for (tf, tn), t in self.tx.tables.items():
            if tf == fam and t.handle == obj.handle:
                return tf, tn
        return None

    def _delete_TableObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        key = self._table_by(obj, f)
        self._mutating()
        if key is None:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("handle", "name"))
        self.tx.delete_table(*key)

    def _destroy_TableObj(self, cmd):
        self._delete_TableObj(cmd, destroy=True)

    def _flush_TableObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self._need_table(fam, obj.name, f.pick("name"))
        self._mutating()
        # nft 1.0.6 `flush table` deletes the table's rules only (one NFT_MSG_DELRULE for
        # the table); sets, maps and objects keep their content (checked against 6.18).
        for cname in list(t.chains):
            self.tx.flush_chain(fam, obj.name, cname)
        self._gc_anon(fam, obj.name)

    def _delete_RulesetObj(self, cmd):
        self._flush_RulesetObj(cmd)

    def _flush_RulesetObj(self, cmd):
        self._mutating()
        self.tx.flush_ruleset(cmd.obj.family)

    # -- chains -----------------------------------------------------------------------
    def _add_ChainObj(self, cmd, create=False):
        obj = cmd.obj
        self._chain(obj, self._fam(obj), obj.table, create=create, nested=False, cmd=cmd)

    def _create_ChainObj(self, cmd):
        self._add_ChainObj(cmd, create=True)

    def _hook(self, ct: A.ChainType, fam: str, name_loc, policy) -> Hook:
        from pkttables.proto import CHAIN_TYPES, FAMILIES, std_priority
        if ct.type not in CHAIN_TYPES:
            raise EvalError(Diagnostic(L.after(ct.loc, "type") or ct.loc, "unknown chain type"))
        if ct.hook not in FAMILIES[fam].hooks:
            # nft 1.0.6's chain_evaluate: a hook name str2hooknum does not know for this
            # family; the parser already refused names no family has ("unknown chain hook")
            msg = (f"The {fam} family does not support this hook" if ct.hook in _HOOK_NAMES
                   else "unknown chain hook")
            raise EvalError(Diagnostic(L.after(ct.loc, "hook") or ct.loc, msg))
        prio = self._priority(ct, fam, std_priority)
        if ct.hook not in CHAIN_TYPES[ct.type].get(fam, frozenset()):
            raise CommandError(E.EOPNOTSUPP, name_loc)
        devices: tuple[str, ...] = ()
        if ct.device is not None:
            devices = self._devices(ct.device)
        return Hook(ct.type, ct.hook, prio, ct.priority, devices, policy)

    def _priority(self, ct: A.ChainType, fam: str, std_priority) -> int:
        p = ct.priority
        bad = EvalError(Diagnostic(L.from_keyword(ct.loc, "priority", getattr(p, "loc", None)) or ct.loc,
                                   "invalid priority expression value in this context."))
        if isinstance(p, A.Number):
            return p.value
        if isinstance(p, A.Symbol):
            v = std_priority(p.name, fam, ct.hook)
            if v is None:
                try:
                    return int(p.name)
                except ValueError:
                    raise bad from None
            return v
        if isinstance(p, A.Binop) and isinstance(p.left, A.Symbol) and isinstance(p.right, A.Number):
            v = std_priority(p.left.name, fam, ct.hook)
            if v is None:
                raise bad
            return v + p.right.value if p.op == "+" else v - p.right.value
        raise bad

    def _devices(self, v) -> tuple[str, ...]:
        if isinstance(v, A.SetExpr):
            return tuple(_text(e) for e in v.elements)
        return (_text(v),)

    def _chain(self, obj: A.ChainObj, fam: str, table: str, *, create: bool, nested: bool, cmd=None,
               defer: list | None = None):
        f = L.locate(obj, nested=nested, end=cmd.loc if cmd is not None else None)
        tloc = f.pick("table") if not nested else f.whole
        self._need_table(fam, table, tloc)
        hook_node = None
        policy = comment = None
        policy_loc = None
        devices = None
        rules = []
        for item in obj.body or ():
            if isinstance(item, A.ChainType):
                hook_node = item
            elif isinstance(item, A.Prop) and item.name == "policy":
                policy, policy_loc = _text(item.value), item.loc
            elif isinstance(item, A.Prop) and item.name == "comment":
                comment = item.value
            elif isinstance(item, A.Prop) and item.name == "devices":
                devices = self._devices(item.value)
            elif isinstance(item, A.Rule):
                rules.append(item)
        hook = None
        if hook_node is not None:
            hook = self._hook(hook_node, fam, f.pick("name"), policy)
            if devices is not None:
                hook = dataclasses.replace(hook, devices=devices)
        t = self.tx.tables[(fam, table)]
        old = t.chains.get(obj.name)
        if old is not None and not create:
            # nft 1.0.6 on 6.18: a chain update may change only the policy (EOPNOTSUPP
            # on the whole command otherwise).
            if hook is not None and (old.hook is None or (old.hook.type, old.hook.hook, old.hook.priority)
                                     != (hook.type, hook.hook, hook.priority)):
                raise CommandError(E.EOPNOTSUPP, L.widen(cmd.loc if cmd else obj.loc))
        if policy is not None and hook is None and (old is None or old.hook is None):
            raise CommandError(E.EOPNOTSUPP, policy_loc)
        if old is None or create or hook is not None or policy is not None or comment is not None or rules:
            self._mutating()
        try:
            if old is not None and hook is None and policy is not None:
                hook = dataclasses.replace(old.hook, policy=policy)
            self.tx.add_chain(fam, table, obj.name, hook=hook, comment=comment, create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None
        if old is None:
            self._echo("chain", "create" if create else "add", fam, table, name=obj.name)
        for r in rules:
            if defer is not None:
                defer.append((obj.name, r, f))
            else:
                self.message(self._add_rule, fam, table, obj.name, r, None, f)

    def _delete_ChainObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self.tx.tables.get((fam, obj.table))
        if t is None:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("table"))
        name = obj.name
        if name is None:
            name = next((n for n, c in t.chains.items() if c.handle == obj.handle), None)
        if name not in t.chains:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("handle", "name"))
        if name in _refs(t)[0]:
            raise CommandError(E.EBUSY, f.pick("handle", "name"))
        self._mutating()
        # Linux 6.18 deletes a chain together with its rules (nf_tables_delchain without
        # NLM_F_NONREC, which nft 1.0.6 does not set); only jumps to it make it busy.
        self.tx.flush_chain(fam, obj.table, name)
        self.tx.delete_chain(fam, obj.table, name)
        self._gc_anon(fam, obj.table)

    def _destroy_ChainObj(self, cmd):
        self._delete_ChainObj(cmd, destroy=True)

    def _flush_ChainObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self._need_table(fam, obj.table, f.pick("table"))
        if obj.name not in t.chains:
            raise CommandError(E.ENOENT, f.pick("name"))
        self._mutating()
        self.tx.flush_chain(fam, obj.table, obj.name)
        self._gc_anon(fam, obj.table)

    def _rename_ChainObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        self._need_table(fam, obj.table, f.pick("table"))
        self._mutating()
        try:
            self.tx.rename_chain(fam, obj.table, obj.name, cmd.newname)
        except ModelError as e:
            raise CommandError(e.errno, L.widen(cmd.loc)) from None

    # -- rules ------------------------------------------------------------------------
    def _add_RuleObj(self, cmd, insert=False):
        obj: A.RuleObj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        self._add_rule(self._fam(obj), obj.table, obj.chain, obj.rule, obj, f, insert=insert)

    def _create_RuleObj(self, cmd):
        self._add_RuleObj(cmd)

    def _insert_RuleObj(self, cmd):
        self._add_RuleObj(cmd, insert=True)

    def _add_rule(self, fam, table, chain, rule: A.Rule, obj: A.RuleObj | None, f: L.Fields,
                  insert=False, replace=False):
        t = self.tx.tables.get((fam, table))
        nested = obj is None
        c = t.chains.get(chain) if t is not None else None
        if c is not None or t is None or nested:
            pass
        # a rule line of a known shape (commands/_fastline.py): no sets, chains or
        # interfaces to look up, its statements built only when read
        fast = type(rule) is FastRule
        if fast and self.stages is _UNSET:
            self.stages = stages()          # once a batch: the environment is read per call
        comp = fast_rule(rule, fam, table, chain, self.stages) if fast and t is not None else None
        if comp is None:
            ifx = self.opts.ifindex_fn()
            comp = compile_rule(rule, fam, table, chain, sets=set_infos(t) if t is not None else None,
                                chains=frozenset(t.chains) if t is not None else None, ifindex=ifx) \
                if t is not None else compile_rule(rule, fam, table, chain, ifindex=ifx)
        if "netlink" in self.opts.debug and comp.bytecode:
            self.out.append(comp.bytecode + "\n")
        if t is None:
            raise CommandError(E.ENOENT, f.pick("table"))
        if c is None:
            raise CommandError(E.ENOENT, f.pick("name") if not nested else f.whole)
        self._mutating()
        make = comp.make
        anon = self._bind_sets(fam, table, comp, rule.loc) if make is None else ()
        try:
            if replace:
                r = self.tx.replace_rule(fam, table, chain, obj.handle, make() if make else comp.stmts,
                                         comment=rule.comment, loc=rule.loc)
                # the model keeps the old rule's handle and allocates none, as the kernel does
            else:
                # `add rule ... handle N` is nft's older spelling of `position N`
                pos = (obj.position or obj.handle or None) if obj else None
                r = self.tx.add_rule(fam, table, chain, comp.stmts, insert=insert,
                                     position=pos, index=obj.index if obj else None,
                                     comment=rule.comment, loc=rule.loc, make=make)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("handle") if replace else f.pick("position")) from None
        r.userdata["ast"] = rule
        if comp.program is not None:
            r.userdata["program"] = comp.program
        if anon:
            r.userdata["sets"] = anon
        # nft reports a rule the commit-time validation refuses under its whole command
        self.rule_cmd[(fam, table, r.handle)] = L.widen(self.cur_loc) if obj is not None else rule.loc
        # nft_verdict_init: a jump or goto to a base chain is EOPNOTSUPP, under the target
        # The compiled program names every chain the rule jumps to: walk the AST (for
        # the target's location) only when one of them is a base chain.
        if fast:                        # the fast grammar has no jump, goto or vmap
            targets = ()
            self.nojump.add((fam, table, r.handle))
        else:
            t = self.tx.tables[(fam, table)]
            targets = _prog_refs(r)[0] if comp.program is not None else None
        if targets is None or targets and any(j in t.chains and t.chains[j].hook is not None for j in targets):
            for n in _walk(rule.stmts):
                j = _jump_target(n)
                if j and j in t.chains and t.chains[j].hook is not None:
                    tloc = getattr(getattr(n, "target", None), "loc", None) or rule.loc
                    raise CommandError(E.EOPNOTSUPP, tloc)
        prev = None
        if obj is not None and (obj.position or obj.handle or obj.index is not None) and not replace:
            rules = self.tx.tables[(fam, table)].chains[chain].rules
            i = next(k for k, x in enumerate(rules) if x is r)
            prev = rules[i - 1].handle if i > 0 else None
        if "echo" in self.opts.flags:
            self._echo("rule", "insert" if insert else "add", fam, table, chain=chain, handle=r.handle,
                       prev=prev, replaced=replace)
        if replace:
            self._gc_anon(fam, table)

    def _add_fast_rule(self, fam: str, table: str, chain: str, rule) -> bool:
        """What :meth:`_add_rule` does for a rule line of a table block
        (commands/_fastline.py), without its general cases: no position, no sets to
        bind, no jump, no echo or debug output (the caller checks).  False: take
        :meth:`_add_rule` (an error, or anything unexpected)."""
        t = self.tx.tables.get((fam, table))
        if t is None or chain not in t.chains:
            return False
        if self.stages is _UNSET:
            self.stages = stages()
        hit = fast_parts(rule, fam, table, chain, self.stages)
        if hit is not None:
            prog, make = hit
            stmts = ()
        else:
            # the shape's first rules: made from its units (ip tables) or the slow path
            # (which also keeps them for the template); an error is left to _add_rule,
            # which reports it
            try:
                comp = compile_rule(rule, fam, table, chain, sets=set_infos(t), chains=frozenset(t.chains),
                                    ifindex=self.opts.ifindex_fn(), lazy=True)
            except PktError:
                return False
            prog, make, stmts = comp.program, comp.make, comp.stmts
            if prog is None or prog.sets:
                return False
        self.changed = True
        r = self.tx.add_rule(fam, table, chain, stmts, comment=rule.comment, loc=rule.loc, make=make)
        ud = r.userdata
        ud["ast"] = rule
        ud["program"] = prog
        key = (fam, table, r.handle)
        self.rule_cmd[key] = rule.loc
        self.nojump.add(key)
        return True

    def _bind_sets(self, fam: str, table: str, comp, loc: Location | None = None) -> tuple[str, ...]:
        """The kernel side of a rule's sets: its anonymous sets become sets of the table
        (``__set%d``, numbered as nf_tables_set_alloc_name does: the lowest free number),
        each taking a handle before the rule; a set the rule adds to or updates becomes
        dynamic, with nft's default size 65535 when it has none."""
        t = self.tx.tables[(fam, table)]
        for st in comp.stmts:
            if type(st).__name__ == "Dynset" and getattr(st, "declare", None) is None and st.set in t.sets:
                s = t.sets[st.set]
                if "interval" in s.flags:
                    # nft_dynset_init: the interval backends (rbtree, pipapo) have no
                    # update op: EOPNOTSUPP; nft marks the set dynamic while evaluating, so
                    # a set of this batch is refused at the set itself (under its name)
                    raise CommandError(E.EOPNOTSUPP, self.set_locs.get((fam, table, st.set), loc))
                if "dynamic" not in s.flags or s.size is None:
                    s = self.tx.set_for_update(fam, table, st.set)
                    s.flags = s.flags | {"dynamic"}
                    if s.size is None:
                        s.size = 65535
        prog = comp.program
        names = []
        meters = {st.set: st for st in comp.stmts
                  if type(st).__name__ == "Dynset" and getattr(st, "declare", None) is not None}
        # the object kinds of the rule's anonymous object maps, in the order compiled
        objkinds = [_OBJ_KIND.get(getattr(st, "type", 0)) for st in comp.stmts
                    if type(st).__name__ == "Objref" and getattr(getattr(st, "mapping", None), "objmap", False)
                    and hasattr(st.mapping, "elements")]
        for d in getattr(prog, "sets", ()) or ():
            s = _anon_set_model(d, t)
            if "object" in s.flags and objkinds:
                # sets.generation reads an object map's kind from data_type
                s.data_type = objkinds.pop(0)
            m = meters.get(s.name)
            if m is not None:
                # a meter: nft lists its key's datatypes and nft's default size 65535
                key = m.key
                parts = getattr(key, "parts", None) or (key,)
                s.key_type = tuple(getattr(getattr(p, "dtype", None), "key", "integer") for p in parts)
                if s.size is None:
                    s.size = 65535
            self.tx.add_set(fam, table, s)
            names.append(s.name)
            t = self.tx.tables[(fam, table)]
        return tuple(names)

    def _gc_anon(self, fam: str, table: str) -> None:
        """Anonymous sets go away with the last rule bound to them (the kernel's
        nf_tables_deactivate_set on rule removal)."""
        t = self.tx.tables.get((fam, table))
        if t is None:
            return
        used = {n for c in t.chains.values() for r in c.rules for n in r.userdata.get("sets", ())}
        for name, s in list(t.sets.items()):
            if "anonymous" in s.flags and name not in used:
                self.tx.delete_set(fam, table, name)

    def _replace_RuleObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        self._add_rule(self._fam(obj), obj.table, obj.chain, obj.rule, obj, f, replace=True)

    def _delete_RuleObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self.tx.tables.get((fam, obj.table))
        if t is None:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("table"))
        if obj.chain not in t.chains:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("name"))
        self._mutating()
        try:
            self.tx.delete_rule(fam, obj.table, obj.chain, obj.handle, destroy=destroy)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("handle")) from None
        self._gc_anon(fam, obj.table)

    def _destroy_RuleObj(self, cmd):
        self._delete_RuleObj(cmd, destroy=True)

    # -- sets and elements ------------------------------------------------------------
    def _add_SetObj(self, cmd, create=False):
        obj = cmd.obj
        self._set(obj, self._fam(obj), obj.table, create=create, nested=False)

    def _create_SetObj(self, cmd):
        self._add_SetObj(cmd, create=True)

    def _set(self, obj: A.SetObj, fam, table, *, create, nested):
        f = L.locate(obj, nested=nested)
        nloc = f.pick("name")
        if nloc is not None:
            # nft 1.0.6 puts a set's kernel errors under the first column of its name
            self.set_locs[(fam, table, obj.name)] = dataclasses.replace(nloc, last_col=nloc.first_col)
        key = data = None
        typeof = False
        key_typeof: tuple[str, ...] = ()
        data_typeof = None
        flags: set[str] = set()
        kw: dict = {}
        elements = None
        stmts = []
        for item in obj.body or ():
            if isinstance(item, A.SetType):
                typeof = item.typeof
                if not typeof:
                    S.check_known(item.key + tuple(item.data or ()), item.loc,
                                  lambda n, _l=item.loc: L.word(_l, n))
                    key, data = tuple(item.key), (tuple(item.data) if item.data else None)
                else:
                    key_typeof = S.typeof_parts(item.key[0])
                    key = key_typeof
                    if item.data:
                        data_typeof = S._expr_text(item.data[0])
                        data = (data_typeof,)
                if item.data_interval:
                    flags.add("interval")
            elif isinstance(item, A.Prop):
                if item.name == "flags":
                    flags.update(item.value)
                elif item.name in ("timeout", "gc-interval"):
                    kw[item.name.replace("-", "_")] = _time_ms(item.value, item.loc)
                elif item.name == "size":
                    kw["size"] = item.value
                elif item.name == "policy":
                    kw["policy"] = item.value
                elif item.name == "auto-merge":
                    kw["auto_merge"] = True
                elif item.name == "comment":
                    kw["comment"] = item.value
                elif item.name == "elements":
                    elements = item.value
                elif item.name == "stmt":
                    stmts.append(item.value)
        if obj.body is not None and key is None:
            raise EvalError(Diagnostic(f.pick("name"), f"set definition does not specify key"))
        self._need_table(fam, table, f.pick("table") if not nested else f.whole)
        is_map = obj.kind == "map" or data is not None
        if kw.get("timeout") is not None:
            flags.add("timeout")    # nft: a default timeout makes it a timeout set
        s = Set(obj.name, 0, key, data, is_map, frozenset(flags), typeof=typeof,
                key_typeof=key_typeof, data_typeof=data_typeof, **kw)
        if key is not None:
            self._type_set(s, fam, f.pick("name"))
            s.stmts = S.stmt_dumps(stmts, fam) if stmts else ()
        self._mutating()
        new = obj.name not in self.tx.tables[(fam, table)].sets
        try:
            s = self.tx.add_set(fam, table, s, create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None
        if new:
            self._echo("set", "create" if create else "add", fam, table, name=obj.name)
        if elements is not None:
            self._add_elements(fam, table, obj.name, elements, False, f.whole)

    def _type_set(self, s: Set, fam: str, loc) -> None:
        """Fill in the datatype names and lengths of a declared set (model contract)."""
        try:
            spec = S.key_spec(s, fam)
        except PktError:
            if s.typeof:
                raise
            return
        s.key_type = tuple(dt.key for dt, _, _ in spec.key)
        s.key_len = tuple(bits for _, bits, _ in spec.key)
        if spec.data is not None:
            parts = spec.data if isinstance(spec.data[0], tuple) else (spec.data,)
            s.data_type = tuple(dt.key for dt, _, _ in parts)
            s.data_len = sum(((b + 31) // 32) * 32 for _, b, _ in parts) if len(parts) > 1 else parts[0][1]
        elif spec.data_kind is not None:
            s.data_type = (spec.data_kind,)
        if s.is_map and spec.data_kind not in (None, "verdict"):
            s.flags = s.flags | {"object"}
        if len(spec.key) > 1 and "interval" in s.flags:
            s.flags = s.flags | {"concat"}

    def _add_elements(self, fam, table, name, se, create: bool, loc) -> None:
        s = self.tx.set_for_update(fam, table, name)
        try:
            spec = S.key_spec(s, fam)
        except PktError as e:
            raise EvalError(Diagnostic(loc, str(e))) from None
        new = S.build_elements(s, spec, fam, se, set_stmts=s.stmts, check_stmts=True)
        self._mutating()
        self._echo("element", "create" if create else "add", fam, table, name=name, elements=tuple(new))
        if s.timeout and "timeout" in s.flags:
            # an element without a timeout of its own takes the set's (nft_set_elem_init
            # sets its expiration): not listed as `timeout`, but as `expires`
            for el in new:
                if el.timeout is None and el.expires is None:
                    el.expires = s.timeout
        if "interval" in s.flags:
            from pkttables.proto import ByteOrder
            host = len(spec.key) == 1 and spec.key[0][2] is ByteOrder.HOST
            if create:
                have = {(e.key, e.key_end) for e in s.elements}
                if any((e.key, e.key_end) in have for e in new):
                    raise CommandError(E.EEXIST, loc)
            s.elements[:] = S.add_interval_elements(self.tx, s, new, se, getattr(se, "loc", loc), host=host)
            return
        bulk = fast_unique(s, new, create)
        if bulk is not None:
            s.elements[:] = bulk        # a bulk list into an empty set (commands/fastelements.py)
            return
        have = {e.key for e in s.elements}
        items = None
        for i, el in enumerate(new):
            if el.key in have:
                if create:
                    raise CommandError(E.EEXIST, loc)
                continue
            if s.size and len(s.elements) >= s.size:
                # nft_add_set_elem: a set with a size takes no more than that many
                # elements (ENFILE), reported under the first element over the limit
                items = items if items is not None else list(S._flatten(getattr(se, "elements", ())))
                eloc = getattr(items[i], "loc", None) if i < len(items) else None
                raise CommandError(E.ENFILE, eloc or loc)
            have.add(el.key)
            s.elements.append(el)

    def _set_ref(self, obj, f, kernel=False) -> tuple[str, Set]:
        fam = self._fam(obj)
        t = self._need_table(fam, obj.table, f.pick("table"), kernel=kernel)
        name = obj.set if isinstance(obj, A.ElementObj) else obj.name
        if name is None:
            name = next((n for n, s in t.sets.items() if s.handle == obj.handle), None)
        if name not in t.sets:
            raise CommandError(E.ENOENT, f.pick("handle", "name"), kernel=kernel)
        return fam, name

    def _delete_SetObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        try:
            fam, name = self._set_ref(obj, f, kernel=True)
        except CommandError:
            if destroy:
                return
            raise
        t = self.tx.tables[(fam, obj.table)]
        if name in _refs(t)[1]:
            raise CommandError(E.EBUSY, f.pick("handle", "name"))
        self._mutating()
        self.tx.delete_set(fam, obj.table, name)

    def _destroy_SetObj(self, cmd):
        self._delete_SetObj(cmd, destroy=True)

    def _flush_SetObj(self, cmd):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam, name = self._set_ref(obj, f, kernel=True)
        self._mutating()
        self.tx.set_for_update(fam, obj.table, name).elements.clear()

    def _add_ElementObj(self, cmd, create=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam, name = self._set_ref(obj, f)
        self._add_elements(fam, obj.table, name, obj.elements, create, f.whole)

    def _create_ElementObj(self, cmd):
        self._add_ElementObj(cmd, create=True)

    def _delete_ElementObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam, name = self._set_ref(obj, f)
        s = self.tx.set_for_update(fam, obj.table, name)
        spec = S.key_spec(s, fam)
        gone = S.build_elements(s, spec, fam, obj.elements)
        self._mutating()
        for el in gone:
            for i, old in enumerate(s.elements):
                if old.key == el.key and (el.key_end is None or old.key_end == el.key_end):
                    del s.elements[i]
                    break
            else:
                if not destroy:
                    raise CommandError(E.ENOENT, f.whole)

    def _destroy_ElementObj(self, cmd):
        self._delete_ElementObj(cmd, destroy=True)

    # -- stateful objects and flowtables ----------------------------------------------
    def _add_StatefulObj(self, cmd, create=False):
        obj = cmd.obj
        self._object(obj, self._fam(obj), obj.table, create=create, nested=False)

    def _create_StatefulObj(self, cmd):
        self._add_StatefulObj(cmd, create=True)

    def _object(self, obj: A.StatefulObj, fam, table, *, create, nested):
        f = L.locate(obj, nested=nested)
        self._need_table(fam, table, f.pick("table") if not nested else f.whole)
        from ._objects import object_spec
        spec, comment = object_spec(obj.kind, obj.body, fam, f.pick("name"))
        self._mutating()
        new = (obj.kind, obj.name) not in self.tx.tables[(fam, table)].objects
        try:
            self.tx.add_object(fam, table, StatefulObject(obj.kind, obj.name, 0, spec, comment), create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None
        if new:
            self._echo("object", "create" if create else "add", fam, table, name=obj.name, obj_kind=obj.kind)

    def _delete_StatefulObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self.tx.tables.get((fam, obj.table))
        name = obj.name
        if t is not None and name is None:
            name = next((k[1] for k, o in t.objects.items() if k[0] == obj.kind and o.handle == obj.handle), None)
        if t is None or (obj.kind, name) not in t.objects:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("handle", "name") if t is not None else f.pick("table"))
        if name in _refs(t)[2]:
            raise CommandError(E.EBUSY, f.pick("handle", "name"))
        self._mutating()
        self.tx.delete_object(fam, obj.table, obj.kind, name)

    def _destroy_StatefulObj(self, cmd):
        self._delete_StatefulObj(cmd, destroy=True)

    def _add_FlowtableObj(self, cmd, create=False):
        obj = cmd.obj
        self._flowtable(obj, self._fam(obj), obj.table, create=create, nested=False)

    def _create_FlowtableObj(self, cmd):
        self._add_FlowtableObj(cmd, create=True)

    def _flowtable(self, obj: A.FlowtableObj, fam, table, *, create, nested):
        from pkttables.proto import std_priority
        f = L.locate(obj, nested=nested)
        self._need_table(fam, table, f.pick("table") if not nested else f.whole)
        ft = Flowtable(obj.name, 0)
        for item in obj.body or ():
            if isinstance(item, A.ChainType):
                ft.hook = item.hook
                if item.priority is not None:
                    ft.priority = self._priority(item, "inet" if fam == "inet" else fam, std_priority) \
                        if not isinstance(item.priority, A.Number) else item.priority.value
                    ft.priority_expr = item.priority
            elif isinstance(item, A.Prop) and item.name == "devices":
                ft.devices = self._devices(item.value)
            elif isinstance(item, A.Prop) and item.name == "flags":
                ft.flags = frozenset(item.value)
            elif isinstance(item, A.Prop) and item.name == "counter":
                ft.flags = ft.flags | {"counter"}
        self._mutating()
        try:
            self.tx.add_flowtable(fam, table, ft, create=create)
        except ModelError as e:
            raise CommandError(e.errno, f.pick("name")) from None

    def _delete_FlowtableObj(self, cmd, destroy=False):
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc)
        fam = self._fam(obj)
        t = self.tx.tables.get((fam, obj.table))
        name = obj.name
        if t is not None and name is None:
            name = next((n for n, o in t.flowtables.items() if o.handle == obj.handle), None)
        if t is None or name not in t.flowtables:
            if destroy:
                return
            raise CommandError(E.ENOENT, f.pick("handle", "name") if t is not None else f.pick("table"))
        if name in _refs(t)[3]:
            raise CommandError(E.EBUSY, f.pick("handle", "name"))
        self._mutating()
        self.tx.delete_flowtable(fam, obj.table, name)

    def _destroy_FlowtableObj(self, cmd):
        self._delete_FlowtableObj(cmd, destroy=True)

    # -- listings -----------------------------------------------------------------------
    def _listing(self, cmd: A.Command) -> None:
        obj = cmd.obj
        f = L.locate(obj, end=cmd.loc) if not isinstance(obj, (A.ListObj, A.RulesetObj)) else L.Fields(obj.loc)
        # nft checks what a listing names against its cache first (no "Could not process").
        if isinstance(obj, A.TableObj):
            self._need_table(self._fam(obj), obj.name, f.pick("name"), kernel=False)
        elif isinstance(obj, A.ChainObj):
            t = self._need_table(self._fam(obj), obj.table, f.pick("table"), kernel=False)
            if obj.name not in t.chains:
                raise CommandError(E.ENOENT, f.pick("name"), kernel=False)
        elif isinstance(obj, A.SetObj):
            self._set_ref(obj, f)
        from . import _listing
        view = self._view()
        self.out.append(_listing.render(cmd, view, self.opts))
        if cmd.verb == "reset":
            # nft answers from the state it read before the batch: the values go back to
            # zero when the batch is applied (a later `list` in it still shows them)
            self.resets.extend(_listing.reset_objects(view, cmd))

    def apply_resets(self) -> None:
        if not self.resets:
            return                  # most batches: no import of the listing (~1.4 ms cold)
        from ._listing import zeroed
        for fam, table, kind, name in self.resets:
            t = self.tx.tables.get((fam, table))
            if t is None or (kind, name) not in t.objects:
                continue
            o = self.tx.add_object(fam, table, StatefulObject(kind, name, 0))
            self.tx.tables[(fam, table)].objects[(kind, name)] = dataclasses.replace(o, spec=zeroed(o.spec))
            self.changed = True

    def _describe(self, cmd: A.Command) -> None:
        from pkttables.types import describe
        loc = cmd.obj.loc
        text = loc.line_text[loc.first_col - 1:loc.last_col] if loc and loc.line_text else ""
        self.out.append(describe(text) + "\n")
