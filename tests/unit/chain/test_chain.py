"""nft_do_chain semantics, hook order, load checks and stateful hooks."""

import errno
import os

import pytest
from hypothesis import given, settings, strategies as st

from pkttables.commands import run_text
from pkttables.model import Ruleset
from pkttables.packet import Packet
from pkttables.packet.packet import LinkType
from pkttables.testing import packets as P
from pkttables.vm.chain import NFT_JUMP_STACK_SIZE, LoadedRuleset, check_loops
from pkttables.vm.reject import tcp_reset
from pkttables.vm.stateful_impl import (ChainRuntime, LogEvent, QueueEvent, RejectEvent, TokenBucket)
from pkttables.stack.hooks import HookTable, HookState, Verdict as NF


def load(text):
    return run_text(text, Ruleset()).ruleset


def rt_for(text, **kw):
    return ChainRuntime(LoadedRuleset(load(text)), **kw)


def tcp4(dport, src="10.0.0.1", **kw):
    return Packet(P.ipv4(src, "10.0.0.2", P.tcp(1234, dport, **kw)), LinkType.RAW, iif="eth0")


def udp4(dport, payload=b""):
    return Packet(P.ipv4("10.0.0.1", "10.0.0.2", P.udp(1234, dport, payload)), LinkType.RAW, iif="eth0")


JUMPS = """
table inet f {
  chain leaf { tcp dport 3 accept
    tcp dport 4 return
    counter
  }
  chain mid { tcp dport 5 goto leaf
    jump leaf
    tcp dport 6 drop
  }
  chain input { type filter hook input priority 0; policy drop;
    tcp dport 1 continue
    tcp dport 1 accept
    jump mid
    tcp dport 4 accept
  }
}
"""


@pytest.mark.parametrize("dport,verdict", [
    (1, NF.ACCEPT),     # continue goes on to the next rule
    (3, NF.ACCEPT),     # accept in a jumped-to chain ends the hook
    (4, NF.ACCEPT),     # return -> back in mid -> end of mid -> back in input -> accept
    (5, NF.DROP),       # goto leaf: end of leaf returns to input (not mid) -> policy drop
    (6, NF.DROP),       # rule drop in mid after the jump came back
    (7, NF.DROP),       # policy
])
def test_jump_goto_return_policy(dport, verdict):
    rt = rt_for(JUMPS)
    assert rt.run_hook("ip", "input", tcp4(dport)).verdict == verdict


def test_counter_in_leaf_counts_only_fallthrough():
    rt = rt_for(JUMPS)
    for d in (3, 4, 5, 7, 7):
        rt.run_hook("ip", "input", tcp4(d))
    counts = rt.state.rule_counters()
    leaf = [v for k, v in counts.items() if k[2] == "leaf"]
    # 5 (goto: leaf once), 7 twice (jump from mid: leaf once each); 3 and 4 leave before
    assert leaf[0].packets == 3
    assert leaf[0].bytes == 3 * len(tcp4(5).buf)


def test_vmap_and_policy_accept():
    rt = rt_for("""table ip t {
  chain input { type filter hook input priority 0;
    tcp dport vmap { 80 : accept, 81 : drop }
  }
}""")
    assert rt.run_hook("ip", "input", tcp4(80)).verdict == NF.ACCEPT
    assert rt.run_hook("ip", "input", tcp4(81)).verdict == NF.DROP
    assert rt.run_hook("ip", "input", tcp4(82)).verdict == NF.ACCEPT


def test_interval_set_lookup():
    rt = rt_for("""table ip t {
  chain input { type filter hook input priority 0;
    ip saddr { 10.0.0.0/24, 192.168.0.1 } drop
  }
}""")
    assert rt.run_hook("ip", "input", tcp4(1, src="10.0.0.77")).verdict == NF.DROP
    assert rt.run_hook("ip", "input", tcp4(1, src="10.0.1.1")).verdict == NF.ACCEPT
    assert rt.run_hook("ip", "input", tcp4(1, src="192.168.0.1")).verdict == NF.DROP


TABLES = """
table ip a {
  chain input { type filter hook input priority 10;
    counter
  }
}
table ip b {
  chain input { type filter hook input priority -5;
    tcp dport 22 accept
    tcp dport 23 drop
  }
}
table inet c {
  chain input { type filter hook input priority 10;
    counter
  }
}
"""


def test_accept_does_not_stop_other_tables_drop_does():
    rt = rt_for(TABLES)
    lr = rt.loaded
    assert [c.table for c in lr.base_chains("ip", "input")] == ["b", "c", "a"]  # tie: later first
    assert [c.table for c in lr.base_chains("ip6", "input")] == ["c"]
    rt.run_hook("ip", "input", tcp4(22))
    rt.run_hook("ip", "input", tcp4(23))
    counts = rt.state.rule_counters()
    assert counts[("ip", "a", "input", 2)].packets == 1
    assert counts[("inet", "c", "input", 2)].packets == 1


