"""The generated-code backend: every chain of a ruleset generation compiled to Python.

Theory of operation
-------------------
The reference interpreter (:func:`pkttables.vm.chain.do_chain`) walks rules and calls
one ``eval`` per instruction on a bytearray register file.  This backend does that
walk once, at load time, and writes down what it would do as Python source -- one
function per chain -- which CPython then compiles to bytecode.  The kernel does the
same kind of thing when it picks ``nft_cmp_fast_ops`` or ``nft_payload_fast_ops`` for
an expression at load time (net/netfilter/nf_tables_core.c), never while it runs.

* Constants are inlined: offsets, lengths, compared values, masks.
* Registers disappear where the data flow is visible: a payload load feeding a compare
  becomes ``buf[nh + 12:nh + 16] != b'...'`` (see :mod:`._codegen_emit`).
* Anonymous sets become a ``frozenset`` (``in``), maps a ``dict``, interval sets a
  sorted list searched with ``bisect``; verdict maps a dict of verdicts.
* ``jump`` is a call of the target chain's function (``depth`` counts the kernel's
  jump stack, NFT_JUMP_STACK_SIZE 16); ``goto`` a tail call; ``return``, or the end of
  a chain, returns None, and the base chain's caller then applies the policy.
* Counters and every other stateful statement call the same context hooks as the
  interpreter, with the same instruction objects, so state keys do not change.
* Instructions without a pattern run through their own ``eval`` (correct, slower).

A chain function is ``fn(pkt, ctx, regs, depth) -> None | (verdict, rule, chain)``.
The source of each is registered in :mod:`linecache` under
``<pkttables inet/filter/input g42>`` (family/table/chain, generation), so tracebacks
and pdb show it; :meth:`CompiledRuleset.source` returns it (``--debug=codegen``).  The
source carries :data:`FORMAT_VERSION`, checked when it is loaded.

Example::

    loaded = LoadedRuleset(run_text(text, Ruleset()).ruleset)
    rt = CodegenRuntime(loaded, host=host)          # a ChainRuntime: same API
    rt.run_hook("ip", "input", pkt, now=1.0)        # -> HookVerdict
    print(rt.compiled.source())                     # the generated code

Packets with a tracer (``nftrace``) run through the interpreter, whose trace events are
the spec.

Classified runs
---------------
A run of ``min_run`` (default :data:`pkttables.backends.classified.MIN_RUN`, 8) or more
consecutive stateless first-match rules (:func:`pkttables.backends.extract.split_runs`)
is not emitted rule by rule: the chain function asks the run's
:class:`~pkttables.backends.classifier.Classifier` (built once per generation, as
``--backend classifier`` builds it: :func:`pkttables.backends.classified.build_plan`)
for the first matching rule, and hands a hit to :meth:`CompiledRuleset._hit`::

    # rules 2..10001: classified run of 10000 rules
    h = CLF5(pkt, ctx)
    if h is not None:
        r = TM8.get(h, _MISS)
        if r is _MISS:
            r = _hit(RS6, CH2, h, pkt, ctx, regs, depth)
        if r is not _NEXT: return r
    # rule 10002: handle ...

``TM`` maps the run's accept/drop rules without a counter to their result tuple (6 %
faster than the call on the 1k ACL, same process).  Any other hit goes to ``_hit``,
which counts the rule's counter (``ctx.current_rule`` set to the rule, as the
interpreter does), then applies its verdict as any other rule's (``_dyn``).  A ``jump``
that comes back returns into the run at ``hit + 1``: the suffix classifier of the run
(:meth:`pkttables.backends.classified.RunSlot.at`, built on first use) decides the rest,
or, past :data:`~pkttables.backends.classified.MAX_SUFFIXES` or below ``min_run`` rules,
the rules are evaluated one by one with their own ``eval``.  The semantics are
``classified_do_chain``'s, and the reasons it gives the interpreter's answer hold here:
a classified rule has no effect but its counter and verdict, and a ruleset where some
rule reads registers an earlier rule wrote (``exact`` mode, or
:func:`~pkttables.backends.classified.self_contained` false) gets no classified runs.
"""

from __future__ import annotations

