"""The kernel's ICMP rate limits, in jiffies of the injected clock.

Three limiters decide whether an ICMP error leaves (net/ipv4/icmp.c, net/ipv6/icmp.c,
net/ipv4/inetpeer.c, net/ipv4/route.c):

* the global credit (``icmp_global_allow()``): up to ``icmp_msgs_burst`` (50) credits,
  refilled at ``icmp_msgs_per_sec`` (1000/s) when at least HZ/50 passed; each error that
  is sent consumes a random 0, 1 or 2 credits (``icmp_global_consume()``) -- drawn from
  the engine's seeded generator;
* a token bucket per destination (``inet_peer_xrlim_allow()``): tokens are jiffies,
  capped at 6 x timeout (XRLIM_BURST_FACTOR), one message costs ``timeout``
  (``icmp_ratelimit``, 1000 ms; for IPv6 ``icmp/ratelimit`` shifted right by
  (128 - route prefix length) >> 5, "more bandwidth to wider prefixes").  A new peer
  starts with ``rate_last = now - 60 s``, so its first burst is full: 6 errors, then one
  per second;
* routing errors (``ip_error()``) and redirects (``ip_rt_send_redirect()``) use the same
  peer's fields: ``ip_error`` costs HZ from a 5 x HZ bucket before ``icmp_send`` even
  runs, so "net unreachable" to one host gives 2 errors, then one every 2 s.

Only the types in ``icmp_ratemask`` (default 0x1818: unreachable, source quench, time
exceeded, parameter problem; fragmentation-needed never) and, for IPv6, in
``icmp/ratemask`` (0-1, 3-127: errors except packet too big) are limited; errors sent
to a loopback destination are not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

HZ = 250                      # CONFIG_HZ of the kernel the oracle runs (6.18, HZ=250)
XRLIM_BURST_FACTOR = 6
ICMP_RATEMASK_DEFAULT = 0x1818
ICMP6_RATEMASK_DEFAULT = frozenset(range(0, 2)) | frozenset(range(3, 128))


def msecs_to_jiffies(ms: int, hz: int = HZ) -> int:
    return -(-ms * hz // 1000)


@dataclass(slots=True)
class Peer:
    """The rate fields of one ``struct inet_peer``."""
    rate_tokens: int
    rate_last: int
    n_redirects: int = 0


class RateLimiter:
    """Global credit and per-peer buckets of one network namespace."""

    def __init__(self, rng: random.Random, *, hz: int = HZ, msgs_per_sec: int = 1000,
                 msgs_burst: int = 50, ratelimit_ms: int = 1000, ratemask: int = ICMP_RATEMASK_DEFAULT,
                 ratelimit6_ms: int = 1000, ratemask6: frozenset[int] = ICMP6_RATEMASK_DEFAULT):
        self.rng = rng
        self.hz = hz
        self.msgs_per_sec = msgs_per_sec
        self.msgs_burst = msgs_burst
        self.timeout4 = msecs_to_jiffies(ratelimit_ms, hz)
        self.timeout6 = msecs_to_jiffies(ratelimit6_ms, hz)
        self.ratemask = ratemask
        self.ratemask6 = ratemask6
        self.credit = 0
        self.stamp: int | None = None
        self.peers: dict[tuple[int, bytes], Peer] = {}

    def jiffies(self, now: float) -> int:
        # A large offset so that "now - 60 s" stays positive, as jiffies start high.
        return int(now * self.hz) + 300 * self.hz

    def peer(self, version: int, addr: bytes, j: int) -> Peer:
        p = self.peers.get((version, addr))
        if p is None:
            # inet_getpeer(): 60 s in the past, so the first bucket is full.
            p = self.peers[(version, addr)] = Peer(0, j - 60 * self.hz)
        return p

    @staticmethod
    def xrlim_allow(p: Peer, timeout: int, j: int) -> bool:
        """inet_peer_xrlim_allow()."""
        token = p.rate_tokens + (j - p.rate_last)
        p.rate_last = j
        token = min(token, XRLIM_BURST_FACTOR * timeout)
        ok = token >= timeout
        if ok:
            token -= timeout
        p.rate_tokens = token
        return ok

    def global_allow(self, j: int) -> bool:
        """icmp_global_allow()."""
        if self.credit > 0:
            return True
        old = self.stamp if self.stamp is not None else j - self.hz
        delta = min(j - old, self.hz)
        if delta < self.hz // 50:
            return False
        incr = self.msgs_per_sec * delta // self.hz
        if not incr:
            return False
        self.stamp = j
        self.credit = min(self.credit + incr, self.msgs_burst)
        return True

    def global_consume(self) -> None:
        """icmp_global_consume(): 0, 1 or 2 credits at random (may go negative)."""
        self.credit -= self.rng.randrange(3)

    def allow4(self, type_: int, code: int, daddr: bytes, now: float, *, loopback: bool = False) -> bool:
        """icmpv4_global_allow() + icmpv4_xrlim_allow() (+ consume) for one error."""
        if type_ > 18 or (type_ == 3 and code == 4) or not (1 << type_) & self.ratemask:
            return True
        j = self.jiffies(now)
        if not self.global_allow(j):
            return False
        if not loopback and not self.xrlim_allow(self.peer(4, daddr, j), self.timeout4, j):
            return False
        self.global_consume()
        return True

    def allow6(self, type_: int, daddr: bytes, route_plen: int, now: float, *, loopback: bool = False) -> bool:
        """icmpv6_global_allow() + icmpv6_xrlim_allow() (+ consume)."""
        if type_ > 255 or type_ not in self.ratemask6:
            return True
        j = self.jiffies(now)
        if not self.global_allow(j):
            return False
        if not loopback:
            tmo = self.timeout6
            if route_plen < 128:
                tmo >>= (128 - route_plen) >> 5
            if not self.xrlim_allow(self.peer(6, daddr, j), tmo, j):
                return False
        self.global_consume()
        return True

    def ip_error_allow(self, saddr: bytes, now: float) -> bool:
        """ip_error()'s own bucket: cost HZ, burst 5 x HZ, in the same inet_peer."""
        j = self.jiffies(now)
        p = self.peer(4, saddr, j)
        p.rate_tokens += j - p.rate_last
        p.rate_tokens = min(p.rate_tokens, 5 * self.hz)
        p.rate_last = j
        if p.rate_tokens >= self.hz:
            p.rate_tokens -= self.hz
            return True
        return False

    def redirect_allow(self, saddr: bytes, now: float) -> bool:
        """ip_rt_send_redirect(): at most 9 (ip_rt_redirect_number) redirects, spaced by
        HZ/50 << n; 20 s (HZ/50 << 10) of silence resets the count."""
        j = self.jiffies(now)
        p = self.peer(4, saddr, j)
        load = self.hz // 50
        if j - p.rate_last > load << 10:
            p.rate_tokens = 0
            p.n_redirects = 0
        if p.n_redirects >= 9:
            p.rate_last = j
            return False
        if p.n_redirects == 0 or j - (p.rate_last + (load << p.n_redirects)) > 0:
            p.rate_last = j
            p.n_redirects += 1
            return True
        return False