def test_install_in_hook_table():
    rt = rt_for(TABLES)
    table = HookTable()
    rt.install(table)
    st = HookState("ip", "input", "eth0", None, 0.0)
    assert table.run("ip", "input", tcp4(23), st).verdict == NF.DROP
    assert table.run("ip", "forward", tcp4(23), st).verdict == NF.ACCEPT


def test_queue_without_listener():
    text = """table ip t {
  chain input { type filter hook input priority 0;
    tcp dport 1 queue num 3
    tcp dport 2 queue num 4 bypass
  }
}"""
    rt = rt_for(text)
    assert rt.run_hook("ip", "input", tcp4(1)).verdict == NF.DROP
    assert rt.run_hook("ip", "input", tcp4(2)).verdict == NF.ACCEPT     # bypass: next entry
    rt = rt_for(text, queue_listeners={3})
    v = rt.run_hook("ip", "input", tcp4(1))
    assert v.verdict == NF.QUEUE and v.queue_num == 3
    assert isinstance(rt.ctx.events[-1], QueueEvent)


def _ordered(n):
    # regular chains must exist before the rules that jump to them
    parts = ["table ip t {", f"  chain c{n} {{", "    accept", "  }"]
    for i in range(n - 1, -1, -1):
        parts += [f"  chain c{i} {{", f"    jump c{i + 1}", "  }"]
    parts += ["  chain input { type filter hook input priority 0;", "    jump c0", "  }", "}"]
    return "\n".join(parts) + "\n"


def test_depth_limit():
    ok = load(_ordered(NFT_JUMP_STACK_SIZE - 2))
    assert check_loops(ok) == []
    # the commands layer runs check_loops at commit now, so the deep ruleset is refused
    # while loading, with the kernel's EMLINK
    from pkttables.commands._exec import CommandError
    with pytest.raises(CommandError) as ei:
        load(_ordered(NFT_JUMP_STACK_SIZE))
    assert "Could not process rule: " + os.strerror(errno.EMLINK) in str(ei.value)


def test_loop_detected():
    # the commands layer now refuses the loop itself, so add the closing jump to the model
    rs = load("""table ip t {
  chain a {
  }
  chain b {
    jump a
  }
  chain input { type filter hook input priority 0;
    jump b
  }
}
""")
    assert check_loops(rs) == []
    from pkttables.model import Rule
    from pkttables.vm import parse_dump
    prog = parse_dump("ip t a\n  [ immediate reg 0 jump -> b ]")[0]
    rs.tables[("ip", "t")].chains["a"].rules.append(Rule(99, userdata={"program": prog}))
    diags = check_loops(rs)
    # Linux 6.18 + nft 1.0.6 say "Too many links" for a loop, not ELOOP
    assert [d.message for d in diags] == ["Could not process rule: Too many links"]


def test_limit_rate_2_per_second_burst_3():
    rt = rt_for("""table ip t {
  chain input { type filter hook input priority 0; policy drop;
    limit rate 2/second burst 3 packets accept
  }
}""")
    times = [0, 0, 0, 0, 0.4, 0.5, 0.6, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0]
    got = [rt.run_hook("ip", "input", tcp4(1), now=t).verdict == NF.ACCEPT for t in times]
    assert got == [True, True, True, False, False, True, False, True, False, True, True, True, False]


@settings(max_examples=100, deadline=None)
@given(rate=st.integers(1, 50), burst=st.integers(1, 10),
       gaps=st.lists(st.integers(0, 2_000_000_000), min_size=1, max_size=30))
def test_token_bucket_matches_reference(rate, burst, gaps):
    b = TokenBucket(rate, 1, burst, False)
    cost = 10**9 // rate
    tokens, tmax, now, last = cost * burst, cost * burst, 0, 0
    for g in gaps:
        now += g
        t = min(tokens + now - last, tmax)
        last = now
        over = t < cost
        tokens = t if over else t - cost
        assert b.over(now, 60) == over


def test_quota_until_and_over_named():
    rt = rt_for("""table ip t {
  quota q { over 100 bytes; }
  chain input { type filter hook input priority 0; policy accept;
    quota until 100 bytes counter
    quota name "q" drop
  }
}""")
    pkt_len = len(udp4(1, b"x" * 22).buf)     # 50 bytes
    vs = [rt.run_hook("ip", "input", udp4(1, b"x" * 22)).verdict for _ in range(3)]
    assert pkt_len == 50
    assert vs == [NF.ACCEPT, NF.ACCEPT, NF.DROP]   # 50, 100 (not over), 150 > 100
    assert rt.state.rule_counters()[("ip", "t", "input", 3)].packets == 2