import linecache
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Callable

from pkttables.errors import PktError
from pkttables.vm.chain import (NF_VERDICT_MASK, NFT_JUMP_STACK_SIZE, QUEUE_BYPASS, ChainResult,
                                LoadedChain, LoadedRuleset)
from pkttables.vm.regs import Regs, Verdict
from pkttables.vm.stateful_impl import ChainRuntime

from pkttables.backends._codegen_emit import ConstPool, NotSelfContained, RuleEmitter
from pkttables.backends.classified import (MIN_RUN, ChainPlan, ClassifiedStats, build_plan, min_run_from_env,
                                           self_contained)

__all__ = ["FORMAT_VERSION", "CompiledChain", "CompiledRuleset", "CodegenRuntime", "compile_chain",
           "compile_ruleset", "codegen_backend", "check_format", "CodegenError"]

#: version of the generated program format; bumped when the calling convention or the
#: runtime helpers change (checked on load, as ``re`` checks its MAGIC); 2: ``_hit``,
#: classified runs
FORMAT_VERSION = 2

_NEXT = object()     # _dyn: "go on with the next rule"
_MISS = object()
_TERMINAL = (int(Verdict.ACCEPT), int(Verdict.DROP), int(Verdict.QUEUE), int(Verdict.STOLEN))
_NFPROTO = {"ip": 2, "ip6": 10, "inet": 1, "arp": 3, "bridge": 7, "netdev": 5}


class CodegenError(PktError):
    """Generated code that cannot be loaded (wrong format version, bad source)."""


def check_format(ns: dict) -> None:
    v = ns.get("__codegen_version__")
    if v != FORMAT_VERSION:
        raise CodegenError(f"generated chain has format version {v!r}, this pkttables loads "
                           f"version {FORMAT_VERSION}")


def _ifname(ctx, name):
    dev = ctx.interface(name)
    return (dev.name if dev is not None else "").encode()[:15].ljust(16, b"\0")


def _ifindex(ctx, name):
    dev = ctx.interface(name)
    return dev.ifindex if dev is not None else 0


@dataclass(slots=True)
class CompiledChain:
    """One chain's function and its source."""

    chain: LoadedChain
    filename: str
    source: str
    fn: Callable[..., Any]
    exact: bool

    def __call__(self, pkt, ctx, regs: Regs | None = None) -> ChainResult:
        """Run the chain as a base chain (``do_chain``): a :class:`ChainResult`."""
        return _result(self.chain, self.fn(pkt, ctx, regs if regs is not None else Regs(), 0))


def _result(base: LoadedChain, r) -> ChainResult:
    if r is None:
        return ChainResult(int(base.policy), None, base, policy=True)
    return ChainResult(r[0], r[1], r[2])


def _filename(chain: LoadedChain, generation: int) -> str:
    return f"<pkttables {chain.family}/{chain.table}/{chain.name} g{generation}>"


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _chain_source(chain: LoadedChain, pool: ConstPool, *, exact: bool, jump_ref,
                  plan: ChainPlan | None = None) -> str:
    out = [f"# generated by pkttables.backends.codegen -- {chain.family} {chain.table} {chain.name}",
           f"__codegen_version__ = {FORMAT_VERSION}", "",
           "def chain(pkt, ctx, regs, depth):"]
    starts = {run.start: plan.slots[run.start] for run in plan.runs} if plan is not None else {}
    skip_to = 0
    for k, rule in enumerate(chain.rules):
        if k < skip_to:
            continue
        slot = starts.get(k)
        if slot is not None:
            # the whole run: one classifier lookup (module docstring, "Classified runs")
            CL = pool.add(slot.clf.classify, "CLF")
            RS = pool.add(slot, "RS")
            C = pool.add(chain, "CH")
            # accept/drop without a counter: the result tuple itself, no call
            term = {r.index: (int(r.verdict.code), chain.rules[r.index], chain) for r in slot.run.rules
                    if r.counter is None and int(r.verdict.code) in _TERMINAL}
            out.append(f"    # rules {slot.start}..{slot.stop - 1}: classified run of "
                       f"{slot.stop - slot.start} rules")
            out.append(f"    h = {CL}(pkt, ctx)")
            out.append("    if h is not None:")
            if term:
                out.append(f"        r = {pool.add(term, 'TM')}.get(h, _MISS)")
                out.append("        if r is _MISS:")
                out.append(f"            r = _hit({RS}, {C}, h, pkt, ctx, regs, depth)")
            else:
                out.append(f"        r = _hit({RS}, {C}, h, pkt, ctx, regs, depth)")
            out.append("        if r is not _NEXT: return r")
            skip_to = slot.stop
            continue
        if not rule.instrs:
            continue
        R = pool.add(rule, "R")
        C = pool.add(chain, "CH")
        text = getattr(getattr(rule, "rule", None), "text", None)
        out.append(f"    # rule {k}: handle {rule.handle}" + (f": {text}" if isinstance(text, str) else ""))
        em = RuleEmitter(pool, rule, R, chain, C, chain_family=chain.family, exact=exact,
                         jump_ref=jump_ref)
        ended = False
        for idx, ins in enumerate(rule.instrs):
            em.lines.append(f"        # {ins.dump()}")
            if not em.emit(ins, idx, None):
                ended = True
                break
        if not ended:
            em.w("break")
        out.append("    while True:")
        out.extend(em.lines)
    out.append("    return None")
    return "\n".join(out) + "\n"


