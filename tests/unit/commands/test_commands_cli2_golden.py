"""The cli2 scenarios against nft 1.0.6 (``cli2/golden_cli2.json``, captured by
``capture_cli2.py`` in network namespaces): ``-j`` listings and JSON input, ``-e`` echo
in text and JSON, meters and hooks, flush/rename/replace/insert/delete, jump checks and
handles consumed by failed batches.  Each scenario runs step by step through ``pkt``
with a ``--state`` file, so the store is exercised between steps too."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pkttables.cli.nft import main

HERE = Path(__file__).parent
DIR = HERE / "cli2"
SCENARIOS = json.loads((DIR / "golden_cli2.json").read_text())
_GEN = re.compile(r"# new generation (\d+) by process \d+ \(\S+\)")

# Steps where pkttables is known to differ, with the reason (strict: they must fail).
KNOWN = {
    ("hooks", 3): "lang: `reset rules` lacks nft's 'expecting counter or counters ...' tail",
    ("json-list", 14): "lang: `list ct helpers` without `table` is accepted (nft requires it)",
}


def _mask(s: str) -> str:
    return _GEN.sub(r"# new generation \1 by process PID (nft)", s)


def _argv(step: list[str]) -> list[str]:
    return [str(DIR / a[1:]) if a.startswith("@") else a for a in step]


def _cases():
    for name, steps in SCENARIOS.items():
        for i in range(len(steps)):
            yield pytest.param(name, i, id=f"{name}-{i}-{' '.join(steps[i]['argv'])[:60]}",
                               marks=[pytest.mark.xfail(reason=KNOWN[(name, i)], strict=True)]
                               if (name, i) in KNOWN else [])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every scenario run once; step results by (scenario, index)."""
    import contextlib
    import io
    out = {}
    for name, steps in SCENARIOS.items():
        state = tmp_path_factory.mktemp("cli2") / f"{name}.state"
        for i, step in enumerate(steps):
            o, e = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
                rc = main(["--state", str(state), *_argv(step["argv"])])
            out[(name, i)] = (rc, o.getvalue(), e.getvalue())
    return out


@pytest.mark.parametrize("name,i", list(_cases()))
def test_step_as_nft(runs, name, i):
    want = SCENARIOS[name][i]
    rc, out, err = runs[(name, i)]
    assert (rc, _mask(out), err) == (want["exit"], _mask(want["stdout"]), want["stderr"])
