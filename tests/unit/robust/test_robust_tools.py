"""Fuzzing the argument doors of the tool verbs: ``pkt conntrack``, ``pkt describe``,
``pkt help``, ``pkt decode``, ``pkt route``, ``pkt bench`` (only the arguments that
do not start a measurement) and the nft-style options of ``pkt`` itself.

Words are drawn from each verb's options and from values that break parsers (empty,
negative, huge, paths that are directories or missing, bytes that are not UTF-8).
Every run: the documented exit status (conntrack's usage errors are 2, as
conntrack-tools'), no traceback.
"""

from __future__ import annotations

import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robust_harness import EXAMPLE, check, run

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
TRAFFIC, HOST = str(EXAMPLE / "traffic.pcapng"), str(EXAMPLE / "host.toml")
_DIR = tempfile.gettempdir()
# read-only values: nothing here may be written (conntrack's --save is redirected, -D/-F
# with --table skipped); a missing path is one under the temporary directory
_MISSING = _DIR + "/pktRB-robust-missing/x"
VALUES = st.sampled_from(["0", "-1", "nope", "", "/", _MISSING, _DIR, "\udcff", "99999999999999999999",
                          "-", "x" * 300, "lan0", "1.2.3.4", "::1", "1.2.3.4/24", "0x10/0xff", "1//2", "tcp",
                          "ESTABLISHED", TRAFFIC, HOST])


def _argv(options: list[str], with_value: set[str]):
    """Lists of words: options, each followed by a value when it takes one."""
    word = st.one_of(st.sampled_from(options).flatmap(
        lambda o: st.tuples(st.just(o), VALUES).map(list) if o in with_value else st.just([o])),
        VALUES.map(lambda v: [v]))
    return st.lists(word, max_size=5).map(lambda ws: [w for ww in ws for w in ww])


CT_OPTS = ["-L", "-E", "-C", "-D", "-F", "--pcap", "--table", "--save", "--host", "-p", "-s", "-d", "--state",
           "-m", "-w", "-f", "--orig-src", "--zone", "--mark", "--dump", "--flush"]
CT_VALUED = {"--pcap", "--table", "--save", "--host", "-p", "-s", "-d", "--state", "-m", "-w", "-f",
             "--orig-src", "--zone", "--mark"}


@SETTINGS
@given(argv=_argv(CT_OPTS, CT_VALUED))
def test_conntrack_arguments(argv):
    # --save and -D/-F write files: only into the temporary directory or nowhere
    if any(a in argv for a in ("--save", "-D", "-F", "--flush")) and "--table" in argv:
        return
    if "--save" in argv:
        i = argv.index("--save")
        argv[i + 1:i + 2] = [_DIR + "/pktRB-ct-save.json"]
    rc, _, err = run(["conntrack"] + argv)
    check(rc, err, ok=(0, 1, 2))
    if rc == 2:
        assert err.endswith("Try `conntrack -h' or 'conntrack --help' for more information.\n"), err


@SETTINGS
@given(words=st.lists(st.one_of(
    st.sampled_from(["tcp", "dport", "meta", "mark", "ip", "saddr", "ct", "state", "{", "}", "x", "", "@s", "$x",
                     "1.2.3.4", "vlan", "id", "counter", ";", "describe", "-x", "--man", "\udcff", "ip6", "nexthdr",
                     "th", "@th,0,16", "ether", "type", "icmp", "code", "rt", "fib", "daddr", "oif", "osf"]),
    st.text(max_size=6)), max_size=4))
def test_describe_and_help_words(words):
    rc, _, err = run(["describe"] + words)
    check(rc, err)
    rc, _, err = run(["help"] + words[:2])
    check(rc, err)


DECODE_OPTS = ["--host", "--iif", "--count", "-c", "--json"]
ROUTE_OPTS = ["--host", "--from", "--iif", "--oif"]


@SETTINGS
@given(dargv=_argv(DECODE_OPTS, {"--host", "--iif", "--count", "-c"}), rargv=_argv(ROUTE_OPTS, set(ROUTE_OPTS)))
def test_decode_and_route_arguments(dargv, rargv):
    rc, _, err = run(["decode", TRAFFIC] + dargv)
    check(rc, err)
    rc, _, err = run(["route"] + rargv + ["192.0.2.1"])
    check(rc, err)


@pytest.mark.parametrize("argv", [["nope"], ["--json"], ["-x"], ["--quick", "nope"],
                                  ["--json", _DIR, "nope"], ["--list", "--json"]])
def test_bench_arguments_that_start_no_measurement(argv):
    rc, _, err = run(["bench"] + argv)
    check(rc, err, ok=(1, 2))


NFT_OPTS = ["-f", "-c", "-j", "-a", "-n", "-s", "-e", "-t", "-I", "-D", "-d", "--debug", "--check", "--file",
            "--define", "--includepath", "--json", "-o", "-y", "-p", "-T", "-S", "-N", "-u", "--bogus", "-x"]
NFT_VALUED = {"-f", "-I", "-D", "-d", "--debug", "--file", "--define", "--includepath"}


@SETTINGS
@given(argv=_argv(NFT_OPTS, NFT_VALUED), tail=st.sampled_from([[], ["list", "ruleset"], ["add", "table", "ip", "t"],
                                                               ["list", "tables", "ip"]]))
def test_nft_options(argv, tail):
    rc, out, err = run(argv + tail)
    check(rc, err)
    if rc == 1:
        assert err, "failed without a message"
