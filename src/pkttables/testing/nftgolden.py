"""Golden answers of the real ``nft`` 1.0.6: capture them once, compare against them always.

Why here and not under tests/: the capture side needs root, ``ip netns`` and the real
``nft``, like the rest of the kernel harness in this package; the compare side is used by
test modules in three folders (tests/unit/evaluate, lang, commands) and by capture scripts
run as plain ``python tests/unit/.../capture_x.py``.  A module of the installed package
is importable from all of them without editing ``sys.path``.

Theory of operation
-------------------
Two kinds of golden file exist, both JSON:

* **command goldens** (``files=False``): one namespace holds ``setup`` (tables, chains,
  sets), then every case -- one command line -- is checked with
  ``nft --debug=netlink -c`` in it.  The file is ``{"setup": ..., "cases": {case:
  {"rc", "stdout", "stderr"}}}``; stdout carries nft's set declarations and bytecode.
  ``command`` is a text put before every case when it is run (``"add rule "`` for a
  golden keyed by the rule alone).
* **file goldens** (``files=True``): every case is ``(name, setup, text)``; a fresh
  namespace holds that case's setup, and ``text`` is written to ``b.nft`` and checked
  with ``nft -c -f b.nft`` from its folder.  The file is ``{name: {"setup", "text",
  "rc", "stderr"}}``.

:class:`CommandGolden` and :class:`FileGolden` load those files and answer each case
the way nft would print it, from ``run_text``: a :class:`~pkttables.errors.PktError`
becomes rc 1 and its rendering on stderr.  The comparisons keep the quirks of nft's
output as small parameters:

* a refused command: nft may print its bytecode before the kernel refuses it, we stop
  at the error, so the wanted stdout is blanked and rc is 1 (nft's rc is 1 too);
* ``blank_stdout``: command prefixes whose stdout is not compared (nft's
  ``--debug=netlink`` dumps the element batch of ``add element``; we print none);
* ``known``: cases where we knowingly differ, as *strict* xfails, so a fix that makes
  one agree fails until it leaves the list.

Capture scripts keep their case lists and call :func:`capture`; the namespace name is
``<prefix><pid>`` and the namespace is always deleted.  ``PKTTABLES_NS_PREFIX`` in the
environment replaces the script's prefix (for a re-run by someone given another one).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pkttables.commands import Options, run_text
from pkttables.errors import HarnessError, PktError
from pkttables.model import Ruleset

__all__ = ["capture", "capture_listing", "answer", "file_answer", "tables_setup", "NAT_SETUP", "CommandGolden",
           "FileGolden", "ListingGolden"]

FileCase = tuple[str, str, str]  # (name, setup, file text)

FAMILIES = ("ip", "ip6", "inet", "bridge", "netdev", "arp")

# nat base chains of the families that have them, an input chain and a dynamic set: the
# setup the language-error rounds (golden_langerr4..6) share
NAT_SETUP = (
    "add chain ip t n { type nat hook prerouting priority dstnat; }",
    "add chain ip6 t n { type nat hook prerouting priority dstnat; }",
    "add chain inet t n { type nat hook prerouting priority dstnat; }",
    "add chain inet t i { type filter hook input priority 0; }",
    "add set ip t s { type ipv4_addr; flags dynamic,timeout; }",
)


def tables_setup(*extra: str) -> str:
    """A table ``t`` with a chain ``c`` in every family, then ``extra`` commands, as one
    command line (the text is recorded in the golden, so keep it stable)."""
    return "; ".join([f"add table {f} t; add chain {f} t c" for f in FAMILIES] + list(extra))


# --- capture (root, ip netns, nft) ---------------------------------------------------

def _ns(*argv: str, check: bool = True, cwd: str | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, cwd=cwd, check=check)
    except subprocess.CalledProcessError as e:
        raise HarnessError(f"{' '.join(argv)!r} failed (rc {e.returncode}): {e.stderr.strip()}") from None
    except FileNotFoundError as e:
        raise HarnessError(f"{argv[0]!r} is not installed: {e}") from None


class _Netns:
    """``ip netns add`` on enter, ``ip netns delete`` on exit (whatever happened)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> _Netns:
        _ns("ip", "netns", "add", self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        _ns("ip", "netns", "delete", self.name, check=False)

    def nft(self, *args: str, check: bool = False, cwd: str | None = None) -> subprocess.CompletedProcess:
        return _ns("ip", "netns", "exec", self.name, "nft", *args, check=check, cwd=cwd)


def _capture_commands(cases: Iterable[str], setup: str, ns: str, command: str) -> dict:
    out = {}
    with _Netns(ns) as n:
        n.nft(setup, check=True)
        for c in cases:
            p = n.nft("--debug=netlink", "-c", command + c)
            out[c] = {"rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr}
    return {"setup": setup, "cases": out}


def _capture_files(cases: Iterable[FileCase], ns: str) -> dict:
    out = {}
    for name, setup, text in cases:
        # a fresh namespace per file: a file that gets through must not change the next one
        with _Netns(ns) as n:
            if setup:
                n.nft(setup, check=True)
            with tempfile.TemporaryDirectory() as d:
                (Path(d) / "b.nft").write_text(text)
                p = n.nft("-c", "-f", "b.nft", cwd=d)
        out[name] = {"setup": setup, "text": text, "rc": p.returncode, "stderr": p.stderr}
    return out


def capture(cases: Sequence[str] | Sequence[FileCase], setup: str, out_path: Path | str, prefix: str, *,
            files: bool = False, command: str = "", sort_keys: bool = True,
            ensure_ascii: bool = True) -> dict:
    """Ask the real nft about every case and write the golden JSON to ``out_path``.

    ``files=False``: ``cases`` are command lines checked in one namespace holding
    ``setup``; ``files=True``: ``cases`` are ``(name, setup, text)`` and ``setup`` is
    not used.  ``sort_keys``/``ensure_ascii`` are the json.dumps options the file was
    first written with (so a re-run is byte-identical).  Needs root, ``ip`` and ``nft``;
    raises :class:`HarnessError` when the namespace or the setup cannot be made."""
    ns = f"{os.environ.get('PKTTABLES_NS_PREFIX') or prefix}{os.getpid()}"
    data = _capture_files(cases, ns) if files else _capture_commands(cases, setup, ns, command)
    Path(out_path).write_text(json.dumps(data, indent=1, sort_keys=sort_keys, ensure_ascii=ensure_ascii) + "\n")
    return data


def capture_listing(cases: Iterable[str], setup: str, out_path: Path | str, prefix: str, *,
                    numeric: bool = False) -> dict:
    """Add each case (``family table chain rule``) to its chain, flushed first, and write
    a listing golden (see the module docstring) to ``out_path``.  Needs what
    :func:`capture` needs."""
    ns = f"{os.environ.get('PKTTABLES_NS_PREFIX') or prefix}{os.getpid()}"
    data: dict = {"setup": setup, "cases": {}}

    def last_rule_line(*args: str) -> str | None:
        # the rule lines of `nft list chain` are the ones indented by two tabs
        p = n.nft(*args)
        lines = [x.strip() for x in p.stdout.splitlines() if x.startswith("\t\t")]
        return lines[-1] if lines and not p.returncode else None

    with _Netns(ns) as n:
        n.nft(setup, check=True)
        for c in cases:
            fam, table, chain, _ = c.split(" ", 3)
            n.nft(f"flush chain {fam} {table} {chain}")
            if n.nft(f"add rule {c}").returncode:
                continue
            line = last_rule_line("list", "chain", fam, table, chain)
            if line is None:
                # nft cannot list it (`ip saddr . @ih,32,45 { … }`: an assertion in
                # concat_expr_msort_value aborts it): nothing to compare
                continue
            entry = {"listing": line}
            if numeric:
                entry["listing_n"] = last_rule_line("-n", "list", "chain", fam, table, chain)
            js = json.loads(n.nft("-j", "list", "chain", fam, table, chain).stdout)
            entry["json"] = [o["rule"]["expr"] for o in js["nftables"] if "rule" in o][-1]
            data["cases"][c] = entry
    Path(out_path).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return data


# --- compare (no privileges) ---------------------------------------------------------

def answer(cmd: str, base: Ruleset) -> dict[str, Any]:
    """What ``nft --debug=netlink -c CMD`` would print on a ruleset ``base``, as
    ``{"rc", "stdout", "stderr"}``."""
    try:
        res = run_text(cmd, base, Options(debug={"netlink"}))
    except PktError as e:
        return {"rc": 1, "stdout": "", "stderr": e.render() + "\n"}
    return {"rc": 0, "stdout": res.output, "stderr": ""}


def file_answer(setup: str, text: str) -> tuple[int, str]:
    """What ``nft -c -f b.nft`` would answer (rc, stderr) after ``setup``."""
    rs = run_text(setup, Ruleset()).ruleset if setup else Ruleset()
    try:
        run_text(text, rs, Options(dry_run=True), filename="b.nft")
    except PktError as e:
        return 1, e.render() + "\n"
    return 0, ""


def compare(got: dict[str, Any], want: Mapping[str, Any], cmd: str,
            blank_stdout: Sequence[str] = ("add element",)) -> tuple[dict, dict]:
    """``(got, want)`` with nft's output quirks taken out (see the module docstring)."""
    got, want = dict(got), dict(want)
    if want["rc"]:
        # nft prints the bytecode before the kernel refuses it; we stop at the error
        want["rc"], want["stdout"] = 1, ""
    if cmd.startswith(tuple(blank_stdout)):
        # nft's --debug=netlink dumps the elements it sends; ours prints no element batch
        want["stdout"] = got["stdout"] = ""
    return got, want


def _params(names: Iterable[str], known: Mapping[str, str]) -> list:
    import pytest  # only the test side needs it; pkttables does not depend on pytest

    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=known[n])) if n in known else n
            for n in sorted(names)]


