"""Run the ``pkt`` CLI in-process and write the captures it reads, for tests.

    rc, out, err = run_pkt(["simulate", "rules.nft", "cap.pcapng", "--host", "host.toml"])
    write_pcapng("cap.pcapng", tcp_conversation())     # (ingress interface, frame) pairs
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Sequence

__all__ = ["run_pkt", "write_pcapng"]


def run_pkt(argv: Sequence[str]) -> tuple[int, str, str]:
    """``pkt ARGV`` in-process: (exit status, stdout, stderr).  SystemExit (argparse usage
    errors) is an exit status; any other exception escapes and fails the test."""
    from pkttables.cli.main import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(list(argv))
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return rc, out.getvalue(), err.getvalue()


def write_pcapng(path, packets: Iterable[tuple[str, bytes]], *, t0_ns: int = 1_000_000_000_000,
                 step_ns: int = 250_000_000, start: int = 0) -> None:
    """``(ingress interface, Ethernet frame)`` pairs as a pcapng file, one interface
    block per name; packet ``i`` is stamped ``t0_ns + (start + i) * step_ns`` (``start``
    continues the clock of an earlier part of the same traffic)."""
    from pkttables.capture import LinkType, PcapngWriter
    with PcapngWriter(str(path)) as w:
        ids: dict[str, int] = {}
        for i, (dev, frame) in enumerate(packets):
            if dev not in ids:
                ids[dev] = w.add_interface(dev, LinkType.ETHERNET)
            w.write(ids[dev], frame, t0_ns + (start + i) * step_ns)
