"""pkttables.sets: the kernel's set backends and set semantics.

In: a :class:`SetSpec` (the set as nft creates it in the kernel: key/data lengths,
concatenated field lengths, flags, timeout, gc-interval, size, set-wide expressions)
and elements in register form (bytes; ranges as inclusive ``key``/``key_end``).
Out: a :class:`SetInstance` that the VM looks keys up in (``SetLookup``), that the
packet path writes (``dynset``) and that element commands change, with the kernel's
errnos, timeouts on an injected clock, gc, per-element counters, and the catch-all.

Backends (chosen as the kernel does, :func:`choose_backend`): ``hash`` (dict; plain
sets also a ``set`` of keys), ``bitmap`` (keys <= 16 bits), ``rbtree`` (sorted
boundaries + bisect; fenced integer arrays when large), ``pipapo`` (concatenations with
ranges: layers of disjoint ranges per field, fenced and packed when large).  Each
backend's ``lookup`` is the packet path and may answer the ``PLAIN`` stand-in for an
element that has no data, expressions or expiration; ``elem`` answers the element
itself, for commands.
:func:`instances_from_model` builds (and, given the previous generation's, carries over)
the instances of every set of a model ``Ruleset``.
``segtree.merge_intervals`` is nft's userspace auto-merge for evaluate;
``connlimit`` holds ``ct count`` lists; ``bench.run`` measures it all.
"""

from pkttables.sets._common import Elem, ElemFlags, Errno, SetError, SetFlags, SetSpec, to_ns
from pkttables.sets._stateful import (ConnlimitState, CounterState, LastState, LimitState,
                                      QuotaState)
from pkttables.sets.connlimit import ConnCount, ConnCountList
from pkttables.sets.generation import ElementInit, instances_from_model, spec_from_model
from pkttables.sets.instance import DynsetOp, ElementView, SetInstance, choose_backend
from pkttables.sets.segtree import (MergeResult, intervals_from_netlink, intervals_to_netlink,
                                    merge_intervals)

__all__ = [
    "SetSpec", "SetFlags", "ElemFlags", "Elem", "SetError", "Errno", "to_ns",
    "SetInstance", "ElementView", "DynsetOp", "choose_backend",
    "instances_from_model", "spec_from_model", "ElementInit",
    "CounterState", "QuotaState", "LimitState", "LastState", "ConnlimitState",
    "ConnCount", "ConnCountList",
    "merge_intervals", "MergeResult", "intervals_from_netlink", "intervals_to_netlink",
]
