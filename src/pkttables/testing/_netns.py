"""Network-namespace plumbing for the kernel oracle (private).

Theory of operation
-------------------
A network namespace is entered per *thread* with ``setns(fd, CLONE_NEWNET)`` (see
setns(2)); Python 3.11 has no ``os.setns``, so libc's is called through ctypes.  While
the calling thread is inside a namespace:

* sockets it creates belong to that namespace for their whole life, even after the
  thread goes back (the kernel pins ``sock_net(sk)`` at creation) -- so the capture and
  injection sockets of every namespace can live in this one process;
* files under ``/proc/sys/net`` that it opens are that namespace's sysctls (the net
  sysctl tables are looked up through ``current->nsproxy->net_ns``);
* children it forks inherit the thread's namespace, so ``nft``, ``conntrack``, ``ip`` and
  ``ethtool`` run inside it without ``ip netns exec`` (which also unshares a mount
  namespace and remounts /sys -- none of these tools needs that).

:func:`in_netns` does the enter/leave in a ``try/finally``; the thread always returns to
the namespace it started in.  Namespaces are named ``PREFIX<pid>x<counter>...`` and
mounted under ``/run/netns`` exactly as ``ip netns add`` mounts them, so ``ip netns``
lists them and :func:`sweep_stale` can delete the ones whose owner process died.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import re
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator, Sequence

from pkttables.errors import HarnessError

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_libc.setns.argtypes = (ctypes.c_int, ctypes.c_int)
_libc.setns.restype = ctypes.c_int


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the body with this thread inside namespace ``name``; always come back."""
    try:
        target = os.open(os.path.join(NETNS_RUN_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise HarnessError(f"network namespace {name}: {e.strerror}") from None
    try:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
            try:
                yield
            finally:
                # Going home must not be skipped; a failure here would leave the test
                # process inside a lab namespace, so it is fatal.
                _setns(home)
        finally:
            os.close(home)
    finally:
        os.close(target)


class Deadline:
    """A point in monotonic time that every step of a lab run must finish before."""

    __slots__ = ("end", "what")

    def __init__(self, seconds: float, what: str = "kernel lab"):
        self.end = time.monotonic() + seconds
        self.what = what

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self, step: str) -> float:
        left = self.remaining()
        if left <= 0:
            raise HarnessError(f"{self.what}: total timeout exceeded during {step}")
        return left


def run(cmd: Sequence[str], deadline: Deadline, *, input: str | None = None,
        cap: float = 10.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (in the calling thread's namespace) bounded by ``deadline``."""
    left = deadline.check(cmd[0])
    try:
        r = subprocess.run(list(cmd), input=input, capture_output=True, text=True,
                           timeout=min(left, cap))
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{' '.join(cmd)}: timed out") from None
    except FileNotFoundError:
        raise HarnessError(f"{cmd[0]}: command not found") from None
    if check and r.returncode != 0:
        msg = r.stderr.strip()
        m = re.search(r"Command failed -:(\d+)", msg)
        if m and input is not None:
            # ip -batch names the failing line by number; show the line itself.
            lines = input.splitlines()
            n = int(m.group(1))
            if 0 < n <= len(lines):
                msg += f" (line {n}: {lines[n - 1]!r})"
        raise HarnessError(f"{' '.join(cmd[:6])}{' ...' if len(cmd) > 6 else ''} failed "
                           f"(exit {r.returncode}): {msg}")
    return r


def add_netns(names: Sequence[str], deadline: Deadline) -> None:
    """Create the namespaces with one ``ip -batch`` (one fork for all of them)."""
    run(["ip", "-batch", "-"], deadline, input="".join(f"netns add {n}\n" for n in names))


def del_netns(names: Sequence[str]) -> list[str]:
    """Delete namespaces; never raises.  Returns the ones that could not be deleted."""
    left = [n for n in names if os.path.exists(os.path.join(NETNS_RUN_DIR, n))]
    if not left:
        return []
    with contextlib.suppress(Exception):
        subprocess.run(["ip", "-force", "-batch", "-"], capture_output=True, text=True,
                       input="".join(f"netns del {n}\n" for n in left), timeout=10)
    failed = []
    for n in left:
        path = os.path.join(NETNS_RUN_DIR, n)
        if os.path.exists(path):
            # What `ip netns del` does, done by hand: lazy-unmount the bind mount, unlink.
            with contextlib.suppress(Exception):
                subprocess.run(["umount", "-l", path], capture_output=True, timeout=5)
            with contextlib.suppress(OSError):
                os.unlink(path)
            if os.path.exists(path):
                failed.append(n)
    return failed


def list_netns(prefix: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(NETNS_RUN_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(prefix: str) -> list[str]:
    """Delete ``PREFIX<pid>x...`` namespaces whose owner pid no longer exists."""
    pat = re.compile(re.escape(prefix) + r"(\d+)x")
    stale = []
    for n in list_netns(prefix):
        m = pat.match(n)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            stale.append(n)
    if stale:
        del_netns(stale)
    return stale


def sysctl_path(name: str) -> str:
    """``net.ipv4.conf.eth0.rp_filter`` -> ``/proc/sys/net/ipv4/conf/eth0/rp_filter``.

    Interface names may contain dots (``eth0.100``); sysctl(8) spells those with ``/``
    (``net.ipv4.conf.eth0/100.rp_filter``) and so do we: ``/`` and ``.`` swap.
    """
    return "/proc/sys/" + name.replace(".", "\0").replace("/", ".").replace("\0", "/")


def write_sysctl(name: str, value: int | str, *, missing_ok: bool = False) -> None:
    """Write one sysctl of the calling thread's namespace."""
    path = sysctl_path(name)
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except FileNotFoundError:
        if missing_ok:
            return
        raise HarnessError(f"sysctl {name}: no such key in this kernel ({path})") from None
    except OSError as e:
        raise HarnessError(f"sysctl {name} = {value}: {e.strerror}") from None


def read_sysctl(name: str) -> str:
    with open(sysctl_path(name)) as f:
        return f.read().strip()


# --- offloads -------------------------------------------------------------------------
# Without these a veth hands CHECKSUM_PARTIAL skbs across, and a capture shows the
# kernel's own TCP resets and ICMP errors with unfinished checksums (and GSO super-frames).
ETHTOOL_FEATURES = ("rx", "tx", "sg", "tso", "gso", "gro", "lro", "rxvlan", "txvlan",
                    "rx-gro-list", "rx-udp-gro-forwarding", "tx-udp-segmentation")
_ETHTOOL = shutil.which("ethtool")

# linux/ethtool.h legacy per-feature commands (struct ethtool_value {u32 cmd, data}).
ETHTOOL_SRXCSUM = 0x15
ETHTOOL_STXCSUM = 0x17
ETHTOOL_SSG = 0x19
ETHTOOL_STSO = 0x1F
ETHTOOL_SGSO = 0x24
ETHTOOL_SGRO = 0x2C
SIOCETHTOOL = 0x8946


def _ethtool_ioctl(ifname: str) -> None:
    """Offloads off through SIOCETHTOOL, for machines without the ethtool binary."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for cmd in (ETHTOOL_SGRO, ETHTOOL_SGSO, ETHTOOL_STSO, ETHTOOL_SSG,
                    ETHTOOL_STXCSUM, ETHTOOL_SRXCSUM):
            val = ctypes.create_string_buffer(struct.pack("II", cmd, 0))
            ifr = struct.pack("16sP", ifname.encode(), ctypes.addressof(val))
            try:
                fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
            except OSError as e:
                if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise HarnessError(f"SIOCETHTOOL {ifname} cmd {cmd:#x}: {e.strerror}") from None


def offloads_off(ifnames: Sequence[str], deadline: Deadline) -> None:
    """Turn checksum/segmentation/GRO offloads off (in the calling thread's namespace)."""
    for ifname in ifnames:
        if _ETHTOOL:
            args = [_ETHTOOL, "-K", ifname]
            for feat in ETHTOOL_FEATURES:
                args += [feat, "off"]
            if run(args, deadline, check=False).returncode == 0:
                continue
        # No binary, or an older one that does not know one of the names: the legacy
        # ioctls cover the features that matter (csum, sg, tso, gso, gro).
        _ethtool_ioctl(ifname)
