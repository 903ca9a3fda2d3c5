"""pkttables.proto -- nft's knowledge of headers and keys, as data.

In: nothing (tables only).  Out: descriptions every stage reads -- the parser (which
words exist), the evaluator (datatypes, implicit dependencies, families and hooks), the
compiler (offsets, lengths, kernel key numbers), the listing and ``pkt describe``.

- :data:`PROTOCOLS` -- payload headers (``tcp``, ``ip``, ``ether``...) with :class:`Field`
  offsets/lengths in bits, datatype names and byte order, on a :class:`Base`;
- :data:`IPV6_EXTHDRS`, :data:`TCP_OPTIONS`, :data:`IP_OPTIONS`, :data:`SCTP_CHUNKS` --
  exthdr spaces;
- :data:`META_KEYS`, :data:`CT_KEYS`, :data:`RT_KEYS`, :data:`FIB_RESULTS`,
  :data:`SOCKET_KEYS`, :data:`XFRM_KEYS`, ... -- expression keys with kernel numbers;
- :data:`FAMILIES`, :data:`STD_PRIORITIES`, :data:`CHAIN_TYPES` -- tables and chains;
- :data:`DEPENDENCIES` -- implicit matches per family and protocol;
- kernel enums as IntEnums (:class:`MetaKeyId`, :class:`CtKeyId`, :class:`NfProto`...).

Datatype names (``Field.dtype_name``) resolve in :mod:`pkttables.types`.
"""

from ._deps import DEPENDENCIES, EXTHDR_SPACES, Dep, dependencies
from ._enums import (
    ArpHook, Base, ByteOrder, CtDir, CtKeyId, EthProto, ExthdrFlag, ExthdrOp, FibFlag, FibResult,
    HashType, InetHook, IpOptType, IpProto, Ipv6Exthdr, MetaKeyId, NetdevHook, NfProto, NgType,
    OsfFlag, RtKeyId, SctpChunkType, SocketKeyId, TcpOptKind, XfrmDir, XfrmKey,
)
from ._families import CHAIN_TYPES, FAMILIES, STD_PRIORITIES, Family, StdPriority, priority_name, std_priority
from ._headers import (
    INDEXED_FIELDS, IP_OPTIONS, IPV6_EXTHDRS, PROTOCOL_ALIASES, PROTOCOLS, SCTP_CHUNKS,
    TCP_OPTION_GENERIC_FIELDS, TCP_OPTIONS, ExtHeader, Field, Proto, field_by_offset, indexed_field,
)
from ._keys import (
    CT_KEYS, CT_KEYS_BY_ID, EXTHDR_FLAGS, FIB_FLAGS, FIB_RESULTS, HASH_TYPES, IFNAMSIZ, META_KEY_ALIASES,
    META_KEYS, META_KEYS_BY_ID, NUMGEN_HASH_RESULT, NUMGEN_TYPES, OSF_KEYS, OSF_TTL, RT_KEYS, SOCKET_KEYS,
    XFRM_KEYS, CtDirRule, CtKey, FibResultDesc, MetaKey, RtKey, SocketKey, XfrmKeyDesc,
)

__all__ = [
    # headers
    "Field", "Proto", "ExtHeader", "PROTOCOLS", "PROTOCOL_ALIASES", "IPV6_EXTHDRS", "TCP_OPTIONS",
    "TCP_OPTION_GENERIC_FIELDS", "IP_OPTIONS", "SCTP_CHUNKS", "INDEXED_FIELDS", "field_by_offset",
    "indexed_field",
    # keys
    "MetaKey", "META_KEYS", "META_KEYS_BY_ID", "META_KEY_ALIASES", "CtKey", "CtDirRule", "CT_KEYS",
    "CT_KEYS_BY_ID", "RtKey", "RT_KEYS", "FibResultDesc", "FIB_RESULTS", "FIB_FLAGS", "SocketKey",
    "SOCKET_KEYS", "OSF_KEYS", "OSF_TTL", "NUMGEN_TYPES", "HASH_TYPES", "NUMGEN_HASH_RESULT",
    "XfrmKeyDesc", "XFRM_KEYS", "EXTHDR_FLAGS", "IFNAMSIZ",
    # families
    "Family", "FAMILIES", "StdPriority", "STD_PRIORITIES", "std_priority", "priority_name", "CHAIN_TYPES",
    # dependencies
    "Dep", "DEPENDENCIES", "EXTHDR_SPACES", "dependencies",
    # enums
    "ByteOrder", "Base", "NfProto", "IpProto", "EthProto", "MetaKeyId", "CtKeyId", "CtDir", "RtKeyId",
    "FibResult", "FibFlag", "SocketKeyId", "NgType", "HashType", "XfrmKey", "XfrmDir", "ExthdrOp",
    "ExthdrFlag", "OsfFlag", "InetHook", "ArpHook", "NetdevHook", "Ipv6Exthdr", "TcpOptKind",
    "IpOptType", "SctpChunkType",
]
