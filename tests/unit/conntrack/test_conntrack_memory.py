"""The compact entry layout (issue 6): lazy rare fields, tuple keys, one-second expiry
slots.  Behaviour only; the bytes per entry are measured by pkttables.conntrack.bench."""

from hypothesis import given, settings, strategies as st

from pkttables.conntrack import ConntrackTable
from pkttables.conntrack._conn import Conn
from pkttables.conntrack._tuple import Tuple, invert
from pkttables.conntrack.bench import _udp_frame
from pkttables.packet import LinkType, Packet


def _send(tab: ConntrackTable, i: int, now: float) -> Conn:
    p = Packet(_udp_frame(i), LinkType.ETHERNET, iif="lan0")
    tab.in_hook(p, "prerouting", now)
    tab.confirm(p, now)
    return p.ct


def test_rare_fields_are_allocated_only_when_set():
    t = Tuple(2, b"\x0a\0\0\1", b"\x0a\0\0\2", 17, 1000, 53)
    c = Conn(t, invert(t))
    assert c._x is None
    c.mark = 0
    c.nat = None
    assert c._x is None and c.mark == 0 and c.ext_get("helper") is None and c._x is None
    c.mark = 7
    assert c._x is not None and c.mark == 7 and c.zone == 0
    c.ext["refs"] = 2
    assert c.ext_get("refs") == 2
    assert c.tuples == (t, invert(t)) and c.tuples[1] is c.reply


def test_lookup_gives_the_direction_and_the_zone_separates():
    tab = ConntrackTable(keep_events=False)
    ct = _send(tab, 1, 0.0)
    assert tab.lookup(ct.original) == (ct, 0)
    assert tab.lookup(ct.reply) == (ct, 1)
    assert tab.lookup(ct.original, zone=3) is None
    assert tab.tuple_taken(ct.reply) and not tab.tuple_taken(ct.reply, ignored=ct)


def test_tuple_equal_to_its_inverse_is_the_reply_direction():
    # src == dst and sport == dport: both keys are one; the reply wins, as before
    t = Tuple(2, b"\x0a\0\0\1", b"\x0a\0\0\1", 17, 53, 53)
    assert invert(t) == t
    tab = ConntrackTable(keep_events=False)
    c = Conn(t, invert(t))
    c.status |= 8
    tab._insert(c, 0.0)
    assert tab.lookup(t) == (c, 1)
    assert len(tab) == 1 and tab.entries() == [c]


def test_refresh_moves_expiry_later_and_expiry_order_is_by_time_then_id():
    tab = ConntrackTable()
    a = _send(tab, 1, 0.0)       # udp_timeout 30: expires 30.0
    b = _send(tab, 2, 0.5)       # expires 30.5
    c = _send(tab, 3, 0.25)      # expires 30.25
    assert tab.expire(29.9) == 0 and len(tab) == 3
    _send(tab, 1, 20.0)          # a refreshed: 50.0, still filed in slot 30
    tab.drain_events()
    assert tab.expire(30.3) == 1 and tab.lookup(c.original) is None
    assert tab.expire(31.0) == 1 and tab.lookup(b.original) is None
    assert tab.lookup(a.original) == (a, 0)
    assert tab.expire(49.99) == 0
    assert tab.expire(50.0) == 1 and len(tab) == 0
    ids = [e.conn_id for e in tab.drain_events() if e.type.name == "DESTROY"]
    assert ids == [c.id, b.id, a.id]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 400)), min_size=1, max_size=25),
       st.integers(0, 1000))
def test_expiry_index_matches_exact_expiry(ops, end):
    """Whatever the refresh pattern, an entry lives exactly until its expiry."""
    tab = ConntrackTable(keep_events=False)
    conns = {}
    now = 0.0
    for flow, dt in sorted(ops, key=lambda o: o[1]):
        now = max(now, dt / 4)
        conns[flow] = _send(tab, flow, now)
    check = max(now, end / 4)
    tab.expire(check)
    for ct in set(conns.values()):
        alive = tab.lookup(ct.original) is not None
        assert alive == (ct.expires > check), (ct.expires, check)
