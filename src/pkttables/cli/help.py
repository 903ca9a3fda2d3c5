"""``pkt help [TOPIC]``, ``pkt describe EXPR`` and the ``pkt(8)`` man page, from one table of topics.

Theory of operation
-------------------
The words the parser knows are data: the statement keywords and the words that start
an expression (``pkttables.lang.parser``), the header fields of every protocol, the
meta/ct/rt/fib/socket keys (``pkttables.proto``) with their datatypes
(``pkttables.types``).  This module gives each of those words a :class:`Topic`: what
it is, its synopsis, and a description.  Field and key lists are generated from the
protocol tables, so a field added there shows up in ``pkt help tcp``, in the man page
and in ``pkt -i`` completion without an edit here; the descriptions of the keywords are
written here once.  ``tests/unit/usertools/test_usertools_help.py`` checks that every
statement keyword and expression starter of the parser, and every tool verb of ``pkt``,
has a topic with a description.

``pkt describe`` answers as ``nft describe`` (``pkttables.types.describe``, byte for
byte) whenever nft can describe the words as an expression or a datatype; when it
cannot but the words name a statement or an expression keyword (``describe limit``,
``describe tcp``), the topic is printed instead of nft's syntax error.

``docs/man/pkt.8.md`` is rendered by :func:`render_man` and checked in;
``python docs/man/generate.py --check`` (run by a test) fails when it is stale.
"""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from typing import IO

__all__ = ["Topic", "topics", "topic", "render_topic", "render_index", "render_man", "keywords",
           "describe_text", "help_main", "describe_main"]


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    kind: str          # "statement", "expression", "verdict", "command", "tool"
    synopsis: str
    description: str


# ------------------------------------------------------------------ the words
# Statements (lang.parser._STMT_WORDS, plus `last`); synopses follow nft(8).
_STATEMENTS: dict[str, tuple[str, str]] = {
    "accept": ("accept", "Verdict: stop evaluating this base chain and let the packet go on to the next "
               "hook or table (another base chain at the same hook can still drop it)."),
    "drop": ("drop", "Verdict: drop the packet at once; no further rule or chain sees it."),
    "continue": ("continue", "Verdict: go on with the next rule (the default when a rule ends)."),
    "return": ("return", "Verdict: return from a jumped-to chain to the rule after the jump; in a base "
               "chain, apply the chain's policy."),
    "jump": ("jump CHAIN", "Verdict: run the rules of CHAIN, then come back to the rule after this one "
             "(at most 16 nested jumps)."),
    "goto": ("goto CHAIN", "Verdict: run the rules of CHAIN and do not come back; when CHAIN ends, the "
             "calling base chain's policy applies."),
    "counter": ("counter [packets N bytes N] | counter name NAME",
                "Count the packets and bytes that reach the statement (anonymous, or a named counter "
                "object)."),
    "limit": ("limit rate [over] N/second|minute|hour|day|week [burst N packets|bytes]",
              "Token-bucket rate limit: matches while under the rate (with `over`: once over it)."),
    "quota": ("quota [over|until] N bytes|kbytes|mbytes [used N ...]",
              "Byte quota: matches until the quota is used up (with `over`: once it is)."),
    "last": ("last [used never|TIME]", "Remember when the rule last matched."),
    "log": ("log [prefix STR] [level LEVEL] [flags tcp sequence,options|ip options|skuid|ether|all] "
            "[group N [snaplen N] [queue-threshold N]]",
            "Log the packet: to the kernel log (syslog levels), or to nflog group N."),
    "reject": ("reject [with icmp|icmpv6|icmpx TYPE | with tcp reset]",
               "Drop the packet and answer it: an ICMP error (default port-unreachable) or a TCP reset."),
    "snat": ("snat [ip|ip6] to ADDR[-ADDR][:PORT[-PORT]] [persistent,random,fully-random]",
             "Source NAT (postrouting, input): rewrite the source address/port of the connection."),
    "dnat": ("dnat [ip|ip6] to ADDR[-ADDR][:PORT[-PORT]] [persistent,random]",
             "Destination NAT (prerouting, output): rewrite the destination address/port of the connection."),
    "masquerade": ("masquerade [to :PORT[-PORT]] [persistent,random,fully-random]",
                   "Source NAT to the address of the outgoing interface (for dynamic addresses)."),
    "redirect": ("redirect [to :PORT[-PORT]]", "Destination NAT to the host itself (the primary address of "
                 "the incoming interface, or loopback for local packets)."),
    "tproxy": ("tproxy [ip|ip6] to [ADDR][:PORT]", "Deliver the packet to a local transparent-proxy socket "
               "without changing it."),
    "queue": ("queue [num N[-M]] [bypass,fanout]", "Hand the packet to a userspace program (NFQUEUE); "
              "without a listener it is dropped, or with `bypass` goes on."),
    "dup": ("dup to ADDR [device IFNAME]", "Send a copy of the packet to ADDR (via IFNAME)."),
    "fwd": ("fwd to IFNAME | fwd ip|ip6 to ADDR device IFNAME", "netdev only: send the packet out of "
            "IFNAME (egress), skipping the stack."),
    "notrack": ("notrack", "Do not track this packet's connection (before conntrack: raw priority)."),
    "add": ("add @SET { KEY [timeout T] [STATEFUL] }", "Add the packet's KEY to a dynamic set (no update "
            "if it is there)."),
    "update": ("update @SET { KEY [timeout T] [STATEFUL] }", "Add KEY to a dynamic set, or refresh its "
               "timeout."),
    "delete": ("delete @SET { KEY }", "Remove the packet's KEY from a dynamic set."),
    "meter": ("meter NAME { KEY STATEFUL }", "A per-key stateful statement (older syntax of `update @set`)."),
    "synproxy": ("synproxy [mss N] [wscale N] [timestamp] [sack-perm]",
                 "Answer TCP SYNs with SYN cookies and open the connection to the server only once the "
                 "client completed the handshake."),
    "flow": ("flow add @FLOWTABLE", "Offload an established connection to a flowtable (fast path)."),
    "xt": ("xt match|target NAME", "An iptables extension translated by iptables-nft (listed only; it "
           "cannot be created from nft syntax)."),
    "comment": ('comment "TEXT"', "A comment kept with the rule (up to 128 bytes)."),
    "reset": ("reset tcp option NAME", "Overwrite a TCP option with NOPs."),
}

