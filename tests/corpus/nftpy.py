"""Reader for nftables' own ``tests/py`` data files (v1.0.6), as copied to
``/work/shared/corpus/nft-tests-py/`` -- pure Python, no nft needed.

Theory of operation
-------------------
A ``.t`` file is a script read top to bottom (format: /work/shared/corpus/README.md).
State accumulates: ``:`` lines declare chain bodies, ``*`` lines create a table with
chains, ``!``/``?``/``%`` lines add sets, elements and stateful objects to every table
created *so far*, and rule lines run in every (table, chain) created so far.  The reader
keeps that order: :func:`read_file` returns a :class:`TFile` whose ``steps`` are the
declarations and rule lines in file order, and whose :meth:`TFile.cases` expands each
rule line into one :class:`RuleCase` per (family, table, chain), each carrying what the
suite expects: accepted or not, the canonical listing, the bytecode for that family and
the JSON forms.

Bytecode lookup per family: ``NAME.t.payload.FAMILY`` first; when that file does not
exist, or has no entry for the rule, ``NAME.t.payload`` (``RuleCase.payload_source``
says which file answered).  An entry may have several ``# RULE`` headers sharing one
body; the first entry for a rule wins, as upstream's linear search does.

Example::

    from nftpy import iter_cases
    for case in iter_cases():
        if case.expect_ok and case.payload:
            print(case.family, case.rule, case.payload.exprs)
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

__all__ = [
    "SUITE_DIR",
    "ChainDecl",
    "TableDecl",
    "SetDecl",
    "ElementDecl",
    "ObjectDecl",
    "RuleLine",
    "Malformed",
    "PayloadEntry",
    "RuleCase",
    "TFile",
    "parse_t",
    "parse_payload",
    "parse_json_entries",
    "read_file",
    "suite_files",
    "iter_files",
    "iter_cases",
    "split_elements",
]

SUITE_DIR = Path(os.environ.get("PKTCORPUS_NFT_TESTS_PY", "/work/shared/corpus/nft-tests-py"))

FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class ChainDecl:
    """``:NAME;SPEC`` -- declares a chain body (empty spec = regular chain)."""

    lineno: int
    name: str
    spec: str


@dataclass(frozen=True, slots=True)
class TableDecl:
    """``*FAMILY;TABLE;CHAIN,...`` -- creates the table and its chains right away.

    ``chains`` pairs each chain name with the spec of its first ``:`` declaration
    (``""`` if never declared, which makes it a regular chain)."""

    lineno: int
    family: str
    table: str
    chains: tuple[tuple[str, str], ...]

    def commands(self) -> list[str]:
        """The nft commands upstream runs to create this table."""
        out = [f"add table {self.family} {self.table}"]
        for name, spec in self.chains:
            body = f" {{ {spec}; }}" if spec else ""
            out.append(f"add chain {self.family} {self.table} {name}{body}")
        return out


@dataclass(frozen=True, slots=True)
class SetDecl:
    """``!NAME type T[ : D][ timeout X][ flags F];ok|fail`` (``typeof`` too)."""

    lineno: int
    name: str
    keyword: str  # "type" or "typeof"
    key: str  # "ipv4_addr . inet_service"
    data: str | None  # map data type, None for a set
    timeout: str | None
    flags: str | None
    expect_ok: bool

    @property
    def is_map(self) -> bool:
        return self.data is not None

    def command(self, family: str, table: str) -> str:
        kind = "map" if self.is_map else "set"
        body = f"{self.keyword} {self.key}"
        if self.data is not None:
            body += f" : {self.data}"
        body += " ;"
        if self.timeout:
            body += f" timeout {self.timeout};"
        if self.flags:
            body += f" flags {self.flags};"
        return f"add {kind} {family} {table} {self.name} {{ {body} }}"


@dataclass(frozen=True, slots=True)
class ElementDecl:
    """``?NAME E1, E2;ok|fail`` -- ``elements`` is the raw text between name and ``;``."""

    lineno: int
    set_name: str
    elements: str
    expect_ok: bool

    def command(self, family: str, table: str) -> str:
        return f"add element {family} {table} {self.set_name} {{ {self.elements} }}"


@dataclass(frozen=True, slots=True)
class ObjectDecl:
    """``%NAME type OBJTYPE[ ARGS];ok|fail`` -- OBJTYPE may be two words (``ct helper``)."""

    lineno: int
    name: str
    objtype: str
    args: str
    expect_ok: bool

    def command(self, family: str, table: str) -> str:
        tail = f" {self.args}" if self.args else ""
        return f"add {self.objtype} {family} {table} {self.name}{tail}"


@dataclass(frozen=True, slots=True)
class RuleLine:
    """``RULE;ok[;LISTING]`` / ``RULE;fail``; ``disabled`` for ``- RULE;ok`` lines."""

    lineno: int
    rule: str
    expect_ok: bool
    listing: str | None  # the third field, None when absent
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Malformed:
    """A line upstream skips with a warning."""

    lineno: int
    text: str


Step = ChainDecl | TableDecl | SetDecl | ElementDecl | ObjectDecl | RuleLine | Malformed


# --------------------------------------------------------------------------- payload


@dataclass(frozen=True, slots=True)
class PayloadEntry:
    """One entry of a ``.payload`` file.

    ``sets``: the anonymous-set header lines (``__set%d test-ip4 3``) in order;
    ``elements``: every ``element ...`` item, in file order (compare as a multiset);
    ``header``: the ``FAMILY TABLE CHAIN`` line (upstream ignores it);
    ``exprs``: the ``[ ... ]`` lines, stripped, in order."""

    sets: tuple[str, ...]
    elements: tuple[str, ...]
    header: str | None
    exprs: tuple[str, ...]

    def lines(self) -> list[str]:
        return list(self.sets) + list(self.elements) + list(self.exprs)


_ELEMENT_RE = re.compile(r"element\b.*?(?=\s+element\b|\s*$)")


def split_elements(line: str) -> list[str]:
    """``\\telement 01  : 0 [end]\\telement 02  : 0 [end]`` -> the items, inner space
    normalised to single blanks (the suite mixes tabs and spaces)."""
    return [" ".join(m.group(0).split()) for m in _ELEMENT_RE.finditer(line.strip())]


def _parse_payload_body(lines: list[str]) -> PayloadEntry:
    sets: list[str] = []
    elements: list[str] = []
    exprs: list[str] = []
    header = None
    for raw in lines:
        s = raw.strip()
        if not s:
            continue
        if s.startswith("["):
            exprs.append(" ".join(s.split()))
        elif s.startswith("element"):
            elements.extend(split_elements(s))
        elif s.startswith(("__set", "__map", "__objmap")):
            sets.append(" ".join(s.split()))
        elif header is None:
            header = s
        else:
            # a second header: e.g. a chain dump line; keep the first one
            pass
    return PayloadEntry(tuple(sets), tuple(elements), header, tuple(exprs))


def _entries(path: Path) -> Iterator[tuple[list[str], list[str]]]:
    """Yield (headers, body lines) for a file made of ``# RULE`` headers + bodies."""
    headers: list[str] = []
    body: list[str] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if line.startswith("# "):
                if body:
                    yield headers, body
                    headers, body = [], []
                headers.append(line[2:].rstrip())
            elif line.strip() == "":
                if body:
                    yield headers, body
                    headers, body = [], []
            else:
                if headers:
                    body.append(line)
    if headers and body:
        yield headers, body


