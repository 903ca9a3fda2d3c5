"""Issue 6 (CT3): directional zones through NAT and expectations, against the kernel.

``ct original zone set`` / ``ct reply zone set`` put one direction of an entry in a zone
and the other in zone 0.  The kernel keeps both tuple nodes in one hash table, hashed
with their own direction's zone id, and a node matches a lookup when the tuple is equal
and the entry's zone id *in the node's direction* equals the looked-up zone struct's id
in that direction (nf_ct_key_equal -> nf_ct_zone_equal).  So two nodes with one tuple
and one hashed zone id can coexist (an entry's reply node and another entry's
original node), and NAT's "is this tuple taken" answer depends on the direction of the
node it meets.  The scenarios put that under masquerade and SNAT:

* ``zdir-*-replyzone-sameport``: two clients with one source port, apart only by an
  ip dscp and ``ct reply zone set 1``: their replies clash only in the reply direction,
  the zone keeps them apart, both keep port 40000; replies reach each side by dscp;
* ``zdir-*-origzone-vs-local``: a flow to the router itself holds S:53 -> W:40000 in
  zone 0; a masqueraded flow in original zone 1 is not blocked by it (the node is an
  original node, compared with zone 1) and takes W:40000 too; the reply finds the newest
  node;
* ``zdir-*-snat-inrange``: SNAT whose source already fits (nf_nat_used_tuple_new, the
  UDP clash exception path): the reverse flow from wan was kept apart by a reply zone;
* ``zdir-*-bysource``: find_appropriate_src with a reply-only zone (NAT's bysource hash
  uses the zone id only for a both-direction zone, and compares original-direction ids);
* ``zdir-*-twreuse-*``: TCP TIME_WAIT reuse (nf_nat_used_tuple_harder) by a SYN in an
  original-only or reply-only zone;
* ``zdir-*-icmperr``: an ICMP error about a flow whose reply direction is in a zone,
  looked up with a reply-zone template (nf_conntrack_find_get: original id, then reply id);
* ``zdir-ftp-*``: FTP through masquerade with directional zones: the expectation is
  matched on the plain zone id (nf_ct_exp_zone_equal_any), whatever the directions.
"""

from __future__ import annotations

import pytest

from ctnat_lab import CtNatLab, CtScenario
from ctnat_scenarios import (ACK, FA, PA, SA, SYN, C4, C4b, C4c, Tcp, _port_text, addrs,
                             lan, ruleset, wan)
from test_nat_kernel import nat_host
from pkttables.testing import packets as P

pytestmark = pytest.mark.kernel

CS1 = 0x20          # ip dscp cs1 in the TOS byte
MASQ2 = '        oifname "wan0" meta l4proto {p} masquerade to :40000-40001\n'


def _ports(res, text_attr: str, marker: str) -> list[str]:
    text = getattr(res, text_attr)
    return sorted(x.split("dport=")[-1].split()[0] for x in text.splitlines() if marker in x)