def test_named_counter_and_log_event():
    rt = rt_for("""table ip t {
  counter c { }
  chain input { type filter hook input priority 0;
    counter name "c" log prefix "x " level info
  }
}""")
    rt.run_hook("ip", "input", tcp4(22))
    rt.run_hook("ip", "input", tcp4(22))
    c = rt.state.objects[("ip", "t", "counter", "c")]
    assert (c.packets, c.bytes) == (2, 2 * len(tcp4(22).buf))
    ev = rt.ctx.events[-1]
    assert isinstance(ev, LogEvent) and ev.level == 6
    assert ev.line.startswith("x IN=eth0 OUT= MAC= SRC=10.0.0.1 DST=10.0.0.2 ")


def test_reject_tcp_reset_event():
    rt = rt_for("""table ip t {
  chain input { type filter hook input priority 0;
    tcp dport 22 reject with tcp reset
  }
}""")
    assert rt.run_hook("ip", "input", tcp4(22, seq=1000)).verdict == NF.DROP
    ev = rt.ctx.events[-1]
    assert isinstance(ev, RejectEvent) and ev.kind == "tcp-reset"
    rst = Packet(ev.packet, LinkType.RAW)
    assert rst.verify_checksums() and all(rst.verify_checksums().values())
    assert ev.packet[12:16] == bytes([10, 0, 0, 2]) and ev.packet[16:20] == bytes([10, 0, 0, 1])
    assert ev.packet[20 + 13] == 0x14                     # RST|ACK for a SYN
    assert int.from_bytes(ev.packet[28:32], "big") == 1001  # ack = seq + SYN


def test_no_reset_for_reset():
    l3 = P.ipv4("10.0.0.1", "10.0.0.2", P.tcp(1, 2, flags=0x04))
    assert tcp_reset(l3, 4) is None


def test_numgen_inc_state_survives_packets():
    rt = rt_for("""table ip t {
  chain input { type filter hook input priority 0;
    numgen inc mod 2 vmap { 0 : accept, 1 : drop }
  }
}""")
    got = [rt.run_hook("ip", "input", tcp4(1)).verdict for _ in range(4)]
    assert got == [NF.ACCEPT, NF.DROP, NF.ACCEPT, NF.DROP]


def test_notrack_marks_packet():
    rt = rt_for("""table ip t {
  chain pre { type filter hook prerouting priority -300;
    notrack
  }
}""")
    pkt = tcp4(1)
    rt.run_hook("ip", "prerouting", pkt)
    assert pkt.ctinfo == 7


# ---------------------------------------------------------------- ct helper objects

HELPER_RULESET = """table inet t {
  ct helper ftp-standard { type "ftp" protocol tcp; l3proto ip; }
  chain pre { type filter hook prerouting priority 0;
    tcp dport 21 ct helper set "ftp-standard"
  }
}
"""


def _tracked(pkt, ct):
    ct.in_hook(pkt, "prerouting", 0.0)
    return pkt


def test_ct_helper_set_assigns_the_objects_helper():
    """nft_ct_helper_obj_eval: the object's helper goes to a new entry of its protocol
    and family; other protocols, families and confirmed entries are left alone."""
    from pkttables.conntrack import ConntrackTable
    from pkttables.testing.packets import ipv6
    rt = ChainRuntime(LoadedRuleset(load(HELPER_RULESET)), seed=1)
    ct = ConntrackTable()
    rt.ctx.conntrack = ct
    ftp = _tracked(tcp4(21), ct)
    assert rt.run_hook("ip", "prerouting", ftp).verdict == NF.ACCEPT
    assert ftp.ct.helper == "ftp"
    other = _tracked(tcp4(22), ct)
    rt.run_hook("ip", "prerouting", other)
    assert not other.ct.helper
    # l3proto ip: an IPv6 connection to port 21 gets no helper
    v6 = _tracked(Packet(P.ether("02:00:00:00:00:02", "02:00:00:00:00:01",
                                 ipv6("fd00::1", "fd00::2", P.tcp(40000, 21)))), ct)
    rt.run_hook("ip6", "prerouting", v6)
    assert not v6.ct.helper
    # without a conntrack table of its own the runtime still attaches (private table)
    rt2 = ChainRuntime(LoadedRuleset(load(HELPER_RULESET)), seed=1)
    p2 = _tracked(tcp4(21, src="10.0.0.9"), ct)
    rt2.run_hook("ip", "prerouting", p2)
    assert p2.ct.helper == "ftp"
