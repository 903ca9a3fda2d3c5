"""Where nft 1.0.6 puts an interval overlap of a named set: golden outputs.

Every expected text below is nft 1.0.6's stderr, captured with ``nft -f FILE`` (or
the command line) in a network namespace of our own on Linux 6.18: ``base`` was loaded
first by a separate ``nft -f`` (so its elements are in the kernel, not in the
transaction), then ``text`` (see the comment above ``_check_overlap`` in
commands/_sets.py for the rules they show).  pkttables must print the same bytes.
The last test checks the same behaviour holds on the fast element paths (a 1000-element
list kept as text).
"""

from __future__ import annotations

from typing import NamedTuple

import pytest

from pkttables.commands import Options, run_text
from pkttables.errors import CMDLINE, PktError
from pkttables.model import Ruleset


class Case(NamedTuple):
    name: str
    base: str | None
    file: str
    text: str
    nft: str


CASES = [
    Case('decl_across_lines',
         base=None,
         file='a.nft',
         text='table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.1.0/24, 10.0.2.0/24, 10.0.5.0/24,\n\t\t\t     10.0.6.0/24, 10.0.5.7-10.0.6.1 }\n\t}\n}\n',
         nft='a.nft:6:22-38: Error: conflicting intervals specified\n\t\t\t     10.0.6.0/24, 10.0.5.7-10.0.6.1 }\n\t\t\t                  ^^^^^^^^^^^^^^^^^   ~~~~~~~~~~~\n'),
    Case('earlier_command',
         base=None,
         file='b.nft',
         text='table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.1.0/24, 10.0.5.0/24 }\n\t}\n}\nadd element ip t s { 10.0.3.0/24, 10.0.5.7-10.0.6.1 }\n',
         nft='b.nft:8:35-51: Error: conflicting intervals specified\nadd element ip t s { 10.0.3.0/24, 10.0.5.7-10.0.6.1 }\n                            ~~~~~~^^^^^^^^^^^^^^^^^\n'),
    Case('inside_one_list',
         base=None,
         file='c.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.1.0/24, 10.0.9.9, 10.0.1.5 }\n',
         nft='c.nft:3:45-52: Error: conflicting intervals specified\nadd element ip t s { 10.0.1.0/24, 10.0.9.9, 10.0.1.5 }\n                     ~~~~~~~~~~~            ^^^^^^^^\n'),
    Case('range_listed_first',
         base=None,
         file='d.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.5.7-10.0.6.1, 10.0.5.0/24 }\n',
         nft='d.nft:3:22-38: Error: conflicting intervals specified\nadd element ip t s { 10.0.5.7-10.0.6.1, 10.0.5.0/24 }\n                     ^^^^^^^^^^^^^^^^^  ~~~~~~~~~~~\n'),
    Case('new_encloses_earlier',
         base=None,
         file='e.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.1.0/24 }\nadd element ip t s { 10.0.2.0/24 }\nadd element ip t s { 10.0.0.0/16 }\n',
         nft='e.nft:3:22-32: Error: conflicting intervals specified\nadd element ip t s { 10.0.1.0/24 }\n                     ^^^^^^^^^^^\n'),
    Case('interval_map',
         base=None,
         file='f.nft',
         text='add table ip t\nadd map ip t m { type ipv4_addr : mark; flags interval; }\nadd element ip t m { 10.0.1.0/24 : 1, 10.0.1.5 : 2 }\n',
         nft='f.nft:3:39-46: Error: conflicting intervals specified\nadd element ip t m { 10.0.1.0/24 : 1, 10.0.1.5 : 2 }\n                     ~~~~~~~~~~~      ^^^^^^^^\n'),
    Case('element_options',
         base=None,
         file='i.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval,timeout; }\nadd element ip t s { 10.0.1.0/24 comment "a", 10.0.1.5 timeout 10s comment "b" }\n',
         nft='i.nft:3:47-54: Error: conflicting intervals specified\nadd element ip t s { 10.0.1.0/24 comment "a", 10.0.1.5 timeout 10s comment "b" }\n                     ~~~~~~~~~~~              ^^^^^^^^\n'),
    Case('same_start_wider_first',
         base=None,
         file='j.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.1.0/24, 10.0.1.0/25 }\n',
         nft='j.nft:3:22-32: Error: conflicting intervals specified\nadd element ip t s { 10.0.1.0/24, 10.0.1.0/25 }\n                     ^^^^^^^^^^^  ~~~~~~~~~~~\n'),
    Case('same_start_narrower_first',
         base=None,
         file='k.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.1.0/25, 10.0.1.0/24 }\n',
         nft='k.nft:3:22-32: Error: conflicting intervals specified\nadd element ip t s { 10.0.1.0/25, 10.0.1.0/24 }\n                     ^^^^^^^^^^^  ~~~~~~~~~~~\n'),
    Case('same_start_across_commands',
         base=None,
         file='l.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.1.0/24 }\nadd element ip t s { 10.0.1.0/25 }\n',
         nft='l.nft:3:22-32: Error: conflicting intervals specified\nadd element ip t s { 10.0.1.0/24 }\n                     ^^^^^^^^^^^\n'),
    Case('same_start_across_commands_2',
         base=None,
         file='m.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.1.0/25 }\nadd element ip t s { 10.0.1.0/24 }\n',
         nft='m.nft:3:22-32: Error: conflicting intervals specified\nadd element ip t s { 10.0.1.0/25 }\n                     ^^^^^^^^^^^\n'),
    Case('earlier_command_other_line',
         base=None,
         file='o.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.1.0/25, 10.0.3.0/24 }\nadd element ip t s { 10.0.2.0/24,\n 10.0.3.7 }\n',
         nft='o.nft:5:2-9: Error: conflicting intervals specified\n 10.0.3.7 }\n ^^^^^^^^                         ~~~~~~~~~~~\n'),
    Case('new_encloses_several',
         base=None,
         file='q.nft',
         text='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\nadd element ip t s { 10.0.1.0/24 }\nadd element ip t s { 10.0.2.0/24 }\nadd element ip t s { 10.0.3.0/24 }\n add element ip t s { 10.0.1.9, 10.0.0.0/8 }\n',
         nft='q.nft:3:22-32: Error: conflicting intervals specified\nadd element ip t s { 10.0.1.0/24 }\n                     ^^^^^^^^^^^~~~~~~~~~~\n'),
    Case('kernel_range',
         base='table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.1.0/24, 10.0.5.0/24 }\n\t}\n}\n',
         file='g.nft',
         text='add element ip t s { 10.0.3.0/24, 10.0.5.7-10.0.6.1 }\n',
         nft='g.nft:1:35-51: Error: interval overlaps with an existing one\nadd element ip t s { 10.0.3.0/24, 10.0.5.7-10.0.6.1 }\n                                  ^^^^^^^^^^^^^^^^^\n'),
    Case('kernel_enclosed_by_new',
         base='table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.1.0/24, 10.0.5.0/24 }\n\t}\n}\n',
         file='h.nft',
         text='add element ip t s { 10.0.0.0/16 }\n',
         nft='h.nft:1:22-32: Error: interval overlaps with an existing one\nadd element ip t s { 10.0.0.0/16 }\n                     ^^^^^^^^^^^\n'),
    Case('kernel_same_start',
         base='table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.1.0/24, 10.0.5.0/24 }\n\t}\n}\n',
         file='n.nft',
         text='add element ip t s { 10.0.1.0/25 }\n',
         nft='n.nft:1:22-32: Error: interval overlaps with an existing one\nadd element ip t s { 10.0.1.0/25 }\n                     ^^^^^^^^^^^\n'),
    Case('kernel_then_conflict_in_list',
         base='table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.1.0/24, 10.0.5.0/24 }\n\t}\n}\n',
         file='r.nft',
         text='add element ip t s { 10.0.9.0/24, 10.0.8.1, 10.0.9.5 }\n',
         nft='r.nft:1:45-52: Error: conflicting intervals specified\nadd element ip t s { 10.0.9.0/24, 10.0.8.1, 10.0.9.5 }\n                     ~~~~~~~~~~~            ^^^^^^^^\n'),
    Case('kernel_first_in_order',
         base='table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.1.0/24, 10.0.5.0/24 }\n\t}\n}\n',
         file='r2.nft',
         text='add element ip t s { 10.0.9.0/24, 10.0.5.1, 10.0.9.5 }\n',
         nft='r2.nft:1:35-42: Error: interval overlaps with an existing one\nadd element ip t s { 10.0.9.0/24, 10.0.5.1, 10.0.9.5 }\n                                  ^^^^^^^^\n'),
    Case('cmdline_kernel',
         base='table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.1.0/24, 10.0.5.0/24 }\n\t}\n}\n',
         file='<cmdline>',
         text='add element ip t s { 10.0.3.0/24, 10.0.5.7-10.0.6.1 }',
         nft='Error: interval overlaps with an existing one\nadd element ip t s { 10.0.3.0/24, 10.0.5.7-10.0.6.1 }\n                                  ^^^^^^^^^^^^^^^^^\n'),
    Case('cmdline_in_list',
         base='add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\n',
         file='<cmdline>',
         text='add element ip t s { 10.0.7.0/24, 10.0.8.1, 10.0.7.9 }',
         nft='Error: conflicting intervals specified\nadd element ip t s { 10.0.7.0/24, 10.0.8.1, 10.0.7.9 }\n                     ~~~~~~~~~~~            ^^^^^^^^\n'),
]