def parse_payload(path: Path) -> dict[str, PayloadEntry]:
    """Map rule text -> first entry for it (upstream searches linearly)."""
    out: dict[str, PayloadEntry] = {}
    for headers, body in _entries(path):
        entry = _parse_payload_body(body)
        for h in headers:
            out.setdefault(h, entry)
    return out


def parse_json_entries(path: Path) -> dict[str, object]:
    """Map rule text -> decoded JSON (the rule's ``expr`` array).  An entry that does
    not decode is kept as ``{"__invalid_json__": text}`` so callers can see it."""
    out: dict[str, object] = {}
    for headers, body in _entries(path):
        text = "\n".join(body)
        try:
            value: object = json.loads(text)
        except ValueError:
            value = {"__invalid_json__": text}
        for h in headers:
            out.setdefault(h, value)
    return out


# --------------------------------------------------------------------------- .t parsing


def _verdict(text: str) -> bool | None:
    t = text.strip()
    if t == "ok":
        return True
    if t == "fail":
        return False
    return None


def _parse_set(lineno: int, body: str, ok: bool) -> SetDecl | Malformed:
    # body: "NAME type T[ . T2][ : D][ timeout X][ flags F]" (without the leading "!")
    m = re.match(r"(\S+)\s+(typeof|type)\s+(.*)$", body.strip())
    if not m:
        return Malformed(lineno, "!" + body)
    name, keyword, rest = m.groups()
    flags = timeout = None
    fm = re.search(r"\s+flags\s+(.*)$", rest)
    if fm:
        flags = fm.group(1).strip()
        rest = rest[: fm.start()]
    tm = re.search(r"\s+timeout\s+(\S+)$", rest)
    if tm:
        timeout = tm.group(1)
        rest = rest[: tm.start()]
    key, data = rest.strip(), None
    if " : " in key:
        key, data = (p.strip() for p in key.split(" : ", 1))
    return SetDecl(lineno, name, keyword, key, data, timeout, flags, ok)


