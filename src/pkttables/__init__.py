"""pkttables: the netfilter architecture in userspace Python.

Hooks, tables and chains, the nftables register machine, sets and maps, connection
tracking, NAT, queueing, logging and tracing -- speaking the nftables language and held
to the Linux kernel's behaviour. See DESIGN.md for the pipeline; each subpackage's
docstring says what goes in and what comes out.
"""

__version__ = "0.1.0"

__all__ = ["Nftables", "__version__"]


def __getattr__(name):  # lazy: `import pkttables` stays cheap
    if name == "Nftables":
        from pkttables.control import Nftables
        return Nftables
    raise AttributeError(f"module 'pkttables' has no attribute {name!r}")
