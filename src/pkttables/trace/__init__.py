"""pkttables.trace -- ``meta nftrace set 1``: trace events and ``nft monitor trace`` text.

In: the callbacks of :func:`pkttables.vm.chain.do_chain` (rule matched with a verdict,
policy) for packets whose ``nftrace`` is set.  Out: :class:`TraceEvent` values and
the lines nft 1.0.6 prints for them::

    trace id 83f7f6b5 inet filter input packet: iif "lo" @ll,0,112 0x800 ip saddr ...
    trace id 83f7f6b5 inet filter input rule meta l4proto udp jump other (verdict jump other)
    trace id 83f7f6b5 inet filter other rule meta l4proto udp return (verdict return)
    trace id 83f7f6b5 inet filter input policy accept 

What the kernel reports (nft_do_chain, net/netfilter/nf_tables_trace.c) and nft
prints (Linux 6.18, nft 1.0.6, captured in a namespace):

* the first event of each base chain run carries the packet headers; nft prints them
  as a ``packet:`` line before it (one per table at a hook);
* a rule that matched prints ``rule <rule as listed> (verdict <v>)``; rules that matched
  without a verdict (``counter``, ``meta nftrace set 1``) print ``(verdict continue)``;
  jumps and gotos print ``(verdict jump <chain>)``; an explicit ``return`` prints
  ``(verdict return)``;
* the end of a regular chain prints nothing; the end of a base chain prints
  ``policy accept`` / ``policy drop`` with a trailing space;
* the trace id is per skb (a hash of its address in the kernel): here it is drawn from
  a seeded RNG, one per packet per hook path.
"""

from pkttables.trace._trace import TraceEvent, TraceRecorder, packet_text

__all__ = ["TraceEvent", "TraceRecorder", "packet_text"]
