"""Control plane.  Today: :class:`Nftables`, the python-nftables compatible API over an
in-memory ruleset (or a ``--state`` file).  The TLV codec, sessions, ``pktd`` and its
client will join it here (DESIGN.md, "Control plane")."""

from .api import Nftables, SchemaValidator

__all__ = ["Nftables", "SchemaValidator"]