# Expression starters (lang.parser._EXPR_STARTERS); header protocols are generated below.
_EXPRESSIONS: dict[str, tuple[str, str]] = {
    "meta": ("meta KEY", "Packet metadata: lengths, marks, interfaces, protocols, time, socket owner."),
    "ct": ("ct [original|reply] KEY", "The packet's connection-tracking entry: state, status, mark, "
           "zone, addresses and ports of either direction, counters, helper, expiration."),
    "fib": ("fib saddr|daddr [. mark|iif|oif] oif|oifname|type",
            "A routing (FIB) lookup for the packet: the output interface or the address type."),
    "socket": ("socket transparent|mark|wildcard|cgroupv2 level N", "The local socket the packet "
               "belongs to."),
    "osf": ("osf [ttl loose|skip] name|version", "Passive OS fingerprint of a TCP SYN."),
    "numgen": ("numgen inc|random mod N [offset N]", "A number: counting up or random, modulo N."),
    "jhash": ("jhash EXPR mod N [seed N] [offset N]", "Jenkins hash of an expression, modulo N."),
    "symhash": ("symhash mod N [offset N]", "A hash of the flow that is the same for both directions."),
    "ipsec": ("ipsec in|out [spnum N] reqid|spi|ip saddr|ip daddr|ip6 saddr|ip6 daddr",
              "The IPsec security association the packet came in by or goes out by."),
    "exthdr": ("exthdr HDR exists", "Whether an IPv6 extension header is present."),
    "rt": ("rt [ip|ip6] classid|nexthop|mtu|ipsec", "The packet's route: realm, next hop, TCP MSS from "
           "the path MTU, IPsec."),
}
_PROTO_DESC = {
    "ether": "Ethernet header", "vlan": "802.1Q VLAN tag", "arp": "ARP header", "ip": "IPv4 header",
    "icmp": "ICMP header", "igmp": "IGMP header", "ip6": "IPv6 header", "icmpv6": "ICMPv6 header",
    "tcp": "TCP header", "udp": "UDP header", "udplite": "UDP-Lite header", "sctp": "SCTP common header",
    "dccp": "DCCP header", "ah": "IPsec Authentication Header", "esp": "IPsec ESP header",
    "comp": "IPComp header", "th": "the transport header of any protocol (ports at offset 0 and 2)",
}
_EXTHDR_DESC = {
    "hbh": "IPv6 hop-by-hop options header", "rt": "IPv6 routing header", "rt0": "IPv6 type 0 routing header",
    "rt2": "IPv6 type 2 routing header", "srh": "IPv6 segment routing header", "frag": "IPv6 fragment header",
    "dst": "IPv6 destination options header", "mh": "IPv6 mobility header",
}

