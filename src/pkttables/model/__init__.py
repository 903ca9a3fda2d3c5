"""The ruleset model: tables, chains, rules, sets, objects and flowtables as plain data.

In: evaluated commands (from ``evaluate``).  Out: a :class:`Ruleset` generation that the
compiler, the listing and the engine read.  Changes go through a :class:`Transaction`:
it copies what it touches (copy on first write, per table and per chain), applies the
commands, validates, and :meth:`Transaction.commit` returns a new generation; the old one
is never modified, so an abort is simply dropping the transaction and a reader holding
the old generation keeps a consistent view.

Handles follow the kernel: tables are numbered per ruleset (``nft_net->table_handle``),
and chains, rules, sets, objects and flowtables share one counter per table
(``table->hgenerator``), so handles are stable across generations and never reused.
"""

from pkttables.model.objects import (Chain, Element, Flowtable, HandleCounter, Hook, Rule, Set,
                                     StatefulObject, Table)
from pkttables.model.ruleset import ModelError, Ruleset
from pkttables.model.transaction import Transaction

__all__ = ["Chain", "Element", "Flowtable", "HandleCounter", "Hook", "ModelError", "Rule", "Ruleset", "Set",
           "StatefulObject", "Table", "Transaction"]