class _SetupGolden:
    """A golden of ``{"setup", "cases"}`` and the ruleset its setup builds (the command
    and listing goldens)."""

    def __init__(self, path: Path | str, *, known: Iterable[str] | Mapping[str, str] = ()) -> None:
        self.data = json.loads(Path(path).read_text())
        self.cases: dict[str, dict] = self.data["cases"]
        self.known = dict(known) if isinstance(known, Mapping) else dict.fromkeys(known, "known difference")
        self._base: Ruleset | None = None

    def base(self) -> Ruleset:
        """The setup ruleset, built once (run_text never changes its ``base``)."""
        if self._base is None:
            self._base = run_text(self.data["setup"], Ruleset()).ruleset
        return self._base

    def params(self) -> list:
        """The case keys for ``parametrize``, ``known`` ones as strict xfails."""
        return _params(self.cases, self.known)


class CommandGolden(_SetupGolden):
    """A command golden (``{"setup", "cases"}``) and the ruleset its setup builds."""

    def __init__(self, path: Path | str, *, known: Iterable[str] | Mapping[str, str] = (),
                 command: str = "", blank_stdout: Sequence[str] = ("add element",)) -> None:
        super().__init__(path, known=known)
        self.command = command
        self.blank_stdout = tuple(blank_stdout)

    def answer(self, case: str) -> dict[str, Any]:
        return answer(self.command + case, self.base())

    def compare(self, case: str) -> tuple[dict, dict]:
        """``(got, want)`` for one case; the test asserts them equal."""
        return compare(self.answer(case), self.cases[case], self.command + case, self.blank_stdout)