# pkt's own verbs (cli/main.py VERBS): synopsis, description.
_TOOLS: dict[str, tuple[str, str]] = {
    "decode": ("pkt decode CAPTURE [--host HOST] [--iif NAME] [--json] [-c N]",
               "Dissect a capture: each packet's headers, the header offsets nf_tables sees, and the host's "
               "routing decision (docs/packet.md)."),
    "route": ("pkt route DST [--host HOST] [--from SRC] [--iif NAME] [--oif NAME]",
              "The host's routing decision for a destination, like `ip route get`."),
    "simulate": ("pkt simulate --ruleset R --traffic T [--host H] [--out O] [--json J] [--trace] [--list] "
                 "[--conntrack] [--conntrack-expect] [--conntrack-save FILE] [--conntrack-load FILE] [--seed N]",
                 "Replay a capture through the host and the ruleset: verdicts, deciding rules, NAT, conntrack, "
                 "emitted frames (docs/simulate.md)."),
    "bench": ("pkt bench [WORKLOAD ...] [--quick] [--json OUT]",
              "Benchmarks, with ratios against baselines measured in the same run (docs/bench.md)."),
    "conntrack": ("pkt conntrack -L|-E|-C|-D|-F [expect] --pcap CAPTURE [--ruleset R]|--table FILE [--save FILE] "
                  "[filters]",
                  "The connection table after a capture or from a snapshot: list, events, count, delete, "
                  "flush, as conntrack(8) prints them; -D/-F rewrite the --table snapshot (docs/conntrack.md)."),
    "test": ("pkt test SPEC [-k NAME] [-q] [--trace]",
             "Run policy tests: packets and the outcome you expect, from a TOML spec; prints each failure "
             "with its trace and `N passed, M failed`, exit 1 on failure (docs/policy-tests.md)."),
    "monitor": ("pkt monitor trace --ruleset R --traffic T [--host H] [--iif NAME] [--seed N]",
                "The `nft monitor trace` lines of a simulation: packets that a rule marked with "
                "`meta nftrace set 1`."),
    "help": ("pkt help [TOPIC]", "This help: the verbs, statements and expressions; `pkt help tcp` lists the "
             "TCP header fields with their datatypes."),
    "describe": ("pkt describe EXPR", "As `nft describe`: the expression's datatype, size and symbolic "
                 "constants; for a statement or expression keyword, its help topic."),
}
# nft's command verbs (lang.parser._VERBS).
_COMMANDS: dict[str, tuple[str, str]] = {
    "add": ("add table|chain|rule|set|map|element|counter|quota|limit|flowtable ...",
            "Add an object (no error if a table or chain already exists)."),
    "create": ("create table|chain|set|... ", "As add, but an existing object is an error."),
    "insert": ("insert rule FAMILY TABLE CHAIN [position H|index N] RULE",
               "Add a rule before the given one (default: at the start of the chain)."),
    "replace": ("replace rule FAMILY TABLE CHAIN handle H RULE", "Replace a rule."),
    "delete": ("delete table|chain|rule|set|element|... ", "Delete an object (rules by handle)."),
    "destroy": ("destroy ...", "Delete an object; no error if it does not exist (newer nft)."),
    "get": ("get element FAMILY TABLE SET { KEY }", "Look an element up in a set."),
    "list": ("list ruleset|tables|table|chain|set|map|counters|...", "Print objects as nft does (-a handles, "
             "-n numeric, -s stateless, -j JSON)."),
    "reset": ("reset counters|quotas|rules ...", "List and zero stateful objects."),
    "flush": ("flush ruleset|table|chain|set ...", "Remove the contents of an object."),
    "rename": ("rename chain FAMILY TABLE OLD NEW", "Rename a chain."),
    "describe": ("describe EXPR", "Datatype of an expression (see the tool verb)."),
    "monitor": ("monitor [new|destroy] [tables|chains|sets|rules|elements|ruleset|trace]",
                "Events; offline only `pkt monitor trace` over a simulation."),
    "export": ("export ruleset [json]", "Print the ruleset for re-import."),
    "import": ("import ruleset [json]", "Read a ruleset."),
}


