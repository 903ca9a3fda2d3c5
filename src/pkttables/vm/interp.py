"""The reference interpreter for one rule: the inner loop of nft_do_chain.

For each instruction in order: run it; stop when the verdict register is no longer
NFT_CONTINUE.  NFT_BREAK means "this rule does not match": nft_do_chain turns it back
into NFT_CONTINUE and goes on with the next rule, so :func:`run` returns CONTINUE for
it.  Any other verdict (accept, drop, jump, goto, return, queue, stolen) is returned
with its chain for jump/goto.  The kernel resets only the verdict between rules, not
the data registers; callers that run a chain pass one :class:`Regs` through.
"""

from __future__ import annotations

from typing import Iterable

from pkttables.vm.regs import Regs, Verdict

__all__ = ["run", "run_instrs"]

_CONTINUE = Verdict.CONTINUE
_BREAK = Verdict.BREAK


def run_instrs(instrs: Iterable, regs: Regs, pkt, ctx) -> int:
    """Run instructions until the verdict changes; return the raw verdict code
    (NFT_BREAK included)."""
    regs.verdict = _CONTINUE
    regs.chain = None
    for ins in instrs:
        ins.eval(regs, pkt, ctx)
        if regs.verdict != _CONTINUE:
            break
    return regs.verdict


def run(program, pkt, ctx, regs: Regs | None = None) -> tuple[Verdict | int, str | None]:
    """Run one rule; ``(verdict, chain)``.  A non-matching rule gives CONTINUE."""
    if regs is None:
        regs = Regs()
    code = run_instrs(program, regs, pkt, ctx)
    if code == _BREAK:
        return Verdict.CONTINUE, None
    try:
        return Verdict(code), regs.chain
    except ValueError:
        return code, regs.chain  # NF_QUEUE with a queue number in the upper bits
