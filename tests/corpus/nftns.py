"""Drive the real nft 1.0.6 inside a private network namespace, fast.

Theory of operation
-------------------
Spawning ``ip netns exec NS nft ...`` costs ~10 ms per call; the corpus needs tens of
thousands of calls.  So :class:`NftLab` creates a namespace ``pktcorpus<pid>[-n]`` (lo
up, a dummy ``dum0`` and a veth pair ``veth0``/``veth1``, down, for device-bound
chains and flowtables), then starts *one* worker, ``ip netns exec NS python3 nftns.py --worker``,
which loads libnftables (the library the ``nft`` binary is a thin wrapper of: the CLI
joins its arguments with blanks and calls ``nft_run_cmd_from_buffer``) with ctypes and
answers JSON-line requests: ``{"cmd": TEXT, "flags": N, "debug": N}`` ->
``{"rc": 0|1, "out": STDOUT, "err": STDERR}``.  ``rc`` is the exit code the CLI would
return (``EXIT_FAILURE`` = 1 on any error).  If nft aborts (an assertion: the CLI
would exit 134) the worker dies; the lab reports rc 134 and starts a new worker.

Listings are taken with the real CLI (:meth:`NftLab.cli`), so option spelling (``-nn``,
``-s``, ``-a``, ``-t``, ``-j``) is exactly the binary's.  The namespace is always
deleted (``finally``).
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from typing import Any

# enum nft_debug_level / nft_output_flags (include/nftables/libnftables.h, nft 1.0.6)
NFT_DEBUG_NETLINK = 0x8
OUT_SERVICE = 1 << 1
OUT_STATELESS = 1 << 2
OUT_HANDLE = 1 << 3
OUT_JSON = 1 << 4
OUT_ECHO = 1 << 5
OUT_NUMERIC_ALL = (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10)
OUT_TERSE = 1 << 11

_counter = 0


def _run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, **kw)


class NftLab:
    """A namespace plus a libnftables worker inside it.  Use as a context manager."""

    def __init__(self, prefix: str = "pktcorpus") -> None:
        global _counter
        _counter += 1
        self.ns = f"{prefix}{os.getpid()}-{_counter}"
        self.proc: subprocess.Popen[str] | None = None
        self.restarts = 0

    # -- lifecycle
    def __enter__(self) -> "NftLab":
        r = _run(["ip", "netns", "add", self.ns])
        if r.returncode != 0:
            raise RuntimeError(f"ip netns add {self.ns}: {r.stderr.strip()}")
        try:
            for argv in (
                ["ip", "link", "set", "lo", "up"],
                # dum0 and the veth pair stay down: up, they would send IPv6 DAD/MLD
                # packets through the output hooks and make counters and quotas
                # differ from run to run
                ["ip", "link", "add", "dum0", "type", "dummy"],
                ["ip", "link", "add", "veth0", "type", "veth", "peer", "name", "veth1"],
            ):
                _run(["ip", "netns", "exec", self.ns, *argv])
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
            self.proc = None
        _run(["ip", "netns", "del", self.ns])

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, sys.executable, os.path.abspath(__file__), "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
            env={**os.environ, "TZ": "UTC-2", "LC_ALL": "C"},
        )

    # -- requests
    def cmd(self, text: str, flags: int = 0, debug: int = 0) -> tuple[int, str, str]:
        """Run one nft command buffer as the CLI would: (exit code, stdout, stderr)."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(json.dumps({"cmd": text, "flags": flags, "debug": debug}) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            # nft aborted (assertion): what the CLI reports as exit status 134
            self.proc.wait()
            self.restarts += 1
            self._start()
            return 134, "", ""
        r = json.loads(line)
        return r["rc"], r["out"], r["err"]

    def cli(self, *args: str, stdin: str | None = None, cwd: str | None = None) -> tuple[int, str, str]:
        """The real ``nft`` binary in the namespace (for listings and ``-f``)."""
        r = _run(["ip", "netns", "exec", self.ns, "nft", *args], input=stdin, cwd=cwd,
                 env={**os.environ, "TZ": "UTC-2", "LC_ALL": "C"})
        # killed by a signal (SIGABRT on an assertion): report it as a shell would (128+n)
        rc = 128 - r.returncode if r.returncode < 0 else r.returncode
        return rc, r.stdout, r.stderr

    def reset(self) -> None:
        self.cmd("flush ruleset")


# --------------------------------------------------------------------------- worker


def _worker() -> None:
    lib = ctypes.CDLL("libnftables.so.1")
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
        getattr(lib, name).restype = ctypes.c_char_p
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error", "nft_ctx_unbuffer_output",
                 "nft_ctx_unbuffer_error"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.nft_ctx_output_set_debug.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.nft_ctx_free.argtypes = [ctypes.c_void_p]

    ctx = lib.nft_ctx_new(0)
    for line in sys.stdin:
        req = json.loads(line)
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        lib.nft_ctx_output_set_flags(ctx, req.get("flags", 0))
        lib.nft_ctx_output_set_debug(ctx, req.get("debug", 0))
        rc = lib.nft_run_cmd_from_buffer(ctx, req["cmd"].encode())
        out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode(errors="replace")
        err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace")
        # unbuffering frees the buffers; the next request starts clean
        lib.nft_ctx_unbuffer_output(ctx)
        lib.nft_ctx_unbuffer_error(ctx)
        sys.stdout.write(json.dumps({"rc": 1 if rc else 0, "out": out, "err": err}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__" and "--worker" in sys.argv:
    _worker()