def _parse_object(lineno: int, text: str) -> ObjectDecl | Malformed:
    # "%NAME type OBJTYPE ARGS;V" -- with braces the verdict follows the last "}".
    if "}" in text:
        cut = text.rindex("}")
        head, tail = text[: cut + 1], text[cut + 1 :]
        v = _verdict(tail.lstrip().lstrip(";"))
    else:
        parts = text.split(";")
        head = parts[0]
        v = _verdict(parts[1]) if len(parts) >= 2 else None
    m = re.match(r"%(\S+)\s+type\s+(ct\s+\S+|\S+)\s*(.*)$", head.strip())
    if v is None or not m:
        return Malformed(lineno, text)
    name, objtype, args = m.groups()
    return ObjectDecl(lineno, name, " ".join(objtype.split()), args.strip(), v)


def parse_t(text: str) -> list[Step]:
    """Parse the text of a ``.t`` file into steps, in order."""
    steps: list[Step] = []
    declared: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        c = line[0]
        if c == ":":
            name, _, spec = line[1:].partition(";")
            name = name.strip()
            spec = spec.strip()
            declared.setdefault(name, spec)  # the first declaration is used
            steps.append(ChainDecl(lineno, name, spec))
        elif c == "*":
            parts = line[1:].split(";")
            if len(parts) != 3:
                steps.append(Malformed(lineno, line))
                continue
            fam, table, chains = (p.strip() for p in parts)
            names = [n.strip() for n in chains.split(",") if n.strip()]
            steps.append(TableDecl(lineno, fam, table, tuple((n, declared.get(n, "")) for n in names)))
        elif c == "!":
            parts = line[1:].split(";")
            v = _verdict(parts[1]) if len(parts) == 2 else None
            steps.append(Malformed(lineno, line) if v is None else _parse_set(lineno, parts[0], v))
        elif c == "?":
            parts = line[1:].split(";")
            v = _verdict(parts[1]) if len(parts) == 2 else None
            name, _, elems = parts[0].strip().partition(" ")
            if v is None or not name:
                steps.append(Malformed(lineno, line))
            else:
                steps.append(ElementDecl(lineno, name, elems.strip(), v))
        elif c == "%":
            steps.append(_parse_object(lineno, line))
        else:
            disabled = line.startswith("- ")
            body = line[2:] if disabled else line
            parts = body.split(";")
            v = _verdict(parts[1]) if len(parts) in (2, 3) else None
            if v is None:
                steps.append(Malformed(lineno, line))
                continue
            listing = parts[2].strip() if len(parts) == 3 else None
            steps.append(RuleLine(lineno, parts[0].strip(), v, listing or None, disabled))
    return steps


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True, slots=True)
class RuleCase:
    """One rule line in one (family, table, chain)."""

    file: str  # path relative to the suite dir, e.g. "ip/ip.t"
    lineno: int
    family: str
    table: str
    chain: str
    chain_spec: str  # "" for a regular chain
    rule: str
    expect_ok: bool
    listing: str | None  # expected listing (3rd field, else the rule itself); None for fail
    payload: PayloadEntry | None  # expected bytecode for this family (None if absent)
    json: object | None  # the .t.json entry (the rule's expr array)
    json_output: object | None  # the .t.json.output entry when the JSON listing differs
    payload_source: str | None = None  # which payload file answered
    disabled: bool = False

    @property
    def add_command(self) -> str:
        return f"add rule {self.family} {self.table} {self.chain} {self.rule}"

    @property
    def expected_json_listing(self) -> object | None:
        return self.json_output if self.json_output is not None else self.json