def _load(source: str, filename: str, ns: dict) -> Callable:
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, ns)
    check_format(ns)
    return ns["chain"]


class CompiledRuleset:
    """Every chain of a :class:`LoadedRuleset`, compiled.  ``exact`` is True when some
    rule reads registers it did not write, and every instruction then runs on the
    shared register file (see :mod:`._codegen_emit`)."""

    def __init__(self, loaded: LoadedRuleset, *, exact: bool | None = None, min_run: int | None = MIN_RUN):
        self.loaded = loaded
        self.generation = getattr(loaded, "generation", 0)
        self.version = FORMAT_VERSION
        #: shortest run given a classifier; None or 0: no classified runs
        self.min_run = max(1, int(min_run)) if min_run else None
        self.plans: dict[tuple[str, str, str], ChainPlan] = {}
        if exact is None:
            try:
                self._build(False)
            except NotSelfContained:
                self._build(True)
        else:
            self._build(exact)

    def _build(self, exact: bool) -> None:
        self.exact = exact
        self.plans = {}
        if not exact and self.min_run is not None and self_contained(self.loaded):
            # the same plans (runs, classifiers) as --backend classifier builds
            for key, chain in self.loaded.chains.items():
                plan = build_plan(chain, self.min_run)
                if plan.runs:
                    self.plans[key] = plan
        self.chains: dict[tuple[str, str, str], CompiledChain] = {}
        fns: dict[tuple[str, str, str], Callable] = {}
        pending = []
        for key, chain in self.loaded.chains.items():
            pool = ConstPool()
            targets: dict[str, str] = {}

            def jump_ref(name, _chain=chain, _targets=targets):
                if name is None or self.loaded.chain(_chain.family, _chain.table, name) is None:
                    return None
                return _targets.setdefault(name, f"J_{_ident(name)}_{len(_targets)}")

            src = _chain_source(chain, pool, exact=exact, jump_ref=jump_ref, plan=self.plans.get(key))
            ns = dict(pool.ns)
            ns.update(_MISS=_MISS, _NEXT=_NEXT, _bisect=bisect_right, _ifname=_ifname,
                      _ifindex=_ifindex, _dyn=self._dyn, _hit=self._hit, __name__=f"pkttables.codegen.{_ident(chain.name)}")
            fname = _filename(chain, self.generation)
            k = 1
            while linecache.cache.get(fname, (0, None, None))[2] not in (None, src.splitlines(True)):
                k += 1   # another ruleset of the same generation number: keep both sources
                fname = _filename(chain, self.generation)[:-1] + f" #{k}>"
            fn = _load(src, fname, ns)
            fn.__qualname__ = fn.__name__ = f"chain_{_ident(chain.name)}"
            fns[key] = fn
            self.chains[key] = CompiledChain(chain, fname, src, fn, exact)
            pending.append((chain, ns, targets))
        for chain, ns, targets in pending:   # link jumps once every chain exists
            for name, gname in targets.items():
                ns[gname] = fns[(chain.family, chain.table, name)]
        self._fns = fns

    def _dyn(self, code, target, rule, chain, pkt, ctx, regs, depth):
        """A verdict known only at run time (verdict maps, instructions run by eval):
        what do_chain does with it.  Returns the result tuple, None (return to the
        caller) or _NEXT (go on with the next rule)."""
        if code == -1 or code == -2:
            return _NEXT
        base = code & NF_VERDICT_MASK if code >= 0 else code
        if base in _TERMINAL:
            return (code, rule, chain)
        if code == -3 or code == -4:
            fn = self._fns.get((chain.family, chain.table, target or ""))
            if fn is None:   # cannot happen for a validated ruleset
                return (int(Verdict.DROP), rule, chain)
            if code == -4:
                return fn(pkt, ctx, regs, depth)
            if depth >= NFT_JUMP_STACK_SIZE:
                return (int(Verdict.DROP), rule, chain)
            r = fn(pkt, ctx, regs, depth + 1)
            return _NEXT if r is None else r
        return None          # RETURN, and what do_chain treats like it

    def _hit(self, slot, chain, h, pkt, ctx, regs, depth):
        """Rule ``h`` of a classified run matched: count it and apply its verdict, as
        ``classified_do_chain`` does.  A jump that comes back goes on inside the run, at
        ``h + 1``.  Returns what ``_dyn`` returns (a result tuple, None, or _NEXT: go on
        after the run)."""
        rules = chain.rules
        stop = slot.stop
        while True:
            rule = rules[h]
            ctx.current_rule = rule
            spec = slot.spec[h]
            if spec.counter is not None:
                if rule.sets:
                    ctx.rule_sets = rule.sets
                ctx.counter(spec.counter, pkt)
            vd = spec.verdict
            r = self._dyn(vd.code, vd.chain, rule, chain, pkt, ctx, regs, depth)
            if r is not _NEXT:
                return r
            # back from a jump: the rest of the run, h + 1 .. stop - 1
            i = h + 1
            if i >= stop:
                return _NEXT
            clf = slot.at(i)
            if clf is None:
                return self._linear(rules, i, stop, chain, pkt, ctx, regs, depth)
            h = clf.classify(pkt, ctx)
            if h is None:
                return _NEXT

    def _linear(self, rules, i, stop, chain, pkt, ctx, regs, depth):
        """Rules ``i .. stop - 1`` of a run one by one through their own ``eval`` (a
        suffix without a classifier), as do_chain runs them."""
        while i < stop:
            rule = rules[i]
            i += 1
            ctx.current_rule = rule
            if rule.sets:
                ctx.rule_sets = rule.sets
            regs.verdict = -1
            regs.chain = None
            for ins in rule.instrs:
                ins.eval(regs, pkt, ctx)
                if regs.verdict != -1:
                    break
            r = self._dyn(regs.verdict, regs.chain, rule, chain, pkt, ctx, regs, depth)
            if r is not _NEXT:
                return r
        return _NEXT

    def stats(self) -> ClassifiedStats:
        """What this generation classified (as ``ClassifierRuntime.stats``)."""
        runs = [r for p in self.plans.values() for r in p.runs]
        return ClassifiedStats(len(self.plans), len(runs), sum(r.stop - r.start for r in runs),
                               sum(len(c.rules) for c in self.loaded.chains.values()), bool(runs))

    def chain(self, family: str, table: str, name: str) -> CompiledChain | None:
        return self.chains.get((family, table, name))

    def run(self, base: LoadedChain, pkt, ctx, regs: Regs) -> ChainResult:
        """``do_chain`` for base chain ``base``."""
        fn = self._fns[(base.family, base.table, base.name)]
        return _result(base, fn(pkt, ctx, regs, 0))

    def source(self) -> str:
        """All generated source, chain after chain (what ``--debug=codegen`` prints)."""
        return "\n".join(f"# ---- {c.filename}{' (exact registers)' if c.exact else ''}\n{c.source}"
                         for c in self.chains.values())


