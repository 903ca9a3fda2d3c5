"""Tokenizer for the nftables language, reproducing nft 1.0.6's flex scanner.

Theory of operation
-------------------
nft's scanner (``src/scanner.l``) is a flex scanner: at each position every pattern is
tried and the *longest* match wins; on a tie the pattern listed first wins (keywords
before addresses, before times, numbers, quoted strings, ``*`` strings and plain
strings).  Python's ``re`` takes the *first* alternative that matches instead, so the
master regex below only has fast alternatives whose match is provably the longest one
(a plain word not followed by ``:``, ``*`` or ``\\``; a run of digits not followed by a
character that could extend an address, time or hex number; an operator), and hands
everything else to :func:`_slow_token`, which tries each candidate pattern and keeps the
longest, as flex does.

Examples (text -> token kind):
``echo-request`` WORD, ``eth0.100`` WORD, ``10.0.0.1`` WORD (nft: STRING), ``fe80::1`` WORD,
``1h2m`` WORD (a time string), ``0x10`` NUM, ``010`` NUM 8 (octal, as strtoull base 8),
``08`` WORD (invalid octal falls back to a string in nft), ``eth*`` ASTRING,
``"x y"`` QSTRING, ``[::1]`` WORD ``::1`` (RFC 2732 brackets stripped), ``and`` ``&``.

Columns follow flex's ``update_pos``: each token advances the column by its length in
bytes (``yyleng``: a UTF-8 quoted string or comment is wider than its characters);
a newline, a backslash-newline continuation and a whole-line comment reset it to 1 on
the next line.  A comment line (``^[ \\t]*#...\\n``) swallows its newline, so it never
ends a command, exactly as in nft.
"""

from __future__ import annotations

import ipaddress
import re

from pkttables.errors import CMDLINE, Location

from . import elements_fast as _ef

__all__ = ["Token", "tokenize", "token_name", "KEYWORDS", "WORD", "NUM", "QSTRING", "ASTRING", "NEWLINE", "EOF", "JUNK"]

WORD = "string"
NUM = "number"
QSTRING = "quoted string"
ASTRING = "string with a trailing asterisk"
NEWLINE = "newline"
EOF = "end of file"
JUNK = "junk"


class Token:
    """One token.  ``kind`` is WORD/NUM/... or the operator text (``==``, ``{``...);
    ``text`` is the source text (``value`` for NUM is the int, for QSTRING the unquoted
    text, for an ``[ip6]`` word the address without brackets).

    ``loc`` is built on first use from ``line``/``col``/``end`` and the line's shared
    ``(file, line_text)`` pair: most tokens never need one, and a frozen dataclass
    costs ~0.6 us to build (measured: a 100k-rule file has 1.3M tokens)."""

    __slots__ = ("kind", "text", "value", "line", "col", "end", "li", "_loc")

    def __init__(self, kind: str, text: str, value, loc: Location | None = None,
                 line: int = 0, col: int = 0, end: int = 0, li: tuple | None = None):
        self.kind = kind
        self.text = text
        self.value = value
        self._loc = loc
        self.line = line
        self.col = col
        self.end = end
        self.li = li

    @property
    def loc(self) -> Location:
        loc = self._loc
        if loc is None:
            li = self.li
            loc = self._loc = Location(li[0], self.line, self.col, self.end, li[1], li[2], shown_text=li[3])
        return loc

    @loc.setter
    def loc(self, loc: Location) -> None:
        self._loc = loc

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.text!r})"


# Words that nft's scanner returns as keyword tokens in its initial state (no start
# condition).  A keyword is not a ``string``: it cannot name a table or chain, and a
# syntax error names it by its text ("unexpected accept").  Keywords that nft only
# recognises inside a start condition (``saddr`` after ``ip``...) are plain strings here.
KEYWORDS = frozenset(
    """
include define redefine undefine describe hook device devices table chain rule set element
map flowtable handle ruleset socket tproxy accept drop continue jump goto return inet netdev
add replace update create insert delete get list reset flush rename import export monitor
destroy position index comment constant interval dynamic auto-merge timeout gc-interval
elements expires policy size flow offload meter counter log queue limit quota hour day
reject snat dnat masquerade redirect random th bridge ether type typeof vlan arp ip ecn
icmp igmp ip6 icmpv6 ah esp comp udp udplite tcp dccp sctp rt rt0 rt2 srh hbh frag dst mh
meta mark iif iifname iiftype oif oifname oiftype skuid skgid nftrace rtclassid ibriport
obriport ibrname obrname pkttype cpu iifgroup oifgroup cgroup ct numgen jhash symhash dup fwd
fib osf synproxy notrack all exists missing exthdr ipsec secmark xt priority time flags
""".split()
)
# Keywords that are operators: nft's scanner maps them to the operator tokens.
OPWORDS = {
    "eq": "==", "ne": "!=", "le": "<=", "lt": "<", "ge": ">=", "gt": ">",
    "lshift": "<<", "rshift": ">>", "xor": "^", "and": "&", "or": "|", "not": "!",
}
# How bison names each token in "unexpected X" (alias text without quotes, or 'c').
_NAMES = {
    ",": "comma", ":": "colon", ";": "semicolon", "{": "'{'", "}": "'}'", "[": "'['",
    "]": "'['", "(": "'('", ")": "')'", "|": "'|'", "$": "'$'", "=": "'='",
}
_NAMES["]"] = "']'"


