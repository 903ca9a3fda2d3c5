"""Pin the public surface of proto and types (STYLE.md "Public surface")."""

import pkttables.proto as proto
import pkttables.types as types


def test_types_all():
    assert sorted(types.__all__) == sorted(
        ["Datatype", "DATATYPES", "DATATYPES_BY_ID", "TypeId", "lookup", "describe", "resolve_expr"])


def test_proto_all_resolves():
    for name in proto.__all__:
        assert hasattr(proto, name), name
    for name in ("PROTOCOLS", "META_KEYS", "CT_KEYS", "Base", "DEPENDENCIES", "FAMILIES"):
        assert name in proto.__all__