def _dtype_text(name: str, bits: int) -> str:
    from pkttables.types import DATATYPES

    dt = DATATYPES.get(name)
    desc = dt.desc if dt is not None else name
    return f"{name} ({desc}), {bits} bits"


def _proto_topic(name: str) -> Topic:
    from pkttables import proto as P

    fields = P.PROTOCOLS[name].fields
    lines = [f"    {name} {f:<22} {_dtype_text(fd.dtype_name, fd.len_bits)}" for f, fd in fields.items()]
    return Topic(name, "expression", f"{name} FIELD",
                 f"Payload expression: a field of the {_PROTO_DESC.get(name, name + ' header')}.\n"
                 "Fields:\n" + "\n".join(lines))


def _exthdr_topic(name: str) -> Topic:
    from pkttables import proto as P

    hdr = P.IPV6_EXTHDRS.get(name)
    lines = [f"    {name} {f:<22} {_dtype_text(fd.dtype_name, fd.len_bits)}"
             for f, fd in (hdr.fields.items() if hdr is not None else ())]
    return Topic(name, "expression", f"{name} FIELD | exthdr {name} exists",
                 f"Extension header expression: a field of the {_EXTHDR_DESC.get(name, name)}.\n"
                 + ("Fields:\n" + "\n".join(lines) if lines else ""))


def _keyed_topic(name: str) -> Topic:
    from pkttables import proto as P

    syn, desc = _EXPRESSIONS[name]
    table = {"meta": P.META_KEYS, "ct": P.CT_KEYS, "rt": P.RT_KEYS, "fib": P.FIB_RESULTS,
             "socket": P.SOCKET_KEYS}.get(name)
    if table:
        rows = []
        for k, v in table.items():
            extra = ""
            if name == "meta" and getattr(v, "unqualified", False):
                extra = "  (also without 'meta')"
            rows.append(f"    {name} {k:<20} {_dtype_text(v.dtype_name, v.len_bits)}{extra}")
        desc += "\nKeys:\n" + "\n".join(rows)
    return Topic(name, "expression", syn, desc)


def _meta_word_topic(name: str) -> Topic:
    from pkttables import proto as P

    m = P.META_KEYS.get(P.META_KEY_ALIASES.get(name, (name,))[0])
    what = _dtype_text(m.dtype_name, m.len_bits) if m is not None else "meta key"
    return Topic(name, "expression", f"{name} (= meta {name})",
                 f"The meta key '{name}', written without 'meta': {what}.")