def compile_ruleset(loaded: LoadedRuleset, *, exact: bool | None = None,
                    min_run: int | None = MIN_RUN) -> CompiledRuleset:
    return CompiledRuleset(loaded, exact=exact, min_run=min_run)


def compile_chain(chain: LoadedChain, loaded: LoadedRuleset | None = None, *,
                  exact: bool | None = None, min_run: int | None = MIN_RUN) -> CompiledChain:
    """Compile one chain (and, through ``loaded``, the chains it jumps to).  The result
    is callable: ``compiled(pkt, ctx, regs=None) -> ChainResult``, as ``do_chain``."""
    if loaded is None:
        loaded = _OneChain(chain)
    return CompiledRuleset(loaded, exact=exact, min_run=min_run).chain(chain.family, chain.table, chain.name)


class _OneChain:
    def __init__(self, chain: LoadedChain):
        self.chains = {(chain.family, chain.table, chain.name): chain}
        self.generation = 0

    def chain(self, family, table, name):
        return self.chains.get((family, table, name))


class CodegenRuntime(ChainRuntime):
    """:class:`~pkttables.vm.stateful_impl.ChainRuntime` with the chains run by
    generated code.  Same constructor, state, events and hook runners.

    ``run_hook`` is ChainRuntime's walk (nf_hook_slow over the base chains) with the
    per-hook work done once per generation: the chain list, each chain's context
    settings and its compiled function.  When ``run_chain`` has been replaced on the
    instance (the replay records decisions that way) or a tracer is active, every
    chain goes through ``run_chain`` as in ChainRuntime.

    ``min_run``: runs of that many classifiable rules or more are decided by
    classifiers (module docstring, "Classified runs"); None or 0: none are."""

    def __init__(self, loaded: LoadedRuleset, *, min_run: int | None = MIN_RUN, **kw):
        super().__init__(loaded, **kw)
        self.min_run = min_run
        self._compile(loaded)

    def _compile(self, loaded: LoadedRuleset) -> None:
        self.compiled = CompiledRuleset(loaded, min_run=self.min_run)
        self._plans: dict[tuple, tuple] = {}

    def stats(self) -> ClassifiedStats:
        """The classified runs of the current generation (``ClassifierRuntime.stats``)."""
        return self.compiled.stats()

    def reload(self, loaded: LoadedRuleset) -> None:
        super().reload(loaded)
        self._compile(loaded)
        self.ctx.loaded = loaded

    def run_chain(self, chain: LoadedChain, pkt, *, family: str, hook: str, now: float,
                  tracer=None):
        if tracer is not None:   # traces: the interpreter's events are the spec
            return super().run_chain(chain, pkt, family=family, hook=hook, now=now, tracer=tracer)
        ctx = self.ctx
        # what ChainRuntime.run_chain sets up for each base chain
        ctx.now = now
        ctx.hook = hook
        ctx.hook_family = family
        ctx.table_family = chain.family
        ctx.family = _NFPROTO[chain.family]
        ctx.l3_trim = family in ("ip", "ip6") and hook != "ingress"
        return self.compiled.run(chain, pkt, ctx, self.regs)

    def _plan(self, family: str, hook: str, device, prio=None):
        key = (family, hook, device, prio)
        plan = self._plans.get(key)
        if plan is None:
            chains = self.loaded.base_chains(family, hook, types=self.types, device=device, prio=prio)
            fns = self.compiled._fns
            plan = self._plans[key] = tuple(
                (c, fns[(c.family, c.table, c.name)], c.family, _NFPROTO[c.family],
                 c.family == "inet" and hook == "ingress", int(c.policy)) for c in chains)
        return plan

    def run_hook(self, family: str, hook: str, pkt, *, now: float = 0.0, state: Any = None,
                 prio: tuple[int, int] | None = None):
        """nf_hook_slow over the base chains of every table at ``family``/``hook``, or of
        one hook entry's priority range ``prio`` (ChainRuntime.run_hook).  Returns a
        :class:`pkttables.stack.hooks.HookVerdict`."""
        device = pkt.iif if hook == "ingress" else pkt.oif if hook == "egress" else None
        plan = self._plan(family, hook, device, prio)
        ctx = self.ctx
        events_before = len(ctx.events)
        slow = "run_chain" in self.__dict__ or self.tracer_factory is not None
        result = accept = _LazyAccept.value or _LazyAccept.get()
        if plan:
            ctx.now = now
            ctx.hook = hook
            ctx.hook_family = family
            ctx.l3_trim = family in ("ip", "ip6") and hook != "ingress"
        regs = self.regs
        for chain, fn, cfam, nfproto, inet_ingress, policy in plan:
            if inet_ingress and pkt.nfproto not in (2, 10):
                # nft_do_chain_inet_ingress(): anything but IPv4/IPv6 is accepted
                # without running the chain.
                continue
            if slow:
                tracer = None
                if self.tracer_factory is not None:
                    tracer = self.tracer_factory(pkt, family, hook, chain, ctx)
                res = self.run_chain(chain, pkt, family=family, hook=hook, now=now, tracer=tracer)
                code, rule, is_policy = res.verdict, res.rule, res.policy
            else:
                ctx.table_family = cfam
                ctx.family = nfproto
                r = fn(pkt, ctx, regs, 0)
                if r is None:
                    code, rule, is_policy = policy, None, True
                else:
                    code, rule, is_policy = r[0], r[1], False
            v = code & NF_VERDICT_MASK
            if v == 1:          # NF_ACCEPT: the next hook entry
                continue
            result = _hook_verdict(code, v, ctx, chain, rule, is_policy)
            if result is None:  # queue bypass without a listener: go on
                result = accept
                continue
            break
        if state is not None and hasattr(state, "events") and len(ctx.events) > events_before:
            state.events.extend(ctx.events[events_before:])
        return result


