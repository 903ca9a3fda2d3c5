"""FTP through the host with ``ct helper set "ftp-standard"`` (Linux 6.18 vs pkttables):
active (PORT, EPRT) and passive (PASV, EPSV) control sessions between the two peers of
the harness, then the data connections.  Compared: the conntrack table (with
``helper=ftp`` on the control entries and the data entries' state), the expectation
table (``conntrack -L expect``) before the data connections, and every packet's
``ct state`` (the data connection's first packets are RELATED)."""

from __future__ import annotations

import time

import pytest

from lab_hosts import two_interface_host
from test_conntrack_kernel import BITS, C4, C6, S4, S6, STATES, back, norm_ours, out
from pkttables.conntrack import ConntrackTable, ct_state, format_entry
from pkttables.conntrack.expect import format_expect
from pkttables.packet import LinkType, Packet
from pkttables.testing import packets as P
from pkttables.testing.kernel import KernelLab

pytestmark = pytest.mark.kernel

RULESET = """
table inet t {
    ct helper ftp-standard { type "ftp" protocol tcp; l3proto inet; }
    chain pre {
        type filter hook prerouting priority 0; policy accept;
        tcp dport 21 ct helper set "ftp-standard"
    }
    chain fw {
        type filter hook forward priority 0; policy accept;
        ct state invalid counter
        ct state new counter
        ct state established counter
        ct state related counter
        ct state untracked counter
    }
}
"""
A, PA, SA, SYN = P.TCP_ACK, P.TCP_PSH | P.TCP_ACK, P.TCP_SYN | P.TCP_ACK, P.TCP_SYN


class Session:
    """One TCP connection between client and server, keeping the sequence numbers."""

    def __init__(self, cport, sport, v6=False):
        self.cport, self.sport, self.v6 = cport, sport, v6
        self.c, self.s = 1000 + cport, 50000 + sport
        self.cl, self.sv = (C6, S6) if v6 else (C4, S4)

    def _seg(self, frm_client, flags, payload):
        if frm_client:
            seg = P.tcp(self.cport, self.sport, flags, seq=self.c, ack=self.s if flags & A else 0,
                        payload=payload)
            self.c += len(payload) + bool(flags & (SYN | P.TCP_FIN))
            return out(self.cl, self.sv, seg, self.v6)
        seg = P.tcp(self.sport, self.cport, flags, seq=self.s, ack=self.c if flags & A else 0,
                    payload=payload)
        self.s += len(payload) + bool(flags & (SYN | P.TCP_FIN))
        return back(self.sv, self.cl, seg, self.v6)

    def open(self, client_first=True):
        return [self._seg(client_first, SYN, b""), self._seg(not client_first, SA, b""),
                self._seg(client_first, A, b"")]

    def c2s(self, payload, flags=PA):
        return self._seg(True, flags, payload)

    def s2c(self, payload, flags=PA):
        return self._seg(False, flags, payload)


def simulate(traffic, now=0.0):
    """Our tracker on the forwarded path; the `pre` chain's rule is applied by hand."""
    ct = ConntrackTable(two_interface_host())
    counts = dict.fromkeys(STATES, 0)
    for inj in traffic:
        pkt = Packet(inj.frame, LinkType.ETHERNET, iif=inj.ifname)
        assert ct.in_hook(pkt, "prerouting", now) == 1
        buf, th = pkt.buf, pkt.th_off
        if pkt.ct is not None and pkt.l4proto == 6 and int.from_bytes(buf[th + 2:th + 4], "big") == 21:
            ct.assign_helper(pkt, "ftp", 6, (2, 10))      # ct helper set "ftp-standard"
        bits = ct_state(pkt)
        for name, bit in zip(STATES, BITS):
            if bits & bit:
                counts[name] += 1
        ct.confirm(pkt, now)
    return ct, counts


def table_of(lines):
    out_ = {}
    for line in lines:
        key, timeout = norm_ours(line)
        helper = next((w for w in line.split() if w.startswith("helper=")), None)
        use = next((w for w in line.split() if w.startswith("use=")), None)
        out_[key + (helper, use)] = timeout
    return out_


def expect_key(line):
    w = line.split()
    return int(w[0]), " ".join(w[1:])


