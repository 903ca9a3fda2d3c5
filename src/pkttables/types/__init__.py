"""pkttables.types -- nft 1.0.6 datatypes: text <-> value <-> register bytes.

In: symbols and numbers from rulesets (``ssh``, ``established,related``, ``10.0.0.1``)
and register bytes from programs.  Out: values in one form (ints for integer-based
types, bytes for strings; see ``_datatypes``), the bytes nft stores, the text nft lists,
and ``pkt describe`` output.

    >>> from pkttables.types import DATATYPES, describe
    >>> DATATYPES["tcp_flag"].parse("syn,ack")
    18
    >>> DATATYPES["ct_state"].format(6)
    'established,related'
    >>> describe("meta mark")
    'meta expression, datatype mark (packet mark) (basetype integer), 32 bits\\n'
"""

from ._datatypes import DATATYPES, DATATYPES_BY_ID, Datatype, TypeId, lookup
from ._describe import describe, resolve_expr

__all__ = ["Datatype", "DATATYPES", "DATATYPES_BY_ID", "TypeId", "lookup", "describe", "resolve_expr"]