def token_name(tok: Token) -> str:
    """The name bison prints for ``tok`` in a syntax error."""
    k = tok.kind
    if k is WORD:
        return tok.text if tok.text in KEYWORDS else WORD
    if k in (NUM, QSTRING, ASTRING, NEWLINE, EOF, JUNK):
        return k
    return _NAMES.get(k, k)


_HEX4 = r"[0-9a-fA-F]{1,4}"
_IP4 = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"
_RX_IP4 = re.compile(_IP4)
_RX_MAC = re.compile(r"(?:[0-9a-fA-F]{1,2}:){5}[0-9a-fA-F]{1,2}")
_RX_IP6ISH = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*(?:" + _IP4 + r")?")
_RX_ADDRRUN = re.compile(r"[0-9a-fA-F:.]+")
_RX_STRING = re.compile(r"[A-Za-z_.][A-Za-z0-9/\-_.]*")
_RX_ASTER = re.compile(r"(?:[A-Za-z_.][A-Za-z0-9/\-_.]*)?(?:\\\*(?:[A-Za-z_.][A-Za-z0-9/\-_.]*)?|\*)")
# ``m`` is not taken when ``ms`` follows, so "30000ms" is one time string as in flex.
_RX_TIME = re.compile(r"(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m(?!s))?(?:[0-9]+s)?(?:[0-9]+ms)?")
_RX_HEX = re.compile(r"0[xX][0-9a-fA-F]+")
_RX_DEC = re.compile(r"[0-9]+")
_RX_CLASSID = re.compile(r"[0-9a-fA-F]{1,4}:[0-9a-fA-F]{1,4}(?=[ \t\n:\-},]|$)")
_RX_RFC2732 = re.compile(r"\[([0-9a-fA-F:.]+)\]")


def _is_ip6(s: str) -> bool:
    # nft's ip6addr patterns accept exactly the RFC 4291 text forms (with an embedded
    # IPv4 tail); ipaddress implements the same forms.  No zone ids, no brackets.
    if "::" not in s and s.count(":") < 7 and not (s.count(":") == 6 and "." in s):
        return False
    if "%" in s or "/" in s:
        return False
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


def _addr_len(text: str, pos: int) -> int:
    """Length of the longest MAC, IPv4 or IPv6 address at ``pos`` (flex {addrstring})."""
    m = _RX_ADDRRUN.match(text, pos)
    if not m:
        return 0
    run = m.group()
    best = 0
    m4 = _RX_IP4.match(run)
    if m4:
        best = m4.end()
    mm = _RX_MAC.match(run)
    if mm and mm.end() > best:
        best = mm.end()
    if ":" in run:
        # Longest prefix that is an IPv6 address (runs are short: at most ~45 chars).
        end = len(run)
        while end > best:
            if run[end - 1] != "." and _is_ip6(run[:end]):
                best = end
                break
            end -= 1
    return best


def _slow_token(text: str, pos: int):
    """Longest match among the patterns that can start at ``pos`` (flex semantics).

    Returns (kind, length, value) or None when nothing matches (JUNK)."""
    cands = []  # (length, -priority, kind, value)
    n = _addr_len(text, pos)
    if n:
        cands.append((n, -1, WORD, None))
    m = _RX_RFC2732.match(text, pos)
    if m and _is_ip6(m.group(1)):
        cands.append((m.end() - pos, -2, WORD, m.group(1)))
    m = _RX_TIME.match(text, pos)
    if m and m.end() > pos:
        cands.append((m.end() - pos, -3, WORD, None))
    m = _RX_HEX.match(text, pos)
    if m:
        s = m.group()
        v = int(s, 16)
        cands.append((len(s), -4, NUM, v) if v < 1 << 64 else (len(s), -4, WORD, None))
    m = _RX_DEC.match(text, pos)
    if m:
        cands.append((len(m.group()), -5) + _decnum(m.group()))
    m = _RX_CLASSID.match(text, pos)
    if m:
        # flex counts the trailing context when it picks the longest match.
        cands.append((m.end() - pos + 1, -6, WORD, m.end() - pos))
    m = _RX_ASTER.match(text, pos)
    if m:
        cands.append((m.end() - pos, -8, ASTRING, None))
    m = _RX_STRING.match(text, pos)
    if m:
        cands.append((m.end() - pos, -9, WORD, None))
    if not cands:
        if text[pos] == "[":
            return "[", 1, None
        return None
    length, prio, kind, value = max(cands)
    if prio == -6:
        length = value
        value = None
    return kind, length, value