def nat_scenarios():
    c, s, w = addrs(False)
    # -- replies clash only in the reply direction; a reply zone keeps them apart
    raw = ('        ip dscp cs1 ct reply zone set 1\n')

    def both_40000(res):
        for attr in ("kernel_text", "our_text"):
            assert _ports(res, attr, "sport=40000 dport=53") == ["40000", "40000"], getattr(res, attr)
    yield CtScenario("zdir-v4-replyzone-sameport", check=both_40000, ruleset=ruleset(
        raw=raw, nat_post=MASQ2.format(p="udp")), traffic=[
        lan(c, s, P.udp(40000, 53, b"one")),
        lan(C4b, s, P.udp(40000, 53, b"two"), tos=CS1),
        wan(s, w, P.udp(53, 40000, b"to-two"), tos=CS1),
        wan(s, w, P.udp(53, 40000, b"to-one"))])
    # the same without the zone: the second client moves to 40001
    yield CtScenario("zdir-v4-nozone-sameport", ruleset=ruleset(nat_post=MASQ2.format(p="udp")), traffic=[
        lan(c, s, P.udp(40000, 53, b"one")), lan(C4b, s, P.udp(40000, 53, b"two"), tos=CS1),
        wan(s, w, P.udp(53, 40001, b"to-two")), wan(s, w, P.udp(53, 40000, b"to-one"))])

    # -- an original node of zone 0 does not block a flow in original zone 1
    for zone_rule, tag in (("ct original zone set 1", "origzone"), ("ct reply zone set 1", "replyzone"),
                           ("ct zone set 1", "bothzone"), ("", "nozone")):
        r = f'        iifname "lan0" ip dscp cs1 {zone_rule}\n' if zone_rule else ""
        yield CtScenario(f"zdir-v4-{tag}-vs-local", ruleset(raw=r, nat_post=MASQ2.format(p="udp")), [
            wan(s, w, P.udp(53, 40000, b"to-router")),          # entry S:53 -> W:40000 (port unreachable)
            lan(c, s, P.udp(40000, 53, b"q"), tos=CS1),
            wan(s, w, P.udp(53, 40000, b"a")),
            wan(s, w, P.udp(53, 40001, b"b"))])

    # -- SNAT whose source already fits: the reverse flow S:53 -> C:40000 came first,
    # with its reply node in zone 1; the new flow C:40000 -> S:53 is not its reply
    snat = '        oifname "wan0" meta l4proto {p} snat ip to 192.168.1.10:40000-40001\n'
    for zone_rule, tag in (('iifname "wan0" ct reply zone set 1', "wanreply"),
                           ('iifname "wan0" ct original zone set 1', "wanorig"),
                           ('iifname "lan0" ct reply zone set 1', "lanreply"),
                           ('iifname "lan0" ct original zone set 1', "lanorig")):
        for proto in ("udp", "tcp"):
            if proto == "udp":
                tr = [wan(s, c, P.udp(53, 40000, b"in")), lan(c, s, P.udp(40000, 53, b"out")),
                      wan(s, c, P.udp(53, 40000, b"in2")), wan(s, c, P.udp(53, 40001, b"in3"))]
            else:
                tr = [wan(s, c, P.tcp(53, 40000, SYN, seq=100)), lan(c, s, P.tcp(40000, 53, SYN, seq=500)),
                      wan(s, c, P.tcp(53, 40001, SA, seq=900, ack=501)),
                      wan(s, c, P.tcp(53, 40000, SA, seq=900, ack=501))]
            yield CtScenario(f"zdir-v4-snat-inrange-{tag}-{proto}",
                             ruleset(raw=f"        {zone_rule}\n", nat_post=snat.format(p=proto)), tr)

    # -- NAT's bysource: C:40000 got W:40001 (40000 was C2's); its next flow, to S2,
    # reuses W:40001 when found (a reply-only zone keeps the original id 0)
    s2 = "198.51.100.8"
    for zone_rule, tag in (("ct reply zone set 1", "replyzone"), ("ct original zone set 1", "origzone"),
                           ("ct zone set 1", "bothzone"), ("", "nozone")):
        r = f'        iifname "lan0" ip dscp cs1 {zone_rule}\n' if zone_rule else ""
        yield CtScenario(f"zdir-v4-bysource-{tag}", ruleset(raw=r, nat_post=MASQ2.format(p="udp")), [
            lan(C4b, s, P.udp(40000, 53, b"c2")),
            lan(c, s, P.udp(40000, 53, b"c1")),
            lan(c, s2, P.udp(40000, 53, b"c1-s2"), tos=CS1),
            wan(s2, w, P.udp(53, 40001, b"r1")), wan(s2, w, P.udp(53, 40000, b"r0"))])

    # -- TCP TIME_WAIT reuse: A (C:40000, W:40000) closes into TIME_WAIT, D (C2, W:40001)
    # stays established; a SYN of C3:40000 with a later sequence takes W:40000 by evicting
    # A (nf_nat_used_tuple_harder) -- unless its zone hides A
    for zone_rule, tag in (("", "nozone"), ("ct original zone set 1", "origzone"),
                           ("ct reply zone set 1", "replyzone")):
        r = f'        ip dscp cs1 {zone_rule}\n' if zone_rule else ""
        a = Tcp(False, 40000, 80, back=w, isn=(1000, 50000))
        d = Tcp(False, 40000, 80, client=C4b, back=w, isn=(7000, 70000))
        tr = a.handshake()
        tr += [d.cl(SYN), wan(s, w, P.tcp(80, 40001, SA, seq=70000, ack=7001)), lan(C4b, s, P.tcp(40000, 80, ACK, seq=7001, ack=70001))]
        tr += [a.cl(FA), a.sv(ACK), a.sv(FA), a.cl(ACK)]
        tr += [lan(C4c, s, P.tcp(40000, 80, SYN, seq=900000), tos=CS1),
               wan(s, w, P.tcp(80, 40000, SA, seq=123456, ack=900001), tos=CS1)]
        yield CtScenario(f"zdir-v4-twreuse-{tag}", ruleset(raw=r, nat_post=MASQ2.format(p="tcp")), tr)

    # -- an ICMP error about a masqueraded flow whose reply direction is in zone 6
    for v6 in (False, True):
        c6, s6, w6 = addrs(v6)
        ip = P.ipv6 if v6 else P.ipv4
        unreach = (1, 4) if v6 else (3, 3)
        for rule, tag in (('        ct reply zone set 6\n', "replyboth"),
                          ('        iifname "lan0" ct reply zone set 6\n        iifname "wan0" ct original zone set 6\n',
                           "wanorig"),
                          ('        iifname "lan0" ct original zone set 6\n', "origlan")):
            inner = ip(w6, s6, P.udp(5000, 53, b"q"))
            yield CtScenario(f"zdir-{'v6' if v6 else 'v4'}-icmperr-{tag}", ruleset(
                raw=rule, nat_post='        oifname "wan0" masquerade\n'), [
                lan(c6, s6, P.udp(5000, 53, b"q"), v6),
                wan(s6, w6, P.icmp_error(*unreach, inner, v6=v6), v6),
                wan(s6, w6, P.udp(53, 5000, b"a"), v6)])

    # -- TCP through masquerade with a reply-only zone on both sides / on lan only
    for rule, tag in (('        ct reply zone set 4\n', "both"), ('        iifname "lan0" ct reply zone set 4\n', "lan")):
        t = Tcp(False, 40100, 80, back=w)
        yield CtScenario(f"zdir-v4-masq-replyonly-{tag}", ruleset(
            raw=rule, nat_post='        oifname "wan0" masquerade\n'),
            t.handshake() + [t.cl(PA, b"x"), t.sv(ACK)])


