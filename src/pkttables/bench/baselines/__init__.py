"""Reference points measured in the same run as pkttables.

Each baseline module has the same few names: ``NAME``, ``available() -> str | None``
(None, or why it cannot run), ``parse(frames) -> int`` (dissect every Ethernet frame
down to the transport header; returns how many it parsed) and ``read(path) -> int``
(iterate a capture's packets; returns the count).  They are imported only when a
benchmark runs: scapy is GPL and never a dependency of the library.
"""