def run(control, data):
    host = two_interface_host()
    with KernelLab(host, timeout=30, settle=0.2) as lab:
        lab.load(RULESET)
        t0 = time.monotonic()
        lab.inject(control)
        # `conntrack -L expect` lists one family (IPv4 unless -f)
        text = "".join(lab.exec(f"conntrack -L expect -f {f}").stdout for f in ("ipv4", "ipv6"))
        kexp = [expect_key(x) for x in text.splitlines() if x.strip()]
        t_exp = time.monotonic() - t0
        lab.inject(data)
        obs = lab.observe()
        elapsed = time.monotonic() - t0
    ours, counts = simulate(control)
    oexp = [expect_key(format_expect(e, t_exp)) for e in ours.expectations(t_exp)]
    for inj in data:
        pkt = Packet(inj.frame, LinkType.ETHERNET, iif=inj.ifname)
        ours.in_hook(pkt, "prerouting", t_exp)
        bits = ct_state(pkt)
        for name, bit in zip(STATES, BITS):
            if bits & bit:
                counts[name] += 1
        ours.confirm(pkt, t_exp)
    rules = sorted(k for k in obs.counters if k[2] == "fw")
    kcounts = {name: obs.counters[k].packets for name, k in zip(STATES, rules)}
    kern = table_of(x for x in obs.conntrack_text.splitlines() if x.strip())
    mine = table_of(format_entry(c, elapsed) for c in ours.entries())
    report = ("\nkernel:\n" + obs.conntrack_text + "\n".join(" ".join(map(str, e)) for e in kexp) +
              "\nours:\n" + "\n".join(format_entry(c, elapsed) for c in ours.entries()) + "\n" +
              "\n".join(" ".join(map(str, e)) for e in oexp))
    # the kernel lists expectations by hash bucket: compare them as a set
    oexp, kexp = sorted(oexp, key=lambda e: e[1]), sorted(kexp, key=lambda e: e[1])
    assert [e[1] for e in oexp] == [e[1] for e in kexp], report
    for (kt, _), (ot, _) in zip(kexp, oexp):
        assert abs(kt - ot) <= 1, report
    assert set(mine) == set(kern), report
    for k, kt in kern.items():
        assert abs(mine[k] - kt) <= 1, (k, mine[k], kt)
    assert counts == kcounts, (counts, kcounts, report)
    return obs, ours, kexp


def test_ftp_active_port_then_data_connection_is_related():
    ctl = Session(40000, 21)
    control = [*ctl.open(), ctl.s2c(b"220 pkttables test\r\n"), ctl.c2s(b"USER anonymous\r\n"),
               ctl.s2c(b"331 Password required\r\n"),
               ctl.c2s(b"PORT 192,168,1,10,156,65\r\n"),       # 40001
               ctl.s2c(b"200 PORT command successful\r\n")]
    dat = Session(40001, 20)
    data = [*dat.open(client_first=False), dat.s2c(b"file contents\n"), ctl.s2c(b"226 done\r\n")]
    obs, ours, kexp = run(control, data)
    assert len(kexp) == 1 and "dport=40001" in kexp[0][1]
    (child,) = [c for c in ours.entries() if c.original.sport == 20]
    assert child.master is not None and child.master.original.dport == 21
    assert not ours.expectations()


def test_ftp_passive_pasv_and_epsv_and_eprt():
    ctl = Session(40010, 21)
    control = [*ctl.open(), ctl.s2c(b"220 hi\r\n"), ctl.c2s(b"USER a\r\n"), ctl.s2c(b"331 pw\r\n"),
               ctl.c2s(b"PASV\r\n"),
               ctl.s2c(b"227 Entering Passive Mode (198,51,100,7,117,49).\r\n")]   # 30001
    ctl2 = Session(40011, 21)
    control += [*ctl2.open(), ctl2.s2c(b"220 hi\r\n"), ctl2.c2s(b"USER a\r\n"), ctl2.s2c(b"331 pw\r\n"),
                ctl2.c2s(b"EPSV\r\n"),
                ctl2.s2c(b"229 Entering Extended Passive Mode (|||30002|)\r\n")]
    ctl3 = Session(40012, 21)
    control += [*ctl3.open(), ctl3.s2c(b"220 hi\r\n"), ctl3.c2s(b"USER a\r\n"), ctl3.s2c(b"331 pw\r\n"),
                ctl3.c2s(b"EPRT |1|192.168.1.10|40013|\r\n")]
    # a PORT naming another host: no expectation (not loose)
    ctl4 = Session(40014, 21)
    control += [*ctl4.open(), ctl4.s2c(b"220 hi\r\n"), ctl4.c2s(b"USER a\r\n"), ctl4.s2c(b"331 pw\r\n"),
                ctl4.c2s(b"PORT 10,9,9,9,156,65\r\n")]
    d1, d2, d3 = Session(41001, 30001), Session(41002, 30002), Session(40013, 20)
    data = [*d1.open(), d1.c2s(b"x"), *d2.open(), *d3.open(client_first=False)]
    obs, ours, kexp = run(control, data)
    assert len(kexp) == 3


def test_ftp_ipv6_eprt_epsv_and_partial_command_dropped():
    ctl = Session(40020, 21, v6=True)
    control = [*ctl.open(), ctl.s2c(b"220 hi\r\n"), ctl.c2s(b"USER a\r\n"), ctl.s2c(b"331 pw\r\n"),
               ctl.c2s(b"EPRT |2|fd00:1::10|40021|\r\n"), ctl.s2c(b"200 ok\r\n")]
    ctl2 = Session(40022, 21, v6=True)
    control += [*ctl2.open(), ctl2.s2c(b"220 hi\r\n"), ctl2.c2s(b"USER a\r\n"), ctl2.s2c(b"331 pw\r\n"),
                ctl2.c2s(b"EPSV\r\n"), ctl2.s2c(b"229 ok (|||30003|)\r\n")]
    # a command cut before its numbers is dropped by the helper (then counted nowhere)
    ctl3 = Session(40024, 21)
    control += [*ctl3.open(), ctl3.s2c(b"220 hi\r\n"), ctl3.c2s(b"USER a\r\n"), ctl3.s2c(b"331 pw\r\n"),
                ctl3.c2s(b"PORT 192,168")]
    d1, d2 = Session(40021, 20, v6=True), Session(41003, 30003, v6=True)
    data = [*d1.open(client_first=False), *d2.open()]
    run(control, data)