FTP_HELPER = '    ct helper ftp-standard { type "ftp" protocol tcp; l3proto inet; }\n'


def ftp_scenarios():
    """FTP through masquerade: the control connection from lan in a directional zone."""
    for v6 in (False, True):
        c, s, w = addrs(v6)
        tag = "v6" if v6 else "v4"
        for mode, raw, name in (
                ("pasv", '        iifname "lan0" ct original zone set 5\n', "pasv-origlan"),
                ("pasv", '        iifname "lan0" ct reply zone set 5\n', "pasv-replylan"),
                ("port", '        iifname "lan0" ct original zone set 5\n', "port-origlan"),
                ("port", '        iifname "lan0" ct original zone set 5\n'
                         '        iifname "wan0" ct reply zone set 5\n', "port-origlan-replywan"),
                ("port", '        iifname "lan0" ct zone set 5\n'
                         '        iifname "wan0" tcp sport 20 ct reply zone set 5\n', "port-bothlan-replywan")):
            if v6 and mode == "pasv":
                mode = "epsv"
            # the helper is attached in the forward chain: one prerouting chain (raw) only,
            # since the Simulator runs all chains of a hook point on one side of conntrack
            rs = ruleset(extra=FTP_HELPER, fw='        tcp dport 21 ct helper set "ftp-standard"\n', raw=raw,
                         nat_post='        oifname "wan0" masquerade\n')
            t = Tcp(v6, 40000, 21, back=w)
            tr = t.handshake() + [t.sv(PA, b"220 hi\r\n"), t.cl(PA, b"USER a\r\n"), t.sv(PA, b"331 pw\r\n")]
            dport = 40001
            if mode == "port":
                if v6:
                    cmd = f"EPRT |2|{c}|{dport}|\r\n"
                    old, new = c, w
                    from ctnat_scenarios import _full6
                    new = _full6(w)
                else:
                    old, new = _port_text(c, dport), _port_text(w, dport)
                    cmd = f"PORT {old}\r\n"
                tr.append(t.cl(PA, cmd.encode()))
                t.c_shift += len(new) - len(old)
                tr += [t.sv(PA, b"200 ok\r\n"), t.cl(PA, b"LIST\r\n"), t.sv(PA, b"150 here\r\n")]
                tr += [wan(s, w, P.tcp(20, dport, SYN, seq=7000), v6),
                       lan(c, s, P.tcp(dport, 20, SA, seq=8000, ack=7001), v6),
                       wan(s, w, P.tcp(20, dport, PA, seq=7001, ack=8001, payload=b"listing"), v6)]
            else:
                tr.append(t.cl(PA, b"PASV\r\n" if mode == "pasv" else b"EPSV\r\n"))
                if mode == "pasv":
                    tr.append(t.sv(PA, f"227 Entering Passive Mode ({_port_text(s, dport)}).\r\n".encode()))
                else:
                    tr.append(t.sv(PA, f"229 Entering Extended Passive Mode (|||{dport}|)\r\n".encode()))
                tr += [t.cl(PA, b"LIST\r\n")]
                d = Tcp(v6, 41000, dport, back=w)
                tr += d.handshake() + [d.sv(PA, b"listing")]
            tr += [t.sv(PA, b"226 done\r\n"), t.cl(ACK)]
            yield CtScenario(f"zdir-ftp-{tag}-{name}", rs, tr)


SCENARIOS = list(nat_scenarios()) + list(ftp_scenarios())


@pytest.fixture(scope="module")
def lab():
    with CtNatLab(nat_host()) as lab:
        yield lab


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_zonedir(lab, sc):
    res = lab.run(sc)
    assert res.agree, res.report()
