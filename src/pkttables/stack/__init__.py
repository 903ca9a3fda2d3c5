"""The simulated host and its packet path.

In: a host description (``contracts/host.toml.md``) and packets.  Out: routing decisions
(``host.route_input/route_output``) and ``Engine(host).process(packet, now) -> Outcome``:
the kernel's packet path around the netfilter hooks, which the register machine, conntrack
and NAT plug into through ``HookTable`` (see docs/stack.md).
"""

from pkttables.stack.engine import Disposition, Emission, Engine, Generated, Outcome, mask_random
from pkttables.stack.hooks import HookRunner, HookState, HookTable, HookVerdict, PriorityHooks, Verdict
from pkttables.stack.host import Host, load_host

__all__ = ["Disposition", "Emission", "Engine", "Generated", "HookRunner", "HookState", "HookTable",
           "HookVerdict", "Host", "Outcome", "PriorityHooks", "Verdict", "load_host", "mask_random"]
