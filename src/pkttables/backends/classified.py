"""The classifier backend: the reference interpreter with stateless runs classified.

Theory of operation
-------------------
``pkt simulate --backend classifier`` runs the ruleset as the interpreter does
(:class:`pkttables.vm.stateful_impl.ChainRuntime`, :func:`pkttables.vm.chain.do_chain`),
except that inside each chain every **run** of at least ``min_run`` consecutive
classifiable rules (stateless, first-match: :func:`pkttables.backends.extract.split_runs`)
is decided by one :class:`~pkttables.backends.classifier.Classifier` lookup instead of
rule after rule.  The classifiers are built once per ruleset generation, when the
runtime is created and at each :meth:`ClassifierRuntime.reload` (``pkt -i``, a batch
replacing the ruleset, ``Simulator.load``).

The chain walk (:func:`classified_do_chain`) is ``do_chain`` with one change.  Each
chain has a *plan*: for every position inside a run, the run's slot.  When the walk
reaches the first rule of a run it asks the classifier for the first matching rule
of the run:

* no rule of the run matches: go on at the run's end (each rule BREAKs, as
  nft_do_chain's loop would find one by one);
* rule ``p`` matches: its counter is counted (``ctx.counter`` with ``current_rule``
  set to it, so the state key is the interpreter's), and its verdict is the rule's
  ``immediate`` (accept, drop, jump, goto, return), handled as ``do_chain`` handles it.

A ``jump`` from rule ``p`` of a run returns to ``p + 1``, inside the run.  The rest of
the run, ``p + 1 .. stop``, is then classified by a *suffix* classifier, built on first
use and cached for the generation (at most :data:`MAX_SUFFIXES` per run; further
suffixes, and suffixes shorter than ``min_run``, run rule by rule through the
interpreter, which gives the same answer).

Why the result is the interpreter's:

* a classifiable rule has no effect but its verdict and its counter
  (:mod:`pkttables.backends.extract`: loads, masks, compares, constant anonymous sets,
  an optional trailing counter, a final verdict), so skipping the rules that do not
  match changes nothing but their registers;
* registers: the kernel keeps data registers across rules, but nft never emits a rule
  that reads a register it did not write.  A ruleset where some rule does
  (:func:`self_contained` says no) is run by the interpreter alone;
* packets with a tracer (``nftrace``) run through ``do_chain`` itself: its trace events
  are the spec (``--trace`` prints the same lines on every backend).

The deciding rule reported in ``--json`` is the :class:`~pkttables.vm.chain.LoadedRule`
at the classified position, exactly the object the interpreter would return.

Example::

    rt = ClassifierRuntime(LoadedRuleset(ruleset), host=host, min_run=8)
    rt.run_hook("ip", "forward", pkt, now=1.0)      # a HookVerdict, as ChainRuntime
    rt.stats()                                      # classified runs per chain

The codegen backend (:mod:`pkttables.backends.codegen`) uses the same plans
(:func:`build_plan`, :class:`RunSlot` with its suffixes) and the same threshold: a run
is one classifier call in the generated chain function (docs/codegen.md).

``MIN_RUN``: a run shorter than this stays with the interpreter.  Building a
classifier costs about 1.5-3 ms plus ~0.1 ms per rule (measured here, see
docs/classifier.md), and one lookup costs about what the interpreter spends on two or
three small rules; at 8 rules the lookup wins by ~3x per packet and the build pays for
itself after a few hundred packets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pkttables.errors import PktError
from pkttables.backends.classifier import Classifier
from pkttables.backends.extract import Run, split_runs
from pkttables.vm.chain import (NF_VERDICT_MASK, NFT_JUMP_STACK_SIZE, ChainResult, LoadedChain,
                                LoadedRuleset, do_chain)
from pkttables.vm.regs import Regs, Verdict, reg_offset
from pkttables.vm.stateful_impl import ChainRuntime

__all__ = ["MIN_RUN", "MAX_SUFFIXES", "ClassifierRuntime", "ChainPlan", "RunSlot", "ClassifiedStats", "build_plan",
           "classified_do_chain", "self_contained", "classifier_backend", "min_run_from_env"]

#: default shortest run that gets a classifier (see the module docstring)
MIN_RUN = 8
#: suffix classifiers (jump returns into a run) built per run, at most
MAX_SUFFIXES = 32
#: environment variable that overrides :data:`MIN_RUN` for ``pkt simulate --backend classifier``
MIN_RUN_ENV = "PKTTABLES_CLASSIFIER_MIN_RUN"

_CONT, _BREAK = Verdict.CONTINUE, Verdict.BREAK
_JUMP, _GOTO, _RETURN = Verdict.JUMP, Verdict.GOTO, Verdict.RETURN
_TERMINAL = (Verdict.ACCEPT, Verdict.QUEUE, Verdict.STOLEN, Verdict.DROP)


class RunSlot:
    """One classified run of a chain: its classifier, the rules by position, and the
    suffix classifiers built so far (``False``: the suffix runs rule by rule)."""

    __slots__ = ("run", "clf", "start", "stop", "spec", "suffixes", "min_run")

    def __init__(self, run: Run, min_run: int):
        self.run = run
        self.start, self.stop = run.start, run.stop
        self.clf = Classifier(run)
        self.spec = {r.index: r for r in run.rules}
        self.suffixes: dict[int, Any] = {}
        self.min_run = min_run

    def at(self, i: int):
        """The classifier of positions ``i .. stop`` (None: run them one by one)."""
        if i == self.start:
            return self.clf
        c = self.suffixes.get(i)
        if c is None:
            c = False
            rules = tuple(r for r in self.run.rules if r.index >= i)
            if len(rules) >= self.min_run and len(self.suffixes) < MAX_SUFFIXES:
                c = Classifier(Run(i, self.stop, rules))
            self.suffixes[i] = c
        return c or None


@dataclass(slots=True)
class ChainPlan:
    """A chain's runs: ``slots[i]`` is the :class:`RunSlot` of position ``i`` (None
    outside runs); ``opaque`` says why each other rule is left to the interpreter."""

    chain: LoadedChain
    slots: list
    runs: tuple
    opaque: dict


@dataclass(frozen=True, slots=True)
class ClassifiedStats:
    """What a generation classified: chains with at least one run, runs, the rules in
    them, and the rules of the ruleset."""

    chains: int
    runs: int
    classified_rules: int
    rules: int
    enabled: bool


def _words_written(ins) -> int:
    """4-byte words an instruction's ``dreg`` store covers (``Regs.store`` pads to the
    word); a load whose length the instruction does not say (meta, ct, ...) counts as a
    whole 16-byte register."""
    for name in ("len", "data"):
        v = getattr(ins, name, None)
        if isinstance(v, int) and v > 0:
            return -(-v // 4)
        if isinstance(v, (bytes, bytearray)) and v:
            return -(-len(v) // 4)
    return 4


def self_contained(loaded: LoadedRuleset) -> bool:
    """Does every rule read only registers it wrote itself?  (nft's rules do; a rule
    that reads what an earlier rule left would see the classifier skip that rule's
    loads.)  Checked per 4-byte word: the first word of every ``sreg*`` operand must
    have been written by an earlier instruction of the same rule.  A word-level check,
    so partial-word reads of a partly written word are not caught (nft emits neither)."""
    for chain in loaded.chains.values():
        for rule in chain.rules:
            written: set[int] = set()
            for ins in rule.instrs:
                for name in getattr(type(ins), "__dataclass_fields__", ()):
                    if not name.startswith("sreg"):
                        continue
                    r = getattr(ins, name)
                    if not isinstance(r, int) or r <= 0:
                        continue
                    try:
                        if reg_offset(r) // 4 not in written:
                            return False
                    except PktError:
                        return False
                d = getattr(ins, "dreg", None)
                if isinstance(d, int) and d > 0:
                    try:
                        w = reg_offset(d) // 4
                    except PktError:
                        return False
                    written.update(range(w, w + _words_written(ins)))
    return True


def build_plan(chain: LoadedChain, min_run: int) -> ChainPlan:
    runs, opaque = split_runs(chain.rules, min_run=min_run)
    slots: list = [None] * len(chain.rules)
    for run in runs:
        slot = RunSlot(run, min_run)
        for i in range(run.start, run.stop):
            slots[i] = slot
    return ChainPlan(chain, slots, tuple(runs), opaque)


def classified_do_chain(loaded: LoadedRuleset, plans: dict, base: LoadedChain, pkt, ctx, *,
                        regs: Regs | None = None) -> ChainResult:
    """:func:`pkttables.vm.chain.do_chain` (nft_do_chain) with each chain's runs decided
    by their classifiers (``plans``: (family, table, chain) -> :class:`ChainPlan`).
    No tracer: traced packets go through ``do_chain`` itself."""
    if regs is None:
        regs = Regs()
    chain = base
    rules = chain.rules
    slots = plans[(chain.family, chain.table, chain.name)].slots
    i = 0
    linear_until = 0          # positions below this run rule by rule (a suffix without classifier)
    stack: list[tuple[LoadedChain, int]] = []
    has_cur = hasattr(ctx, "current_rule")
    while True:
        code = _CONT
        target = None
        rule = None
        n = len(rules)
        while i < n:
            slot = slots[i]
            if slot is not None and i >= linear_until:
                clf = slot.at(i)
                if clf is None:
                    linear_until = slot.stop
                else:
                    hit = clf.classify(pkt, ctx)
                    if hit is None:
                        i = slot.stop
                        continue
                    rule = rules[hit]
                    i = hit + 1
                    if has_cur:
                        ctx.current_rule = rule
                    spec = slot.spec[hit]
                    if spec.counter is not None:
                        if rule.sets:
                            ctx.rule_sets = rule.sets
                        ctx.counter(spec.counter, pkt)
                    code = spec.verdict.code
                    target = spec.verdict.chain
                    break
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
            if code == _BREAK or code == _CONT:
                code = _CONT
                continue
            target = regs.chain
            break
        else:
            rule = None
            code = _CONT
        base_code = code & NF_VERDICT_MASK if code >= 0 else code
        if base_code in _TERMINAL:
            return ChainResult(code, rule, chain)
        if code == _JUMP or code == _GOTO:
            nxt = loaded.chain(chain.family, chain.table, target or "")
            if nxt is None:   # cannot happen for a validated ruleset
                return ChainResult(Verdict.DROP, rule, chain)
            if code == _JUMP:
                if len(stack) >= NFT_JUMP_STACK_SIZE:
                    # WARN_ON_ONCE(stackptr >= NFT_JUMP_STACK_SIZE): NF_DROP
                    return ChainResult(Verdict.DROP, rule, chain)
                stack.append((chain, i))
            chain, rules, i = nxt, nxt.rules, 0
            slots = plans[(chain.family, chain.table, chain.name)].slots
            linear_until = 0
            continue
        # CONTINUE at the end of a chain, or RETURN
        if stack:
            chain, i = stack.pop()
            rules = chain.rules
            slots = plans[(chain.family, chain.table, chain.name)].slots
            linear_until = 0
            continue
        return ChainResult(int(base.policy), None, base, policy=True)


class ClassifierRuntime(ChainRuntime):
    """:class:`~pkttables.vm.stateful_impl.ChainRuntime` whose chains run their
    classifiable runs (``min_run`` rules or more) through classifiers built once per
    generation.  Same constructor (plus ``min_run``), state, events and hook runners."""

    def __init__(self, loaded: LoadedRuleset, *, min_run: int = MIN_RUN, **kw):
        super().__init__(loaded, **kw)
        self.min_run = max(1, int(min_run))
        self._build(loaded)

    def _build(self, loaded: LoadedRuleset) -> None:
        self.enabled = self_contained(loaded)
        self.plans: dict[tuple[str, str, str], ChainPlan] = {}
        if self.enabled:
            for key, chain in loaded.chains.items():
                self.plans[key] = build_plan(chain, self.min_run)
            # chains without a run walk as in do_chain: skip the plan lookups for them
            self.enabled = any(p.runs for p in self.plans.values())

    def reload(self, loaded: LoadedRuleset) -> None:
        """A new generation: new classifiers (rule state is kept by rule handle)."""
        super().reload(loaded)
        self._build(loaded)

    def run_chain(self, chain: LoadedChain, pkt, *, family: str, hook: str, now: float, tracer=None):
        if tracer is not None or not self.enabled:
            # traces: the interpreter's events are the spec
            return super().run_chain(chain, pkt, family=family, hook=hook, now=now, tracer=tracer)
        ctx = self.ctx
        # what ChainRuntime.run_chain sets up for each base chain
        ctx.now = now
        ctx.hook = hook
        ctx.hook_family = family
        ctx.table_family = chain.family
        ctx.family = _NFPROTO[chain.family]
        ctx.l3_trim = family in ("ip", "ip6") and hook != "ingress"
        return classified_do_chain(self.loaded, self.plans, chain, pkt, ctx, regs=self.regs)

    def stats(self) -> ClassifiedStats:
        runs = [r for p in self.plans.values() for r in p.runs]
        return ClassifiedStats(sum(1 for p in self.plans.values() if p.runs), len(runs),
                               sum(r.stop - r.start for r in runs),
                               sum(len(c.rules) for c in self.loaded.chains.values()), self.enabled)


_NFPROTO = {"ip": 2, "ip6": 10, "inet": 1, "arp": 3, "bridge": 7, "netdev": 5}


def min_run_from_env(default: int = MIN_RUN) -> int:
    """:data:`MIN_RUN`, or the value of ``PKTTABLES_CLASSIFIER_MIN_RUN`` (tests run every
    kernel scenario with 1, so that every classifiable rule is classified)."""
    v = os.environ.get(MIN_RUN_ENV)
    if not v:
        return default
    try:
        n = int(v)
    except ValueError:
        raise PktError(f"{MIN_RUN_ENV}={v!r}: expected a positive integer") from None
    if n < 1:
        raise PktError(f"{MIN_RUN_ENV}={v!r}: expected a positive integer")
    return n


def classifier_backend(ruleset, host, *, seed: int, min_run: int | None = None):
    """Factory for ``pkttables.datapath.replay.BACKENDS["classifier"]``: the
    interpreter's factory with :class:`ClassifierRuntime` in place of ``ChainRuntime``."""
    from pkttables.datapath._ctglue import install_ct_get
    from pkttables.datapath.replay import RunnerUnavailable

    try:
        loaded = LoadedRuleset(ruleset)
    except PktError:
        raise
    except Exception as e:   # a rule the vm cannot load: say which, do not guess
        raise RunnerUnavailable(f"the classifier backend cannot load this ruleset: {type(e).__name__}: {e}") from None
    runtime = ClassifierRuntime(loaded, host=host, seed=seed,
                                min_run=min_run if min_run is not None else min_run_from_env())
    install_ct_get(runtime)
    return runtime
