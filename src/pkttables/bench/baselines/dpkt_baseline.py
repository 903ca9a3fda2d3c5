"""dpkt: a fast, lazy-ish pure-Python dissector and capture reader (BSD)."""

NAME = "dpkt"


def available() -> str | None:
    try:
        import dpkt  # noqa: F401
    except ImportError:
        return "dpkt is not installed (pip install 'pkttables[bench]')"
    return None


def parse(frames) -> int:
    from dpkt.ethernet import Ethernet

    n = 0
    for f in frames:
        Ethernet(f)
        n += 1
    return n


def read(path: str) -> int:
    import dpkt

    n = 0
    with open(path, "rb") as fh:
        reader = dpkt.pcapng.Reader(fh) if path.endswith(".pcapng") else dpkt.pcap.Reader(fh)
        for _ in reader:
            n += 1
    return n