@dataclass
class TFile:
    """A parsed ``.t`` file with its payload and JSON companions."""

    path: Path
    rel: str
    steps: list[Step]
    payloads: dict[str, dict[str, PayloadEntry]] = field(default_factory=dict)  # "" = generic
    json: dict[str, object] = field(default_factory=dict)
    json_output: dict[str, object] = field(default_factory=dict)

    @property
    def tables(self) -> list[TableDecl]:
        return [s for s in self.steps if isinstance(s, TableDecl)]

    @property
    def sets(self) -> list[SetDecl]:
        return [s for s in self.steps if isinstance(s, SetDecl)]

    @property
    def elements(self) -> list[ElementDecl]:
        return [s for s in self.steps if isinstance(s, ElementDecl)]

    @property
    def objects(self) -> list[ObjectDecl]:
        return [s for s in self.steps if isinstance(s, ObjectDecl)]

    @property
    def rules(self) -> list[RuleLine]:
        return [s for s in self.steps if isinstance(s, RuleLine)]

    def payload_for(self, family: str, rule: str) -> tuple[PayloadEntry | None, str | None]:
        """Family-specific payload file first, the generic one as fallback."""
        for suffix in (family, ""):
            entries = self.payloads.get(suffix)
            if entries is not None and rule in entries:
                name = f"{self.rel}.payload" + (f".{suffix}" if suffix else "")
                return entries[rule], name
        return None, None

    def cases(self, include_disabled: bool = False) -> Iterator[RuleCase]:
        """Expand every rule line into its (family, table, chain) cases, using the
        tables created before the line."""
        tables: list[TableDecl] = []
        for step in self.steps:
            if isinstance(step, TableDecl):
                tables.append(step)
            elif isinstance(step, RuleLine):
                if step.disabled and not include_disabled:
                    continue
                for t in tables:
                    payload, source = self.payload_for(t.family, step.rule) if step.expect_ok else (None, None)
                    for chain, spec in t.chains:
                        yield RuleCase(
                            file=self.rel,
                            lineno=step.lineno,
                            family=t.family,
                            table=t.table,
                            chain=chain,
                            chain_spec=spec,
                            rule=step.rule,
                            expect_ok=step.expect_ok,
                            listing=(step.listing or step.rule) if step.expect_ok else None,
                            payload=payload,
                            json=self.json.get(step.rule) if step.expect_ok else None,
                            json_output=self.json_output.get(step.rule) if step.expect_ok else None,
                            payload_source=source,
                            disabled=step.disabled,
                        )


def read_file(path: Path | str, suite_dir: Path | None = None) -> TFile:
    path = Path(path)
    base = suite_dir or path.parent.parent
    try:
        rel = str(path.relative_to(base))
    except ValueError:
        rel = path.name
    tf = TFile(path, rel, parse_t(path.read_text(encoding="utf-8", errors="replace")))
    generic = Path(str(path) + ".payload")
    if generic.exists():
        tf.payloads[""] = parse_payload(generic)
    for fam in FAMILIES:
        p = Path(f"{path}.payload.{fam}")
        if p.exists():
            tf.payloads[fam] = parse_payload(p)
    js = Path(str(path) + ".json")
    if js.exists():
        tf.json = parse_json_entries(js)
    jo = Path(str(path) + ".json.output")
    if jo.exists():
        tf.json_output = parse_json_entries(jo)
    return tf


def suite_files(suite_dir: Path = SUITE_DIR) -> list[Path]:
    """Every ``*.t`` file, sorted -- as upstream collects them (``icmpX.t.netdev`` is
    not included: its name does not end in ``.t``)."""
    return sorted(p for p in suite_dir.glob("*/*.t") if p.is_file())


def iter_files(suite_dir: Path = SUITE_DIR) -> Iterator[TFile]:
    for p in suite_files(suite_dir):
        yield read_file(p, suite_dir)


def iter_cases(suite_dir: Path = SUITE_DIR, include_disabled: bool = False) -> Iterator[RuleCase]:
    for tf in iter_files(suite_dir):
        yield from tf.cases(include_disabled)
