"""The nftables language front end: text in, AST with locations out.

In: ruleset text (``nft -f FILE`` or a command line).  Out: :class:`ast.Script`, a tuple
of :class:`ast.Command` whose nodes are frozen, slotted dataclasses carrying a
:class:`pkttables.errors.Location`.  Values stay symbolic; ``evaluate`` types them.
Bad input raises :class:`pkttables.errors.SyntaxError_` with nft's messages.
"""

from .parser import DEFAULT_INCLUDE_PATH, parse, parse_file

__all__ = ["parse", "parse_file", "DEFAULT_INCLUDE_PATH"]