def _hook_verdict(code, v, ctx, chain, rule, is_policy):
    from pkttables.stack.hooks import HookVerdict
    from pkttables.stack.hooks import Verdict as NF
    if v == Verdict.QUEUE:
        qnum = (code >> 16) & 0xFFFF
        bypass = bool(code & QUEUE_BYPASS)
        listeners = ctx.queue_listeners
        if listeners is not None and qnum not in listeners:
            if bypass:     # nf_queue() -> 1: go on with the next hook entry
                return None
            return HookVerdict(NF.DROP, reason=f"queue {qnum}: no listener")
        return HookVerdict(NF.QUEUE, queue_num=qnum, bypass=bypass)
    if v == Verdict.STOLEN:
        return HookVerdict(NF.STOLEN)
    where = "policy" if is_policy else f"rule handle {rule.handle}" if rule else "rule"
    return HookVerdict(NF.DROP, reason=f"{chain.family} {chain.table} {chain.name} {where}")


class _LazyAccept:
    """``HookVerdict(ACCEPT)``, built on first use (stack/ sits above backends/)."""

    value = None

    @classmethod
    def get(cls):
        if cls.value is None:
            from pkttables.stack.hooks import HookVerdict
            from pkttables.stack.hooks import Verdict as NF
            cls.value = HookVerdict(NF.ACCEPT)    # frozen: one shared instance
        return cls.value


def codegen_backend(ruleset, host, *, seed: int, min_run: int | None = None):
    """Factory for ``pkttables.datapath.replay.BACKENDS["codegen"]``: the interpreter's
    factory with :class:`CodegenRuntime` in place of ``ChainRuntime``.  Runs of
    ``min_run`` classifiable rules are classified; by default the threshold of
    ``--backend classifier`` (``PKTTABLES_CLASSIFIER_MIN_RUN``, else 8)."""
    from pkttables.datapath._ctglue import install_ct_get
    from pkttables.datapath.replay import RunnerUnavailable

    try:
        loaded = LoadedRuleset(ruleset)
    except PktError:
        raise
    except Exception as e:   # a rule the vm cannot load: say which, do not guess
        raise RunnerUnavailable(f"the codegen backend cannot load this ruleset: {type(e).__name__}: {e}") from None
    runtime = CodegenRuntime(loaded, host=host, seed=seed,
                             min_run=min_run if min_run is not None else min_run_from_env())
    install_ct_get(runtime)
    return runtime
