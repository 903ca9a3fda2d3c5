"""The public surface others code against (briefs: capture API), pinned."""

import pkttables.capture as capture


def test_exported_members():
    assert sorted(capture.__all__) == sorted([
        "read_capture", "iter_batches", "measure_read_rate", "CaptureRecord", "LinkType",
        "PcapWriter", "PcapngWriter", "open_writer",
    ])
    for name in capture.__all__:
        assert getattr(capture, name).__module__.startswith("pkttables.capture")


def test_record_fields():
    assert capture.CaptureRecord._fields == (
        "ts_ns", "data", "orig_len", "linktype", "ifname", "interface_id", "direction", "index")


def test_linktype_values_are_libpcaps():
    L = capture.LinkType
    assert (L.ETHERNET, L.RAW, L.LINUX_SLL, L.IPV4, L.IPV6, L.LINUX_SLL2) == (1, 101, 113, 228, 229, 276)


def test_measure_read_rate(tmp_path):
    from pkttables.capture._synthetic import write_synthetic
    path = tmp_path / "m.pcapng"
    write_synthetic(path, 2000)
    assert len(list(capture.read_capture(path))) == 2000
    assert capture.measure_read_rate(path) > 0
    assert capture.measure_read_rate(path, batch=True) > 0


def test_capture_does_not_import_the_engine_or_packet_parsing():
    import subprocess
    import sys
    code = ("import sys, pkttables.capture; "
            "bad = [m for m in sys.modules if m.startswith(('pkttables.packet', 'pkttables.stack', 'scapy'))]; "
            "print(bad); sys.exit(bool(bad))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