class FileGolden:
    """A file golden (``{name: {"setup", "text", "rc", "stderr"}}``)."""

    def __init__(self, path: Path | str, *, known: Mapping[str, str] | None = None) -> None:
        self.cases: dict[str, dict] = json.loads(Path(path).read_text())
        self.known = dict(known or {})

    def params(self) -> list:
        return _params(self.cases, self.known)

    def compare(self, name: str) -> tuple[tuple[int, str], tuple[int, str]]:
        case = self.cases[name]
        return file_answer(case["setup"], case["text"]), (case["rc"], case["stderr"])


class ListingGolden(_SetupGolden):
    """A listing golden (:func:`capture_listing`): our listing line, ``-n`` line and
    ``-j`` expressions of each case's rule, added to the setup ruleset, against nft's."""

    def ours(self, case: str) -> dict[str, Any]:
        """``{"listing", "listing_n", "json"}`` as we print the rule ``add rule CASE``
        adds (the lines stripped, as the golden's)."""
        from pkttables.render import ListOptions
        from pkttables.render import text as T
        from pkttables.render.json_output import rule_obj_json

        fam, table, chain, _ = case.split(" ", 3)
        rs = run_text(f"add rule {case}", self.base()).ruleset
        t, c = rs.table(fam, table), rs.chain(fam, table, chain)
        rule = list(c.rules)[-1]
        plain = ListOptions.from_flags("")
        return {"listing": T.rule_line(rule, fam, plain, t).strip(),
                "listing_n": T.rule_line(rule, fam, ListOptions.from_flags("-n"), t).strip(),
                "json": rule_obj_json(rule, c, t, plain)["rule"]["expr"]}

    def compare(self, case: str, key: str) -> tuple[Any, Any]:
        """``(ours, nft's)`` of one ``key`` (``listing``, ``listing_n`` or ``json``)."""
        return self.ours(case)[key], self.cases[case][key]
