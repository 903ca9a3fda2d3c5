"""pkttables.render -- the model back to ``nft list`` text, byte for byte.

In: a :class:`pkttables.model.Ruleset` (rules hold kernel instruction lists) and
:class:`ListOptions` (``-a -s -t -n -p -S -T -y``).  Out: the text nft 1.0.6 prints.

- :mod:`.delinearize` -- instruction list -> statements (nft's netlink_delinearize.c);
- :mod:`.text` -- tables, chains, sets, maps, objects, flowtables and the ``list`` commands.
"""

from ._dump import AnonSet, SetElem, parse_netlink_debug
from .delinearize import DelinearizeError, delinearize, rule_text
from .options import ListOptions

__all__ = ["AnonSet", "SetElem", "parse_netlink_debug", "DelinearizeError", "delinearize", "rule_text",
           "ListOptions"]
