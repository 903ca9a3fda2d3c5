"""Fuzzing ``pkt simulate`` and the tools that read captures, host files, conntrack
snapshots and policy specs: ``pkt decode``, ``pkt route``, ``pkt conntrack``,
``pkt monitor trace``, ``pkt test``.

Captures are mutated byte-wise from the example's pcapng and a classic pcap of it
(truncated blocks, corrupted headers, absurd 32-bit lengths and link types); host
files, snapshots and specs from the example's valid ones, with tokens of their
grammar spliced in.  Every run: exit status 0 or 1 (conntrack: 0, 1, 2), no traceback,
and an error that names the file.
"""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robust_harness import EXAMPLE, TOML_TOKENS, check, mutate, mutations, run

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
RULESET, HOST, TRAFFIC = (str(EXAMPLE / n) for n in ("ruleset.nft", "host.toml", "traffic.pcapng"))


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory(prefix="pktRB-sim-") as d:
        yield d


def _write(d: str, name: str, data: bytes) -> str:
    p = os.path.join(d, name)
    with open(p, "wb") as fh:
        fh.write(data)
    return p


@pytest.fixture(scope="module")
def captures(workdir):
    """The example's pcapng, and its first 20 packets as a classic pcap."""
    from pkttables.capture import PcapWriter, read_capture

    pcap = os.path.join(workdir, "base.pcap")
    with open(pcap, "wb") as fh:
        w = PcapWriter(fh)
        for i, rec in enumerate(read_capture(TRAFFIC)):
            if i == 20:
                break
            w.write(rec.data, rec.ts_ns)
    with open(pcap, "rb") as fh:
        small = fh.read()
    return {"pcapng": (EXAMPLE / "traffic.pcapng").read_bytes(), "pcap": small}


@SETTINGS
@given(kind=st.sampled_from(["pcapng", "pcap"]), ops=mutations([b"\x0a\x0d\x0d\x0a", b"\x4d\x3c\x2b\x1a",
                                                                 b"\xd4\xc3\xb2\xa1", b"\x01\x00", b"\xe4\x00"]),
       mode=st.sampled_from([[], ["--trace"], ["--conntrack"], ["--list"], ["--json", "-"]]))
def test_mutated_capture_through_simulate(workdir, captures, kind, ops, mode):
    path = _write(workdir, "t." + kind, mutate(captures[kind], ops))
    iif = ["--iif", "lan0"] if kind == "pcap" else []
    rc, _, err = run(["simulate", "--ruleset", RULESET, "--host", HOST, "--traffic", path] + iif + mode)
    check(rc, err)
    if rc != 0:
        assert path in err, err[:1000]