def _decnum(s: str):
    # flex {decstring}: strtoull with base 8 when it starts with 0; a bad octal digit or
    # an overflow makes it a string.
    try:
        v = int(s, 8) if s[0] == "0" and len(s) > 1 else int(s)
    except ValueError:
        return (WORD, None)
    if v >= 1 << 64:
        return (WORD, None)
    return (NUM, v)


# One match per token, its leading blanks included: ``[ \t]*`` is folded into the
# pattern, so a blank never costs a loop turn of its own.  Alternatives that start with
# different characters cannot compete; the digit ones keep flex's order (ip4, hex, 8021q,
# number).  When nothing matches (a word followed by ``:``, an address, a time...), the
# blanks are skipped by hand and :func:`_slow_token` decides.
_MASTER = re.compile(
    r"""
    [ \t]*+
    (?:
      (?P<w>[A-Za-z_.][A-Za-z0-9/\-_.]*+)(?![:*\\A-Za-z0-9])
    | (?P<op>==|!=|<=|>=|<<|>>|:(?!:)|\[(?![0-9a-fA-F:])|[<>,;{}()\]^&|!/\-*@$=+])
    | (?P<nl>\n)
    | (?P<q>"[^"]*")
    | (?P<ip4>(?:[0-9]{1,3}\.){3}[0-9]{1,3})(?![0-9A-Za-z:.*\\])
    | (?P<hex>0[xX][0-9a-fA-F]++)(?![0-9A-Za-z:.*\\])
    | (?P<w8021>8021q|8021ad)
    | (?P<n>[0-9]++)(?![0-9A-Za-z:.*\\])
    | (?P<cmt>\#[^\n]*)
    | (?P<cont>\\\n)
    | (?P<eoi>\Z)
    )
    """,
    re.VERBOSE,
)
_BLANKS = re.compile(r"[ \t]*")


def _bulk_context(toks: list[Token]) -> bool:
    """The ``{`` just appended opens ``elements = {`` or ``add|create element [family]
    TABLE SET {``: the lists a bulk token may stand for (set_expr reads both)."""
    n = len(toks)
    if n >= 3 and toks[-2].kind == "=" and toks[-3].text == "elements" and toks[-3].kind is WORD:
        return True
    for k in (4, 5):            # element t s {  /  element ip t s {
        if n > k and toks[-k].kind is WORD and toks[-k].text == "element" and \
                toks[-k - 1].kind is WORD and toks[-k - 1].text in ("add", "create") and \
                all(t.kind is WORD for t in toks[-k + 1:-1]):
            return True
    return False
_COMMENT_LINE = re.compile(r"[ \t]*#[^\n]*\n")


