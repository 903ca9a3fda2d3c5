"""scapy: full dissection (`Ether(raw)`), the reference the packet parser is 10x faster than."""

NAME = "scapy"


def available() -> str | None:
    try:
        import scapy  # noqa: F401
    except ImportError:
        return "scapy is not installed (pip install 'pkttables[bench]')"
    return None


def parse(frames) -> int:
    from scapy.layers.l2 import Ether

    n = 0
    for f in frames:
        Ether(f)
        n += 1
    return n


def read(path: str) -> int:
    from scapy.utils import RawPcapNgReader, RawPcapReader

    reader = RawPcapNgReader if path.endswith(".pcapng") else RawPcapReader
    n = 0
    with reader(path) as r:
        for _ in r:
            n += 1
    return n
