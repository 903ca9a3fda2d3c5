"""Read the nft v1.0.6 tests/py suite (/work/shared/corpus/nft-tests-py) into command texts.

Each case is (source_file, lineno, kind, ok, command_text).  kind is rule, listing,
set, element or object; the command text is what the upstream runner hands nft
(see /work/shared/corpus/README.md)."""

from __future__ import annotations

import glob
import os

CORPUS = "/work/shared/corpus/nft-tests-py"


def _split_obj(line: str):
    # "%NAME type OBJ ARGS;V" -- with braces the verdict follows the last '}' and its ';'.
    if "}" in line:
        body, _, rest = line.rpartition("}")
        return body + "}", rest.strip(" ;")
    body, _, v = line.rpartition(";")
    return body, v


def cases():
    out = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "**", "*.t"), recursive=True)):
        rel = os.path.relpath(path, CORPUS)
        fam = tab = None
        with open(path, encoding="utf-8") as fh:
            for n, raw in enumerate(fh, 1):
                line = raw.rstrip("\n")
                if not line.strip() or line.startswith("#") or line.startswith(":") or line.startswith("- "):
                    continue
                if line.startswith("*"):
                    if fam is None:
                        fam, tab, _ = line[1:].split(";", 2)
                    continue
                if fam is None:
                    continue
                if line.startswith("!"):
                    body, _, v = line[1:].rpartition(";")
                    name, _, spec = body.partition(" ")
                    kind = "map" if " : " in spec else "set"
                    parts = [p.strip() for p in spec.replace(" timeout ", ";timeout ").replace(" flags ", ";flags ").split(";")]
                    out.append((rel, n, "set", v == "ok", f"add {kind} {fam} {tab} {name} {{ {'; '.join(parts)}; }}"))
                    continue
                if line.startswith("?"):
                    body, _, v = line[1:].rpartition(";")
                    name, _, elems = body.partition(" ")
                    out.append((rel, n, "element", v == "ok", f"add element {fam} {tab} {name} {{ {elems} }}"))
                    continue
                if line.startswith("%"):
                    body, v = _split_obj(line[1:])
                    name, _, spec = body.partition(" ")
                    assert spec.startswith("type ")
                    spec = spec[5:]
                    objtype = spec.split(" ", 1)[0]
                    if objtype == "ct":
                        objtype = " ".join(spec.split(" ", 2)[:2])
                    args = spec[len(objtype):].strip()
                    out.append((rel, n, "object", v == "ok", f"add {objtype} {fam} {tab} {name} {args}".rstrip()))
                    continue
                fields = line.split(";")
                if len(fields) < 2 or fields[1] not in ("ok", "fail"):
                    continue
                rule = fields[0]
                out.append((rel, n, "rule", fields[1] == "ok", f"add rule {fam} {tab} c {rule}"))
                if len(fields) > 2 and fields[2]:
                    out.append((rel, n, "listing", True, f"add rule {fam} {tab} c {fields[2]}"))
    return out