@SETTINGS
@given(kind=st.sampled_from(["pcapng", "pcap"]), ops=mutations([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"]))
def test_mutated_capture_through_decode_and_conntrack(workdir, captures, kind, ops):
    path = _write(workdir, "d." + kind, mutate(captures[kind], ops))
    rc, _, err = run(["decode", path, "--json"] + (["--iif", "lan0"] if kind == "pcap" else []))
    check(rc, err)
    rc, _, err = run(["conntrack", "-L", "--pcap", path])
    check(rc, err)
    if rc != 0:
        assert path in err, err[:1000]


@SETTINGS
@given(ops=mutations(TOML_TOKENS))
def test_mutated_host_file(workdir, ops):
    path = _write(workdir, "h.toml", mutate((EXAMPLE / "host.toml").read_bytes(), ops))
    rc, _, err = run(["simulate", "--ruleset", RULESET, "--host", path, "--traffic", TRAFFIC, "--json", "-"])
    check(rc, err)
    if rc != 0:
        # the host file's fault, or the capture's against a valid host (an interface it lacks)
        assert path in err or TRAFFIC in err, err[:1000]
    rc, _, err = run(["route", "--host", path, "8.8.8.8"])
    check(rc, err)


@pytest.fixture(scope="module")
def snapshot(workdir):
    p = os.path.join(workdir, "base.ct")
    rc, _, err = run(["conntrack", "--pcap", TRAFFIC, "--host", HOST, "--save", p, "-C"])
    assert rc == 0, err
    with open(p, "rb") as fh:
        return fh.read()


@SETTINGS
@given(ops=mutations([b"-1", b"null", b"[]", b"{}", b"1e999", b'"x"', b"true", b"99999999999999999999999",
                      b"0.5", b"NaN", b'"::1"', b'"1.2.3.4"', b'"tcp"', b"\xff"]))
def test_mutated_conntrack_snapshot(workdir, snapshot, ops):
    path = _write(workdir, "c.ct", mutate(snapshot, ops))
    before = mutate(snapshot, ops)
    for argv in (["-L"], ["-C"], ["-L", "-p", "tcp", "--state", "ESTABLISHED"]):
        rc, _, err = run(["conntrack", "--table", path] + argv)
        check(rc, err, ok=(0, 1, 2))
        if rc == 1:
            assert path in err, err[:1000]
    rc, _, err = run(["conntrack", "-D", "--table", path, "-p", "udp"])
    check(rc, err, ok=(0, 1, 2))
    if rc == 1 and "deleted" not in err:
        # a snapshot that did not load is left as it was
        with open(path, "rb") as fh:
            assert fh.read() == before


@SETTINGS
@given(ops=mutations(TOML_TOKENS + [b"[[case]]\n", b"expect = {}\n", b"packet = {}\n", b'after = ["x"]\n',
                                    b'flags = "Q"\n', b'proto = "sctp"\n', b'rule = ""\n', b"[[case.flow]]\n",
                                    b"seed = 99999999999999999999\n", b"sport = 70000\n"], max_ops=3))
def test_mutated_policy_spec(workdir, ops):
    path = _write(workdir, "p.toml", mutate((EXAMPLE / "policy.toml").read_bytes(), ops))
    # the spec names its ruleset and host relative to itself
    for name in ("ruleset.nft", "host.toml"):
        link = os.path.join(workdir, name)
        if not os.path.exists(link):
            os.symlink(EXAMPLE / name, link)
    rc, out, err = run(["test", "-q", path])
    check(rc, err)
    if rc != 0 and not out.rstrip().endswith("failed"):
        assert path in err, (out[-500:], err[:1000])


# ----------------------------------------------------------------- option values
_BAD_OPTIONS = [
    (["--workers", "0"], "--workers: must be between 1 and 256"),
    (["--workers", "300"], "--workers: must be between 1 and 256"),
    (["--workers", "x"], "argument --workers: invalid int value"),
    (["--backend", "nope"], "--backend: unknown backend 'nope'"),
    (["--seed", "x"], "argument --seed: invalid int value"),
    (["--seed", "99999999999999999999999"], "argument --seed: must be a 64-bit integer"),
    (["--debug", "nope"], "--debug: unknown level 'nope'"),
    (["--iif", "nope"], "--iif: no interface 'nope'"),
    (["--out", "{dir}"], "cannot write '{dir}': Is a directory"),
    (["--json", "{dir}"], "cannot write '{dir}': Is a directory"),
    (["--conntrack-save", "{dir}"], "{dir}: cannot write: Is a directory"),
    (["--out", "{missing}/x.pcapng"], "cannot write '{missing}/x.pcapng': No such file or directory"),
    (["--ruleset", "{dir}"], 'Could not open file "{dir}": Is a directory'),
    (["--ruleset", "{missing}"], 'Could not open file "{missing}": No such file or directory'),
    (["--ruleset", "{nonutf8}"], "{nonutf8}:1:11-11: Error: syntax error, unexpected junk"),
    (["--ruleset", HOST], f"{HOST}:4:1-1: Error: syntax error"),
    (["--host", "{dir}"], "cannot read host file '{dir}': Is a directory"),
    (["--host", "{missing}"], "cannot read host file '{missing}': No such file or directory"),
    (["--host", "{nonutf8}"], "{nonutf8}:1: Error: host file is not UTF-8"),
    (["--host", RULESET], f"{RULESET}:4:7-7: Error: TOML syntax error"),
    (["--traffic", "{dir}"], "--traffic: cannot read '{dir}': is not a file"),
    (["--traffic", "{missing}"], "--traffic: cannot read '{missing}': No such file or directory"),
    (["--traffic", "/dev/null"], "--traffic: cannot read '/dev/null': is not a file"),
    (["--traffic", "{nonutf8}"], "{nonutf8}: at byte offset 0: unknown magic"),
    (["--traffic", RULESET], "at byte offset 0: unknown magic"),
]


@pytest.mark.parametrize("opts,message", _BAD_OPTIONS, ids=[" ".join(o) for o, _ in _BAD_OPTIONS])
def test_bad_simulate_option_is_one_error(tmp_path, opts, message):
    nonutf8 = tmp_path / "nonutf8.nft"
    nonutf8.write_bytes(b"table ip t\xff {}\n")
    # every path written or read is under tmp_path: never a file outside the test's own
    subst = {"dir": str(tmp_path), "nonutf8": str(nonutf8), "missing": str(tmp_path / "missing")}
    opts = [o.format(**subst) for o in opts]
    given_ = dict(zip(opts[::2], opts[1::2]))
    argv = ["simulate"]
    for k, v in {"--ruleset": RULESET, "--host": HOST, "--traffic": TRAFFIC, **given_}.items():
        argv += [k, v]
    rc, out, err = run(argv)
    check(rc, err)
    assert rc == 1
    assert message.format(**subst) in err
    assert out == ""


@pytest.mark.parametrize("argv", [["--seed", "99999999999999999999999"], ["--seed", "-x"]])
def test_bad_monitor_seed(argv):
    rc, _, err = run(["monitor", "trace", "--ruleset", RULESET, "--traffic", TRAFFIC] + argv)
    check(rc, err)
    assert rc == 1 and "argument --seed" in err


def test_policy_seed_beyond_64_bits(tmp_path):
    spec = tmp_path / "p.toml"
    spec.write_text(f'seed = 99999999999999999999\nruleset = "{RULESET}"\nhost = "{HOST}"\n'
                    '[[case]]\nname = "x"\npacket = { iif = "lan0", proto = "udp", src = "192.168.1.10", '
                    'dst = "9.9.9.9", sport = 1, dport = 53 }\nexpect = { verdict = "accept" }\n')
    rc, _, err = run(["test", str(spec)])
    check(rc, err)
    assert err.startswith(f"{spec}:1:8-27: Error: 'seed' must be a non-negative 64-bit integer\n")


# ----------------------------------------------------------------- random host files
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_value(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def _toml(doc: dict) -> str:
    out = []
    for key, val in doc.items():
        if isinstance(val, dict):
            out.append(f"[{key}]")
            out += [f"{_toml_value(k)} = {_toml_value(x)}" for k, x in val.items()]
        elif isinstance(val, list) and all(isinstance(x, dict) for x in val):
            for item in val:
                out.append(f"[[{key}]]")
                out += [f"{_toml_value(k)} = {_toml_value(x)}" for k, x in item.items()]
        else:
            out.insert(0, f"{_toml_value(key)} = {_toml_value(val)}")
    return "\n".join(out) + "\n"


_NAMES = st.sampled_from(["lan0", "wan0", "br0", "lo", "", "x" * 16, "eth0", "a b", "lan1", "lan2", "local", 7])
_ADDRS = st.sampled_from(["192.168.1.1/24", "10.0.0.1/8", "203.0.113.2/24", "fd00:1::1/64", "::1/128",
                          "0.0.0.0/0", "1.2.3.4/33", "1.2.3.4", "300.1.1.1/24", "fe80::1/64", "", 5, "::/0"])
_MACS = st.sampled_from(["02:00:00:00:00:01", "02:00:00:00:01:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
                         "02:00:00:00:00", "zz:00:00:00:00:00", "", 1])
_INTS = st.one_of(st.integers(-2, 70000), st.sampled_from([2 ** 32, 2 ** 64, -(2 ** 63)]), st.just("1500"))
_IFACE = st.fixed_dictionaries({"name": _NAMES}, optional={"mac": _MACS, "addresses": st.lists(_ADDRS, max_size=3),
                                                           "mtu": _INTS, "group": _INTS, "extra": st.just(1)})
_ROUTE = st.fixed_dictionaries({"to": _ADDRS}, optional={"via": _ADDRS, "dev": _NAMES, "metric": _INTS,
                                                         "table": _INTS})
_NEIGH = st.fixed_dictionaries({"address": _ADDRS, "mac": _MACS}, optional={"dev": _NAMES})
_BRIDGE = st.fixed_dictionaries({"name": _NAMES}, optional={"mac": _MACS, "ports": st.lists(_NAMES, max_size=3),
                                                            "addresses": st.lists(_ADDRS, max_size=2)})
_SYSCTL = st.dictionaries(st.sampled_from(["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding",
                                           "net.netfilter.nf_conntrack_tcp_loose", "net.nope",
                                           "net.netfilter.nf_conntrack_max",
                                           "net.netfilter.nf_conntrack_tcp_timeout_established"]),
                          st.one_of(_INTS, st.booleans(), st.just("1")), max_size=3)
HOSTS = st.fixed_dictionaries({}, optional={"sysctl": _SYSCTL, "interface": st.lists(_IFACE, max_size=3),
                                            "route": st.lists(_ROUTE, max_size=2),
                                            "neighbor": st.lists(_NEIGH, max_size=2),
                                            "bridge": st.lists(_BRIDGE, max_size=1)})


@SETTINGS
@given(host=HOSTS)
def test_random_host_file(workdir, host):
    path = _write(workdir, "random-host.toml", _toml(host).encode())
    rc, _, err = run(["route", "--host", path, "192.0.2.1"])
    check(rc, err)
    if rc != 0:
        assert err.startswith((f"{path}:", "Error: pkt route: ")), err[:1000]
    rc, _, err = run(["simulate", "--ruleset", RULESET, "--host", path, "--traffic", TRAFFIC, "--json", "-"])
    check(rc, err)


# ----------------------------------------------------------------- random policy cases
_ODD = st.one_of(st.sampled_from([0, -1, 65535, 65536, 2 ** 32, 2 ** 64, "", "x", True, [], {}, 1.5, "S", "SA",
                                  "Q", "fin,syn", "lan0", "wan0", "local", "nope", "192.168.1.10", "::1",
                                  "9.9.9.9", "fd00:1::10", "tcp", "udp", "icmp", "icmpv6", "sctp", "0xff",
                                  "zz", "02:00:00:00:00:10", "ab" * 40, "accept", "drop", "new", "established"])
                 )
_V4 = (["192.168.1.10", "9.9.9.9", "203.0.113.2", "192.168.1.1", "255.255.255.255", "0.0.0.0"], ["tcp", "udp", "icmp"])
_V6 = (["fd00:1::10", "2001:db8::9", "2001:db8:1::2", "ff02::1", "::"], ["tcp", "udp", "icmpv6"])


def _packet(fam, iif, proto_i, src_i, dst_i, sport, dport, extra):
    addrs, protos = fam
    pkt = {"iif": iif, "proto": protos[proto_i % len(protos)], "src": addrs[src_i % len(addrs)],
           "dst": addrs[dst_i % len(addrs)]}
    if pkt["proto"] in ("tcp", "udp"):
        pkt |= {"sport": sport, "dport": dport}
    return pkt | extra


# mostly valid packets (so the cases run), with up to two keys set to odd values
_PKT = st.builds(_packet, st.sampled_from([_V4, _V6]), st.sampled_from(["lan0", "wan0", "local"]),
                 st.integers(0, 2), st.integers(0, 5), st.integers(0, 5), st.integers(1, 65535),
                 st.sampled_from([22, 53, 80, 443, 23, 0, 65535]),
                 st.dictionaries(st.sampled_from(["sport", "dport", "flags", "seq", "ack", "window", "type", "code",
                                                  "id", "sequence", "ttl", "payload", "payload_hex", "src_mac",
                                                  "dst_mac", "vlan", "at", "df", "quote"]), _ODD, max_size=2))
_EXPECT = st.dictionaries(st.sampled_from(["verdict", "rule", "chain", "oif", "emitted", "ct", "reason", "log",
                                           "trace", "nat"]), _ODD, max_size=3)


@SETTINGS
@given(packets=st.lists(st.tuples(_PKT, _EXPECT), min_size=1, max_size=3), flow=st.booleans())
def test_random_policy_cases(workdir, packets, flow):
    lines = [f'ruleset = "{RULESET}"', f'host = "{HOST}"']
    if flow:
        lines += ["[[case]]", 'name = "flow"']
        for pkt, exp in packets:
            lines.append("[[case.flow]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in pkt.items()]
            if exp:
                lines.append(f"expect = {_toml_value(exp)}")
    else:
        for i, (pkt, exp) in enumerate(packets):
            lines += ["[[case]]", f'name = "c{i}"', f"packet = {_toml_value(pkt)}", f"expect = {_toml_value(exp)}"]
    path = _write(workdir, "random-spec.toml", ("\n".join(lines) + "\n").encode())
    rc, out, err = run(["test", path])
    check(rc, err)
    if rc != 0 and not out.rstrip().endswith("failed"):
        assert err.startswith(f"{path}:"), err[:1000]