def _run(case: Case, dry_run: bool) -> str:
    rs = Ruleset()
    if case.base is not None:
        rs = run_text(case.base, rs, filename="base.nft").ruleset
    fname = CMDLINE if case.file == "<cmdline>" else case.file
    with pytest.raises(PktError) as e:
        run_text(case.text, rs, Options(dry_run=dry_run), filename=fname)
    return e.value.render()


@pytest.mark.parametrize("dry_run", [False, True], ids=["apply", "check"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_overlap_error_is_nfts(case, dry_run):
    assert _run(case, dry_run) + "\n" == case.nft


def test_overlap_error_nothing_changed():
    """A refused list changes nothing: the set keeps its elements."""
    case = next(c for c in CASES if c.name == "kernel_range")
    rs = run_text(case.base, Ruleset(), filename="base.nft").ruleset
    with pytest.raises(PktError):
        run_text(case.text, rs, filename=case.file)
    s = rs.tables[("ip", "t")].sets["s"]
    assert [e.key for e in s.elements] == [bytes([10, 0, 1, 0]), bytes([10, 0, 5, 0])]


def test_identical_ranges_still_pass():
    text = ("add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\n"
            "add element ip t s { 10.0.1.0/24, 10.0.2.0/24 }\nadd element ip t s { 10.0.1.0/24 }\n")
    rs = run_text(text, Ruleset(), filename="x.nft").ruleset
    assert len(rs.tables[("ip", "t")].sets["s"].elements) == 2


def test_overlap_in_a_long_list_points_at_the_element():
    """1000 /24s on one line (the list kept as text, fastelements.py) and one range that
    overlaps two of them: ``^`` under the range, ``~`` under the /24 it starts in."""
    items = [f"10.{i // 256}.{i % 256}.0/24" for i in range(1000)]
    items.insert(700, "10.0.5.7-10.0.6.1")
    line = "add element ip t s { " + ", ".join(items) + " }"
    text = "add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\n" + line + "\n"
    with pytest.raises(PktError) as e:
        run_text(text, Ruleset(), filename="long.nft")
    d = e.value.diagnostics[0]
    assert d.message == "conflicting intervals specified"
    at = line.index("10.0.5.7-10.0.6.1") + 1
    assert (d.location.line, d.location.first_col, d.location.last_col) == (3, at, at + 16)
    other = line.index("10.0.5.0/24") + 1
    assert [(s.first_col, s.last_col) for s in d.secondary] == [(other, other + 10)]


def test_long_file_line_is_cut_as_nft_prints_it():
    """nft prints at most 1023 bytes of a file's source line (the marker line is not
    cut).  nft 1.0.6's stderr for this file, ``long.nft``, was: the header, the first
    1023 bytes of line 5, then two tabs, 78 spaces, 11 ``~``, 1314 spaces, 17 ``^``."""
    items = [f"10.0.{i}.0/24" for i in range(100)] + ["10.0.5.7-10.0.6.1"]
    line = f"\t\telements = {{ {', '.join(items)} }}"
    text = "table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\tflags interval\n" + line + "\n\t}\n}\n"
    nft = ("long.nft:5:1406-1422: Error: conflicting intervals specified\n" + line[:1023] + "\n"
           + "\t\t" + " " * 78 + "~" * 11 + " " * 1314 + "^" * 17 + "\n")
    with pytest.raises(PktError) as e:
        run_text(text, Ruleset(), filename="long.nft")
    assert e.value.render() + "\n" == nft
    # the command line is printed whole
    rs = run_text("add table ip t\nadd set ip t s { type ipv4_addr; flags interval; }\n", Ruleset(),
                  filename="x.nft").ruleset
    cmd = "add element ip t s { " + line.split("{ ", 1)[1]
    with pytest.raises(PktError) as e:
        run_text(cmd, rs, filename=CMDLINE)
    out = e.value.render().splitlines()
    assert out[0] == "Error: conflicting intervals specified" and out[1] == cmd