def tokenize(text: str, filename: str = "<cmdline>", first_line: int = 1, bulk: bool = False,
             included_from: tuple = ()) -> list[Token]:
    """Split ``text`` into tokens; always ends with one EOF token.

    Never raises: characters nft's scanner does not know become JUNK tokens, which the
    parser reports as ``unexpected junk`` the way nft does.  ``bulk``: a long plain
    element list becomes one BULK token (see :mod:`.elements_fast`).  ``included_from``:
    the include chain of an included file (innermost first), carried by every location
    so an evaluation error renders nft's ``In file included from`` lines too."""
    toks: list[Token] = []
    append = toks.append
    pos = 0
    end = len(text)
    line = first_line
    col = 1
    line_start = 0
    nlpos = text.find("\n")
    line_text = text[:nlpos] if nlpos >= 0 else text
    # nft's erec_print prints a command-line buffer (indesc type INDESC_BUFFER) only up
    # to its first newline, whatever line the error is on, with that line's columns:
    # every <cmdline> location keeps its own line (the fast paths slice statements out
    # of it) and shows the buffer's first line.
    shown = line_text if filename == CMDLINE and nlpos >= 0 else None
    li = (filename, line_text, included_from, shown)
    master = _MASTER.match
    comment_line = _COMMENT_LINE.match
    opwords = OPWORDS
    at_bol = True
    while pos < end:
        if at_bol:
            # flex ^[ \t]*#.*\n : a comment line swallows its newline.
            m = comment_line(text, pos)
            if m:
                pos = m.end()
                line += 1
                col = 1
                line_start = pos
                nlpos = text.find("\n", pos)
                line_text = text[pos:nlpos] if nlpos >= 0 else text[pos:]
                li = (filename, line_text, included_from, shown)
                continue
            at_bol = False
        m = master(text, pos)
        if m is not None:
            g = m.lastgroup
            s = m.group(g)
            n = len(s)
            stop = m.end()
            c = col + (stop - n - pos)  # the token's column, after its blanks
            pos = stop
            col = c + n
            if g == "w":
                if n == 1 and s == ".":
                    append(Token(".", s, None, None, line, c, c, li))
                else:
                    k = opwords.get(s)
                    if k is not None:
                        append(Token(k, s, None, None, line, c, col - 1, li))
                    elif s == "vmap":
                        append(Token("vmap", s, None, None, line, c, col - 1, li))
                    else:
                        append(Token(WORD, s, s, None, line, c, col - 1, li))
            elif g == "op":
                append(Token(s, s, None, None, line, c, col - 1, li))
                if bulk and s == "{" and _bulk_context(toks):
                    stop = _ef.scan(text, pos)
                    if stop is not None:
                        append(Token(_ef.BULK, "", _ef.BulkElements(text, pos, stop, filename, line, line_start, c),
                                     None, line, col, col, li))
                        nl = text.count("\n", pos, stop)
                        if nl:
                            line += nl
                            line_start = text.rfind("\n", pos, stop) + 1
                            col = stop - line_start + 1
                            nlpos = text.find("\n", line_start)
                            line_text = text[line_start:nlpos] if nlpos >= 0 else text[line_start:]
                            li = (filename, line_text, included_from, shown)
                        else:
                            col += stop - pos   # the span is ASCII: characters are bytes
                        pos = stop
            elif g == "nl" or g == "cont":
                # a carriage return is no newline for nft 1.0.6's scanner: "\r\n" is a
                # junk token, then a newline (measured: "syntax error, unexpected junk")
                if g == "nl":
                    append(Token(NEWLINE, s, None, None, line, c, c, li))
                line += 1
                col = 1
                line_start = pos
                nlpos = text.find("\n", pos)
                line_text = text[pos:nlpos] if nlpos >= 0 else text[pos:]
                li = (filename, line_text, included_from, shown)
                at_bol = True
            elif g == "n":
                kind, v = _decnum(s)
                append(Token(kind, s, v if kind is NUM else s, None, line, c, col - 1, li))
            elif g == "q":
                if not s.isascii():
                    # Columns count bytes, as nft's: a UTF-8 string is wider than its characters.
                    col = c + len(s.encode("utf-8", "surrogateescape"))
                append(Token(QSTRING, s, s[1:-1], None, line, c, col - 1, li))
            elif g == "ip4" or g == "w8021":
                # scanner.l has explicit STRING rules for 8021q/8021ad.
                append(Token(WORD, s, s, None, line, c, col - 1, li))
            elif g == "hex":
                v = int(s, 16)
                kind = NUM if v < 1 << 64 else WORD
                append(Token(kind, s, v if kind is NUM else s, None, line, c, col - 1, li))
            elif g == "cmt":
                # nft counts columns in bytes (flex yyleng): a UTF-8 comment moves the
                # newline that follows it.
                if not s.isascii():
                    col = c + len(s.encode("utf-8", "surrogateescape"))
            elif g == "eoi":
                pass  # blanks at the end of the input
            else:  # pragma: no cover - every group is handled above
                raise AssertionError(g)
            continue
        # Nothing fast matched: skip the blanks, then flex's longest match decides.
        nb = _BLANKS.match(text, pos).end() - pos
        pos += nb
        col += nb
        r = _slow_token(text, pos)
        if r is None:
            ch = text[pos]
            append(Token(JUNK, ch, None, None, line, col, col, li))
            pos += 1
            # flex's ``.`` takes one byte: nft reports the first byte of a UTF-8 character.
            col += 1 if ch < "\x80" else len(ch.encode("utf-8", "surrogateescape"))
            continue
        kind, n, value = r
        s = text[pos : pos + n]
        if kind == "[":
            tok = Token("[", s, None, None, line, col, col, li)
        elif kind is WORD:
            k = opwords.get(s)
            if k is not None:
                tok = Token(k, s, None, None, line, col, col + n - 1, li)
            else:
                tok = Token(WORD, s, value if value is not None else s, None, line, col, col + n - 1, li)
        else:
            tok = Token(kind, s, value if value is not None else s, None, line, col, col + n - 1, li)
        append(tok)
        pos += n
        col += n
    # nft's <<EOF>> rule: update_pos(1) -- one column past the end.  After a final
    # newline nft prints the last line's text under the next line's number.
    eof_text = line_text
    if pos == line_start and line > first_line and not line_text:
        prev = text.rfind("\n", 0, max(0, line_start - 1))
        eof_text = text[prev + 1 : line_start - 1]
    append(Token(EOF, "", None, Location(filename, line, col, col, eof_text, included_from, shown_text=shown)))
    return toks