def _parser_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The parser's statement keywords, expression starters and command verbs.  Read from
    pkttables.lang.parser (private names: the parser's own tables, the single source)."""
    from pkttables.lang import parser as LP

    return LP._STMT_WORDS, LP._EXPR_STARTERS, LP._VERBS


_CACHE: dict[str, Topic] | None = None


def topics() -> dict[str, Topic]:
    """Every topic by name.  A word that is both a command and a statement (``add``,
    ``delete``, ``reset``) is the statement; a verb of ``pkt`` that is also an nft
    command (``describe``, ``monitor``) is the tool verb."""
    global _CACHE
    if _CACHE is not None:
        return _CACHE
    from pkttables import proto as P

    stmts, starters, verbs = _parser_words()
    out: dict[str, Topic] = {}
    for name in sorted(verbs):
        if name in _COMMANDS:
            syn, desc = _COMMANDS[name]
            out[name] = Topic(name, "command", syn, desc)
    for name in sorted(set(stmts) | {"last"}):
        if name in _STATEMENTS:
            syn, desc = _STATEMENTS[name]
            kind = "verdict" if name in ("accept", "drop", "continue", "return", "jump", "goto") else "statement"
            cmd = out.get(name)
            if cmd is not None:   # add, delete, reset: a statement and a command
                desc += f"\nAs a command: {cmd.synopsis}: {cmd.description}"
            out[name] = Topic(name, kind, syn, desc)
    for name in sorted(starters):
        if name in P.PROTOCOLS:
            out[name] = _proto_topic(name)
        elif name in P.IPV6_EXTHDRS and name not in out:
            out[name] = _exthdr_topic(name)
        elif name in _EXPRESSIONS:
            out[name] = _keyed_topic(name)
        elif name not in out:
            out[name] = _meta_word_topic(name)
    for name, (syn, desc) in _TOOLS.items():
        out.pop(name, None)   # describe, monitor: the tool verb (listed in _TOOLS order)
        out[name] = Topic(name, "tool", syn, desc)
    _CACHE = out
    return out


def topic(name: str) -> Topic | None:
    return topics().get(name.strip())


def keywords() -> dict[str, list[str]]:
    """Completion words: what may follow a word (``""`` = at the start of a command)."""
    from pkttables import proto as P

    stmts, starters, verbs = _parser_words()
    objects = ["table", "chain", "rule", "set", "map", "element", "counter", "quota", "limit", "flowtable",
               "ruleset", "tables", "chains", "sets", "maps", "counters", "quotas", "limits", "flowtables"]
    follow: dict[str, list[str]] = {"": sorted(verbs | {"quit", "exit", "help"})}
    for v in verbs:
        follow[v] = objects
    for fam in ("ip", "ip6", "inet", "arp", "bridge", "netdev"):
        follow.setdefault(fam, [])
    for name, proto in P.PROTOCOLS.items():
        follow[name] = sorted(proto.fields)
    for name, hdr in P.IPV6_EXTHDRS.items():
        follow.setdefault(name, sorted(hdr.fields))
    follow["meta"] = sorted(P.META_KEYS)
    follow["ct"] = sorted({k.split()[0] for k in P.CT_KEYS} | {"original", "reply"})
    follow["original"] = follow["reply"] = sorted(k.split()[0] for k in P.CT_KEYS)
    follow["rt"] = sorted({k.split()[0] for k in P.RT_KEYS})
    follow["fib"] = ["saddr", "daddr", "mark", "iif", "oif", "oifname", "type"]
    follow["table"] = follow["chain"] = follow["set"] = ["ip", "ip6", "inet", "arp", "bridge", "netdev"]
    for fam in ("ip", "ip6", "inet", "arp", "bridge", "netdev"):
        follow[fam] = sorted(set(follow.get(fam, [])))
    # any other place in a rule: statements, verdicts and expression starters
    follow["*"] = sorted(set(stmts) | set(starters))
    return follow


# ------------------------------------------------------------------ rendering
def render_topic(t: Topic) -> str:
    return f"{t.name} ({t.kind})\n  {t.synopsis}\n\n" + "\n".join(
        "  " + ln if not ln.startswith("    ") else ln for ln in t.description.split("\n")) + "\n"


_KIND_TITLES = (("tool", "pkt verbs"), ("command", "nft commands (pkt COMMAND ... runs them as nft does)"),
                ("verdict", "verdicts"), ("statement", "statements"), ("expression", "expressions"))


def render_index() -> str:
    ts = topics()
    out = ["usage: pkt help [TOPIC]     (pkt describe EXPR: an expression's datatype, as nft describe)", ""]
    for kind, title in _KIND_TITLES:
        names = [n for n, t in ts.items() if t.kind == kind]
        out.append(f"{title}:")
        if kind in ("tool", "command", "verdict", "statement"):
            out.extend(f"  {n:<12} {textwrap.shorten(ts[n].description.splitlines()[0], 64)}" for n in names)
        else:
            line = " "
            for n in names:
                if len(line) + len(n) + 1 > 78:
                    out.append(line)
                    line = " "
                line += " " + n
            out.append(line)
        out.append("")
    return "\n".join(out)


def describe_text(words: str) -> str | None:
    """The topic text for ``pkt describe WORDS`` when nft cannot describe WORDS (an
    expression keyword or a statement), else None (nft's own answer applies)."""
    from pkttables.errors import PktError
    from pkttables.types import describe

    t = topic(words)
    if t is None or t.kind in ("tool", "command"):
        return None
    try:
        if not describe(words).startswith("symbol expression, datatype invalid"):
            return None
    except PktError:
        pass
    return render_topic(t)


def _man_escape(s: str) -> str:
    return s.replace("|", "\\|")


def render_man() -> str:
    """docs/man/pkt.8.md (markdown man page)."""
    from pkttables.cli.nft import USAGE

    ts = topics()
    o = ["<!-- GENERATED by docs/man/generate.py from pkttables.cli.help: do not edit; "
         "run `python docs/man/generate.py` to update, `--check` to verify. -->", "",
         "# pkt(8)", "", "## NAME", "", "pkt - nftables in userspace: nft's command line, simulation and "
         "policy tests", "", "## SYNOPSIS", "", "```", "pkt [ options ] [ cmds... ]"]
    o += [t.synopsis for t in ts.values() if t.kind == "tool"]
    o += ["```", "", "## DESCRIPTION", "",
          "`pkt` takes nft 1.0.6's command line; the verbs below, which nft does not have, are dispatched "
          "first. Everything else is an nft command run on an offline ruleset (`--state FILE`), or on an "
          "empty one.", "", "## PKT VERBS", ""]
    for t in ts.values():
        if t.kind == "tool":
            o += [f"### {t.name}", "", f"`{t.synopsis}`", "", t.description, ""]
    o += ["## OPTIONS (nft command line)", "", "```", USAGE.rstrip("\n"), "```", "", "## COMMANDS", "",
          "| command | synopsis | description |", "|---|---|---|"]
    verbs = _parser_words()[2]
    o += [f"| {n} | `{_man_escape(syn)}` | {_man_escape(desc)} |"
          for n, (syn, desc) in _COMMANDS.items() if n in verbs]
    o += ["", "## VERDICTS AND STATEMENTS", "", "| statement | synopsis | description |", "|---|---|---|"]
    o += [f"| {t.name} | `{_man_escape(t.synopsis)}` | {_man_escape(t.description)} |"
          for t in ts.values() if t.kind in ("verdict", "statement")]
    o += ["", "## EXPRESSIONS", ""]
    for t in ts.values():
        if t.kind != "expression":
            continue
        head, _, rest = t.description.partition("\n")
        o += [f"### {t.name}", "", f"`{t.synopsis}`: {head}", ""]
        if rest.strip():
            o += ["```", "\n".join(ln.strip() for ln in rest.split("\n")), "```", ""]
    o += ["## FILES", "", "* host description: TOML (docs/host.md)",
          "* policy-test spec: TOML (docs/policy-tests.md)",
          "* outcomes: JSON lines (docs/outcomes-schema.md)", "",
          "## SEE ALSO", "", "nft(8), conntrack(8), ip(8), tcpdump(8)", ""]
    return "\n".join(o)


# ------------------------------------------------------------------ verbs
def help_main(argv: list[str], stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if not argv or argv[0] in ("-h", "--help"):
        stdout.write(render_index())
        return 0
    name = " ".join(argv)
    t = topic(name)
    if t is None:
        import difflib
        close = difflib.get_close_matches(name, list(topics()), n=3)
        hint = f" (did you mean: {', '.join(close)}?)" if close else " (pkt help lists the topics)"
        stderr.write(f"pkt help: no topic '{name}'{hint}\n")
        return 1
    stdout.write(render_topic(t))
    return 0


def describe_main(argv: list[str], stdout: IO[str] | None = None) -> int:
    """``pkt describe WORDS``: nft's answer, or the keyword's topic when nft has none."""
    stdout = stdout or sys.stdout
    words = " ".join(a for a in argv)
    if words and not words.startswith("-"):
        text = describe_text(words)
        if text is not None:
            stdout.write(text)
            return 0
    from pkttables.cli.nft import main as nft_main

    return nft_main(["describe", *argv])


def _man_cli(argv: list[str]) -> int:
    """``python -m pkttables.cli.help [--check] [OUT]``: write (or check) the man page."""
    import os

    check = "--check" in argv
    rest = [a for a in argv if a != "--check"]
    path = rest[0] if rest else os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "man",
                                            "pkt.8.md")
    text = render_man()
    if check:
        try:
            with open(path, encoding="utf-8") as fh:
                same = fh.read() == text
        except OSError:
            same = False
        if not same:
            sys.stderr.write(f"{path} is stale: run python docs/man/generate.py\n")
            return 1
        return 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(_man_cli(sys.argv[1:]))
