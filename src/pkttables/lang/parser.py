"""Recursive-descent parser for the nftables language (nft 1.0.6's grammar).

Theory of operation
-------------------
Input is tokenized whole (:mod:`.lexer`), then read by one method per grammar
production.  Expressions use precedence climbing with nft's levels (lowest first):
``.`` concatenation, ``|``, ``^``, ``&``, ``<< >>``.  A rule is a list of statements; a
statement starts with a statement keyword (``counter``, ``log``, ``snat``...) or is an
expression followed by ``set`` (mangling), ``vmap`` (verdict map) or an optional
relational operator and a right-hand side.  Right-hand sides take any word as a
symbol (``tcp``, ``redirect``, ``echo-request``): the evaluator decides what it means.

Parse-time features, as nft implements them in its parser and scanner:

* ``define``/``redefine``/``undefine`` with block scopes; ``$x`` is replaced by the
  defined expression, relocated to the place of use (nft: ``symbol_lookup``).
* ``include "PATTERN"``: relative names are searched in the include path, then in
  ``DEFAULT_INCLUDE_PATH``; glob patterns may match nothing, plain names must exist;
  matches are read in sorted order (nft: ``scanner_include_file``).  Included tokens are
  spliced into the stream, so an include may appear wherever a block item may.
* Error recovery as nft's ``error stmt_separator`` productions: after a syntax error
  the tokens up to the next newline or ``;`` are dropped and parsing resumes in the
  same block; at most 10 errors are reported (nft's ``parser_max_errors``).

Every block item (rule, chain, set, property) must end with a newline or ``;`` --
a closing ``}`` is not a separator in nft 1.0.6 (``table t { chain c { } }`` fails).
"""

from __future__ import annotations

import dataclasses
import gc
import glob as _glob
import os
import re
import sys

from pkttables.errors import Diagnostic, EvalError, Location, SyntaxError_

from . import _keywords as K
from . import ast as A
from .elements_fast import BULK
from .lexer import ASTRING, EOF, JUNK, KEYWORDS, NEWLINE, NUM, QSTRING, WORD, Token, token_name, tokenize

__all__ = ["parse", "parse_file", "DEFAULT_INCLUDE_PATH", "MAX_ERRORS", "IncludedDiagnostic"]

# nft is configured with --sysconfdir=/etc on Debian: DEFAULT_INCLUDE_PATH "/etc".
DEFAULT_INCLUDE_PATH = "/etc"
MAX_ERRORS = 10  # nft_ctx->parser_max_errors
MAX_INCLUDE_DEPTH = 16

_VERBS = frozenset("add create insert replace delete get list reset flush rename describe monitor export import".split())
_FAMILIES = K.FAMILIES
_SEPS = (NEWLINE, ";")
_RELOPS = frozenset(["==", "!=", "<", ">", "<=", ">=", "!"])
_VERDICTS = frozenset(["accept", "drop", "continue", "return"])
_BINPREC = {"|": 1, "^": 2, "&": 3, "<<": 4, ">>": 4}
_STMT_WORDS = frozenset(
    "accept drop continue return jump goto counter limit quota log reject snat dnat masquerade "
    "redirect tproxy queue dup fwd notrack add update delete meter synproxy flow xt comment reset".split()
)
_EXPR_STARTERS = frozenset(
    set(K.PROTO_FIELDS) | set(K.EXTHDR_FIELDS) | K.META_UNQUALIFIED
    | {"meta", "ct", "fib", "socket", "osf", "numgen", "jhash", "symhash", "ipsec", "exthdr", "rt"}
)
#: token kinds that may begin a statement (nft's primary_expr: strings, numbers, `(`, `{`...)
_STMT_START_KINDS = frozenset((WORD, NUM, QSTRING, ASTRING, "(", "{", "@", "$"))
#: token kinds that may begin a set element, or close the set after a trailing comma
_ELEM_START_KINDS = _STMT_START_KINDS | frozenset(("}", "*"))
_IDENT_RE = re.compile(r"[A-Za-z0-9_]*")
_OBJ_KINDS = frozenset("counter quota limit secmark synproxy".split())
#: keywords nft's ``primary_rhs_expr`` takes (protocol names, ``exists``...): any other
#: keyword where a match's right-hand side starts is bison's bare "unexpected X" (checked
#: on nft 1.0.6 with ``ct mark KEYWORD`` for every keyword of the initial scanner state)
_RHS_KEYWORDS = frozenset(
    "ah arp comp dccp destroy dnat ecn esp ether exists icmp icmpv6 igmp ip ip6 missing "
    "redirect reset sctp snat tcp udp udplite vlan map set".split()
)
#: keywords that may start a statement's value (nft ``stmt_expr`` after ``set``: the
#: rhs protocol names and the expression keywords; checked with ``ct mark set KEYWORD``)
_STMT_VALUE_KEYWORDS = frozenset(
    "ah arp cgroup comp cpu ct day dccp destroy dnat ecn esp ether exists hour ibriport "
    "ibrname icmp icmpv6 igmp iif iifgroup iifname iiftype ip ip6 ipsec jhash mark meta "
    "missing nftrace numgen obriport obrname oif oifgroup oifname oiftype osf pkttype reset "
    "rt rtclassid sctp skgid skuid snat socket symhash tcp th time udp udplite vlan".split()
)
_LIST_PLURALS = frozenset(
    "tables chains sets maps counters quotas limits meters flowtables secmarks synproxys hooks ruleset".split()
)


@dataclasses.dataclass(frozen=True, slots=True)
class IncludedDiagnostic(Diagnostic):
    """A diagnostic inside an included file: rendered after nft's include chain
    (``erec_print``: the innermost include first, the others indented under it)::

        In file included from ./a.nft:2:3-20:
                         from main.nft:2:1-18:
        ./b.nft:1:27-27: Error: syntax error, unexpected '}'
    """

    included_from: tuple[Location, ...] = ()

    def render(self) -> str:
        if self.location is not None and self.location.included_from:
            return Diagnostic.render(self)    # the location carries the chain
        head = [("In file included from " if i == 0 else "                 from ") + f"{loc}:"
                for i, loc in enumerate(self.included_from)]
        return "\n".join(head + [Diagnostic.render(self)])


_LIMIT_SCOPED = frozenset(("bytes", "packets"))
# words of nft's tcp option scanner scope, named by their text in syntax errors
_TCPOPT_SCOPED = K.TCP_OPTIONS | K.TCP_OPTION_FIELDS | K.PROTO_FIELDS["tcp"]
_LOG_LEVELS = frozenset("emerg alert crit err warn notice info debug audit".split())
_RATE_UNITS = frozenset("second minute hour day week".split())
# bison's expecting list after an extension header keyword (none: a bare error)
_EXTHDR_EXPECT = {"hbh": "hdrlength or nexthdr", "dst": "hdrlength or nexthdr", "rt0": "addr",
                  "rt2": "addr", "srh": "flags or last-entry or tag or sid"}
_CT_SCOPED = K.CT_KEYS | {"expectation", "original", "reply"}
# Words that start a ct helper/timeout/expectation item and are keywords of nft's ct
# scanner scope only: after bison resumes a ct object's block (the scope is popped) they
# are "unexpected string".  Measured on nft 1.0.6: `policy`, `timeout`, `size`, `type`,
# `comment` stay keywords there (tests/unit/lang/golden_recovery.json).
_CT_RESUMED_STRINGS = frozenset({"l3proto", "protocol", "dport"})
_SET_FLAGS = frozenset(("constant", "interval", "dynamic", "timeout"))
_QUOTA_UNITS = frozenset(("bytes", "kbytes", "mbytes"))
_CHAIN_TYPES = frozenset(("filter", "nat", "route"))
# every hook name nft's chain_hookname_lookup knows (the family is checked later)
_HOOK_NAMES = frozenset(("prerouting", "input", "forward", "output", "postrouting", "ingress", "egress"))
_OBJECT_DATA = frozenset(("verdict", "counter", "quota", "limit", "secmark", "synproxy", "ct", "helper",
                          "timeout", "expectation"))


def _known_datatype(name: str) -> bool:
    if name in _OBJECT_DATA or name.startswith("$"):
        return True
    from pkttables.types import lookup
    try:
        lookup(name)
    except Exception:       # unknown name: pkttables.types raises its PktError
        return False
    return True


class ParserCheckError(SyntaxError_, EvalError):
    """Only checks nft's parser makes in its actions failed (unknown datatype, chain type
    or hook, "Wrong rate format", redefinition of a symbol): nft reports these while
    parsing, other front ends while evaluating, so the error is both kinds."""


class _Err(Exception):
    def __init__(self, tok: Token, expecting: str | None = None, message: str | None = None, loc: Location | None = None):
        self.tok = tok
        self.expecting = expecting
        self.message = message
        self.loc = loc
        self.name: str | None = None  # the token's name when scoped (see _Parser.err_kw)


#: (units of `(`, units of `{`) at which nft 1.0.6's parser stack overflows, by the
#: number of blocks around the rule (0: a command, 1: ``chain ... {``, 2 and more:
#: ``table ... { chain ... {``); see _Parser._open
_NEST_LIMITS = ((9994, 9996), (9992, 9994), (9987, 9988))
#: Python frames the descent takes per nesting level, at most (value_primary ->
#: _rhs_paren -> expr -> binexpr -> primary): the recursion limit parse() sets
_FRAMES_PER_LEVEL = 6

_LOOKAHEAD = 8  # the parser looks at most this many tokens ahead (peek(3) is the most used)


class _Parser:
    def __init__(self, toks: list[Token], include_path, depth=0):
        toks.extend([toks[-1]] * _LOOKAHEAD)  # peek(k) past the end sees EOF
        self.toks = toks
        self.i = 0
        self.include_path = list(include_path)
        self.scopes: list[dict] = [{}]
        self.diags: list[Diagnostic] = []
        self.depth = depth
        self.included: dict[int, tuple[Location, ...]] = {}  # id(token) -> include chain
        self.long_names: list[Token] = []  # names past NFT_NAME_MAXLEN, for _name_too_long

    # ------------------------------------------------------------ token helpers
    def peek(self, k: int = 0) -> Token:
        # The list ends with _LOOKAHEAD extra EOF tokens, so no bounds check is needed.
        return self.toks[self.i + k]

    def next(self) -> Token:
        t = self.toks[self.i]
        if t.kind is not EOF:
            self.i += 1
        return t

    def err(self, tok: Token | None = None, expecting: str | None = None):
        raise _Err(tok or self.peek(), expecting)

    def err_kw(self, tok: Token, expecting: str | None = None, scoped=()):
        """A syntax error naming ``tok`` by its text when it is a keyword of the current
        scanner start condition (``scoped``), as nft's scoped keywords are named."""
        e = _Err(tok, expecting)
        if tok.kind is WORD and tok.text in scoped:
            e.name = tok.text
        raise e

    def expect(self, kind: str, expecting: str | None = None) -> Token:
        t = self.peek()
        if t.kind != kind:
            self.err(t, expecting or token_name(Token(kind, kind, None, t.loc)))
        return self.next()

    def word(self, text: str) -> bool:
        t = self.peek()
        if t.kind is WORD and t.text == text:
            self.i += 1
            return True
        return False

    def is_word(self, text: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind is WORD and t.text == text

    def identifier(self) -> str:
        """nft ``identifier``: a STRING token that is not a keyword."""
        t = self.peek()
        if t.kind is WORD and t.text not in KEYWORDS:
            self.i += 1
            if len(t.value) > NFT_NAME_MAXLEN:
                self.long_names.append(t)
            return t.value
        self.err(t, "string")

    def string(self, expecting: str = "string") -> str:
        """nft ``string``: STRING, QUOTED_STRING or ASTERISK_STRING."""
        t = self.peek()
        if t.kind in (WORD, QSTRING, ASTRING) and not (t.kind is WORD and t.text in KEYWORDS):
            self.i += 1
            if len(t.value) > NFT_NAME_MAXLEN:
                self.long_names.append(t)
            return t.value
        self.err(t, expecting)

    def comment_string(self) -> str:
        """nft ``comment_spec: COMMENT string``; bison names all three string tokens."""
        return self.string("string or quoted string or string with a trailing asterisk")

    def number(self) -> int:
        t = self.peek()
        if t.kind is NUM:
            self.i += 1
            return t.value
        self.err(t, "number")

    def span(self, first: Location) -> Location:
        last = self.toks[self.i - 1].loc if self.i else first
        if last.line == first.line and last.file == first.file and last.last_col >= first.first_col:
            # the include chain and the shown line (a multi-line command buffer shows its
            # first line) go with the span
            return Location(first.file, first.line, first.first_col, last.last_col, first.line_text,
                            first.included_from, first.shown_text)
        return first

    def mk(self, cls, first: Location, *args):
        """``cls(span, *args)`` with the span taken *after* the arguments were parsed, so a
        node ends at its last token (``delete table ip handle 5``, ``flags a, b``)."""
        return cls(self.span(first), *args)

    _sep_expect = None

    # ------------------------------------------------------------ nesting depth
    #: stack entries of nft's bison parser taken by the open `(` (1 each) and set `{`
    #: (2 each) around the current token: see _open
    nest = 0

    def _open(self, tok: Token, units: int) -> None:
        """Count an opening `(` or set `{`; fail as nft 1.0.6 does when its parser
        stack is full.

        nft's bison parser keeps one stack entry per open symbol, and its stack holds
        YYMAXDEPTH = 10000 entries: deeper nesting is bison's "memory exhausted"
        (yyparse gives up, no error recovery) at the token that would not fit.  Our
        descent keeps no such stack, so the depth is counted here.  The entries below
        the nesting are those of the enclosing blocks (none for a command, ``chain ...
        {``, ``table ... { chain ... {``); the limits are the opening token at which nft
        1.0.6 fails, measured in a netns for ``meta mark (((...`` (1 entry per `(`) and
        ``ip saddr { { ...`` (2 per `{`) after ``add rule``, ``add element``,
        ``define``, ``chain ip t c {``, ``table ip t { chain c {`` and ``set s {
        elements =`` (docs/robustness.md)."""
        self.nest += units
        if self.nest >= _NEST_LIMITS[min(len(self.scopes) - 1, 2)][units == 2]:
            self._exhausted(tok)

    def _close(self, units: int) -> None:
        """Before the `)` or `}` that closes the innermost nesting: bison still pushes
        the innermost value (a set element takes 2 entries) and, for `)`, the `)`
        itself; one of them may be what no longer fits."""
        limit = _NEST_LIMITS[min(len(self.scopes) - 1, 2)][units == 2]
        if self.nest + units >= limit:
            self._exhausted(self.toks[self.i - 1])
        if units == 1 and self.nest + 2 >= limit:
            self._exhausted(self.peek())
        # the first `}` too, except inside two blocks (measured: a rule in ``table {
        # chain {`` takes one more level there; elements in ``table { set {`` do not)
        if units == 2 and len(self.scopes) < 3 and self.nest + 4 >= limit:
            self._exhausted(self.peek())

    def _exhausted(self, tok: Token) -> None:
        self.all_semantic = False
        self.nest = 0
        self.record(_Err(tok, message="memory exhausted", loc=tok.loc))
        raise _Abort()

    def separator(self, expecting: str | None = None):
        t = self.peek()
        if t.kind is NEWLINE or t.kind == ";":
            self.i += 1
            return
        if t.kind is EOF:
            return
        self.err(t, expecting or "newline or semicolon")

    def recover(self):
        """Drop tokens up to and including the next newline or ``;`` (bison ``error stmt_separator``)."""
        while True:
            t = self.peek()
            if t.kind is EOF:
                return
            self.i += 1
            if t.kind is NEWLINE or t.kind == ";":
                return

    all_semantic = True

    def record(self, e: _Err):
        chain = self.included.get(id(e.tok), ()) if self.included else ()
        if e.message is None or e.message.startswith("syntax error"):
            self.all_semantic = False
        if e.message is not None:
            loc, msg = e.loc or e.tok.loc, e.message
        else:
            loc, msg = e.tok.loc, "syntax error, unexpected " + (e.name or token_name(e.tok))
            if e.expecting:
                msg += ", expecting " + e.expecting
        if chain and loc is not None and loc.file == e.tok.loc.file:
            self.diags.append(IncludedDiagnostic(loc, msg, "Error", included_from=chain))
        else:
            self.diags.append(Diagnostic(loc, msg))
        if len(self.diags) >= MAX_ERRORS:
            raise _Abort()

    # ------------------------------------------------------------ script and blocks
    def script(self) -> A.Script:
        cmds: list[A.Command] = []
        first = self.peek().loc
        try:
            while self.peek().kind is not EOF:
                try:
                    if self.common_item():
                        continue
                    c = self.command()
                    self.separator(self.end_expect())
                    cmds.append(c)
                except _Err as e:
                    self.record(e)
                    if e.tok.kind is EOF:
                        break
                    self.recover()
        except _Abort:
            pass
        return A.Script(first, tuple(cmds))

    def common_item(self) -> bool:
        """Separators, include, define/redefine/undefine (nft ``common_block``)."""
        t = self.peek()
        if t.kind is NEWLINE or t.kind == ";":
            self.i += 1
            return True
        if t.kind is not WORD:
            return False
        if t.text == "include":
            self.next()
            q = self.expect(QSTRING, "quoted string")
            sep = self.peek()
            self.separator()
            # nft's location for the include covers its separator too.
            last = sep.loc.last_col if sep.kind is not EOF and sep.loc.line == t.loc.line else q.loc.last_col
            loc = Location(t.loc.file, t.loc.line, t.loc.first_col, last, t.loc.line_text)
            self.include(q.value, loc, t)
            return True
        if t.text in ("define", "redefine"):
            self.next()
            nt = self.peek()
            name = self.identifier()
            self.expect("=", "'='")
            value = self.define_value()
            self.separator()
            scope = self.scopes[-1]
            # nft symbol_lookup() searches the enclosing scopes too
            if t.text == "define" and any(name in sc for sc in self.scopes):
                raise _Err(nt, message=f"redefinition of symbol '{name}'", loc=nt.loc)
            scope[name] = value
            return True
        if t.text == "undefine":
            self.next()
            name = self.identifier()
            self.separator()
            # nft symbol_unbind(): the current scope only
            self.scopes[-1].pop(name, None)
            return True
        return False

    def define_value(self) -> A.Expr:
        if self.peek().kind == "{":
            return self.set_expr(allow_empty=True)
        # a define's value sits one bison stack entry lower than a rule's (measured)
        self.nest -= 1
        try:
            return self.rhs(allow_list=True)
        finally:
            self.nest += 1

    def include(self, name: str, loc: Location, kw: Token | None = None):
        parent = self.included.get(id(kw), ()) if kw is not None else ()
        # nft: the top file has depth 1, each include one more (input_descriptor.depth).
        if self.depth + len(parent) + 1 >= MAX_INCLUDE_DEPTH:
            raise _Err(kw or self.peek(), message=f"Include nested too deeply, max {MAX_INCLUDE_DEPTH} levels", loc=loc)
        files: list[str] = []
        if name.startswith(("./", "../", "/")):
            dirs = [None]
        else:
            dirs = self.include_path + [DEFAULT_INCLUDE_PATH]
        wildcard = any(c in name for c in "*?[")
        found_plain = False
        for d in dirs:
            pat = name if d is None else os.path.join(d, name)
            matches = sorted(p for p in _glob.glob(pat) if not os.path.isdir(p))
            if matches:
                files.extend(matches)
                if not wildcard:
                    found_plain = True
                    break
        if not files and not wildcard:
            raise _Err(kw or self.peek(), message=f"File not found: {name}", loc=loc)
        del found_plain
        new: list[Token] = []
        for f in files:
            try:
                with open(f, encoding="utf-8", errors="surrogateescape", newline="") as fh:
                    text = fh.read()
            except OSError as e:
                raise _Err(kw or self.peek(), message=f'Could not open file "{f}": {e.strerror}', loc=loc) from None
            toks = tokenize(text, f, included_from=(loc,) + parent)
            toks.pop()  # the included file's EOF
            if toks and toks[-1].kind is not NEWLINE:
                toks.append(Token(NEWLINE, "\n", None, toks[-1].loc))
            # Remember the include chain of every token of the file (innermost first),
            # for nft's "In file included from FILE:LINE:COL-COL:" lines.
            chain = (loc,) + parent
            for tok in toks:
                self.included[id(tok)] = chain
            new.extend(toks)
        self.toks[self.i : self.i] = new

    def block(self, item_fn, sep_optional: bool = False) -> tuple:
        """``'{' items '}'`` where every item ends with a separator (optional with
        ``sep_optional``); own define scope."""
        self.expect("{", "'{'")
        items: list = []
        scope: dict = {}
        self._block_items(item_fn, items, scope, sep_optional)
        # Remember the block just closed: a table item's separator error resumes in it.
        self._closed = (self.i - 1, item_fn, items, scope, sep_optional, self._in_map)
        return tuple(items)

    _closed: tuple | None = None
    #: inside a ct object block resumed by error recovery (_item_separator)
    _ct_resumed: bool = False

    def _block_items(self, item_fn, items: list, scope: dict, sep_optional: bool) -> None:
        """The items of a block whose ``{`` is consumed, up to and including its ``}``."""
        self.scopes.append(scope)
        try:
            while True:
                t = self.peek()
                if t.kind == "}":
                    self.next()
                    return
                if t.kind is EOF:
                    self.err(t)
                try:
                    if self.common_item():
                        continue
                    self._closed = None
                    r = item_fn()
                    if r is not None:
                        items.append(r)
                    closed, self._closed = self._closed, None
                    # nft: ``elements = {..}`` and ``devices = {..}`` need no separator.
                    if sep_optional:
                        if self.peek().kind is NEWLINE or self.peek().kind == ";":
                            self.i += 1
                    elif not (isinstance(r, A.Prop) and r.name in ("elements", "devices") and self.toks[self.i - 1].kind == "}"):
                        if closed is not None and r is not None:
                            self._item_separator(r, items, closed)
                        else:
                            self.separator(getattr(self, "_sep_expect", None))
                    self._sep_expect = None
                except _Err as e:
                    if e.tok.kind is EOF:
                        raise
                    self.record(e)
                    self.recover()
        finally:
            self.scopes.pop()

    def _item_separator(self, r, items: list, closed: tuple) -> None:
        """The separator after a table item with a block (chain, set, map, flowtable,
        stateful object).

        nft's ``table_block`` productions end ``'{' chain_block '}' stmt_separator``: a
        token other than a separator after the ``}`` is an error while the inner block is
        still on bison's stack, so ``error`` pops only the ``}`` and recovery resumes
        *inside* the inner block (in its define scope): the next lines are that block's
        items, and its next ``}`` closes it (checked with nft 1.0.6:
        tests/unit/lang/test_lang_recovery.py)."""
        while True:
            end, item_fn, body, scope, sep_optional, in_map = closed
            if end != self.i - 1:       # the item went on after its block
                self.separator(getattr(self, "_sep_expect", None))
                return
            try:
                self.separator()
                return
            except _Err as e:
                if e.tok.kind is EOF:
                    raise
                self.record(e)
                self.recover()
            outer, self._in_map = self._in_map, in_map
            # A resumed ct helper/timeout/expectation block is parsed without the ct
            # scanner scope: nft's close_scope_ct popped it with the `}` (see
            # _CT_RESUMED_STRINGS).
            outer_ct, self._ct_resumed = self._ct_resumed, \
                isinstance(r, A.StatefulObj) and r.kind.startswith("ct ")
            try:
                try:
                    self._block_items(item_fn, body, scope, sep_optional)
                finally:
                    # the item gets what the resumed block adds (nft keeps one object)
                    new = tuple(p for line in body for p in line) if isinstance(r, A.StatefulObj) else tuple(body)
                    r = items[-1] = dataclasses.replace(r, body=new)
            finally:
                self._in_map = outer
                self._ct_resumed = outer_ct
            closed = (self.i - 1, item_fn, body, scope, sep_optional, in_map)

    # ------------------------------------------------------------ commands
    def family(self) -> str | None:
        t = self.peek()
        if t.kind is WORD and t.text in _FAMILIES:
            self.i += 1
            return t.text
        return None

    def handle(self) -> int | None:
        if self.word("handle"):
            return self.number()
        return None

    def command(self) -> A.Command:
        t = self.peek()
        start = t.loc
        if t.kind is WORD and t.text in _VERBS:
            verb = self.next().text
        elif t.kind is WORD and t.text in ("table", "chain", "rule", "set", "map", "element", "flowtable", "counter", "quota", "limit", "ct", "secmark", "synproxy") or (t.kind is WORD and t.text not in KEYWORDS) or (t.kind is WORD and t.text in _FAMILIES):
            verb = "add"
        else:
            self.err(t)
        if verb == "describe":
            e = self.expr()
            return A.Command(start, verb, A.Describe(e.loc, e))
        if verb == "monitor":
            ev = what = fmt = None
            if self.peek().kind is WORD and self.peek().text in ("new", "destroy"):
                ev = self.next().text
            if self.peek().kind is WORD and self.peek().text in ("tables", "chains", "sets", "rules", "elements", "ruleset", "trace", "flowtables"):
                what = self.next().text
            if self.peek().kind is WORD and self.peek().text in ("xml", "json", "vm"):
                fmt = self.next().text
            return A.Command(start, verb, self.mk(A.Monitor, start, ev, what, fmt))
        if verb in ("export", "import"):
            self.word("ruleset")
            t2 = self.peek()
            if t2.kind is WORD and t2.text in ("xml", "json", "vm"):
                self.next()
                return A.Command(start, verb, self.mk(A.Export, start, t2.text))
            self.err(t2, "xml or json or vm")
        obj = self.object(verb)
        newname = None
        if verb == "rename":
            newname = self.identifier()
        return self.mk(A.Command, start, verb, obj, newname)

    def object(self, verb: str) -> A.Obj:
        t = self.peek()
        start = t.loc
        w = t.text if t.kind is WORD else None
        if verb in ("list", "flush", "reset") and w in _LIST_PLURALS and w != "ruleset":
            self.next()
            fam = tab = None
            if self.word("table"):
                fam = self.family()
                tab = self.identifier()
            else:
                fam = self.family()
                if w == "hooks" and self.word("device"):
                    tab = self.string()
            return self.mk(A.ListObj, start, w, fam, tab)
        if w == "ruleset":
            self.next()
            return self.mk(A.RulesetObj, start, self.family())
        if w == "table":
            self.next()
            fam = self.family()
            if self.is_word("handle"):
                return self.mk(A.TableObj, start, fam, None, self.handle())
            name = self.identifier()
            body = None
            if self.peek().kind == "{" and verb in ("add", "create"):
                body = self.block(self.table_item)
            return self.mk(A.TableObj, start, fam, name, None, body)
        if w == "chain":
            self.next()
            fam = self.family()
            tab = self.identifier()
            if self.is_word("handle"):
                return self.mk(A.ChainObj, start, fam, tab, None, self.handle())
            name = self.chain_name()
            body = None
            if self.peek().kind == "{" and verb in ("add", "create"):
                body = self.block(self.chain_item)
            return self.mk(A.ChainObj, start, fam, tab, name, None, body)
        if w in ("set", "map", "meter"):
            self.next()
            fam = self.family()
            tab = self.identifier()
            if self.is_word("handle"):
                return self.mk(A.SetObj, start, w, fam, tab, None, self.handle())
            name = self.identifier()
            body = None
            if self.peek().kind == "{" and verb in ("add", "create"):
                body = self._set_block(w)
            return self.mk(A.SetObj, start, w, fam, tab, name, None, body)
        if w == "element":
            self.next()
            fam = self.family()
            tab = self.identifier()
            name = self.identifier()
            elems = self.set_expr()
            return self.mk(A.ElementObj, start, fam, tab, name, elems)
        if w == "flowtable":
            self.next()
            fam = self.family()
            tab = self.identifier()
            if self.is_word("handle"):
                return self.mk(A.FlowtableObj, start, fam, tab, None, self.handle())
            name = self.identifier()
            body = None
            if self.peek().kind == "{" and verb in ("add", "create"):
                body = self.block(self.flowtable_item)
            return self.mk(A.FlowtableObj, start, fam, tab, name, None, body)
        if w in _OBJ_KINDS or (w == "ct" and self.peek(1).kind is WORD and self.peek(1).text in ("helper", "timeout", "expectation", "helpers", "timeouts", "expectations")):
            self.next()
            kind = w
            if w == "ct":
                kind = "ct " + self.next().text
            if verb in ("list", "reset", "delete", "flush") and self.peek().kind is WORD and self.peek().text == "table":
                self.next()
                fam = self.family()
                return self.mk(A.ListObj, start, kind, fam, self.identifier())
            fam = self.family()
            if kind.endswith("s") and verb == "list":
                return self.mk(A.ListObj, start, kind, fam, None)
            tab = self.identifier()
            if self.is_word("handle"):
                return self.mk(A.StatefulObj, start, kind, fam, tab, None, self.handle())
            name = self.identifier()
            body = None
            if verb in ("add", "create"):
                if self.peek().kind == "{":
                    body = self.obj_block(kind)
                else:
                    body = self.obj_props(kind)
            return self.mk(A.StatefulObj, start, kind, fam, tab, name, None, body)
        if w == "rule":
            self.next()
        elif verb not in ("add", "create", "insert", "replace"):
            self.err(t)
        return self.rule_obj(verb, start)

    def rule_obj(self, verb: str, start: Location) -> A.RuleObj:
        fam = self.family()
        tab = self.identifier()
        chain = self.chain_name()
        handle = position = index = None
        if self.word("handle"):
            handle = self.number()
        elif self.word("position"):
            position = self.number()
        elif self.word("index"):
            index = self.number()
        rule = None
        if verb in ("add", "create", "insert", "replace"):
            rule = self.rule()
        return self.mk(A.RuleObj, start, fam, tab, chain, rule, handle, position, index)

    def chain_name(self) -> str:
        t = self.peek()
        if t.kind is QSTRING:  # nft: chain_identifier accepts quoted names? no -- identifier only
            self.err(t, "string")
        return self.identifier()

    # ------------------------------------------------------------ block items
    def table_item(self):
        t = self.peek()
        start = t.loc
        w = t.text if t.kind is WORD else None
        if w == "chain":
            self.next()
            name = self.chain_name()
            body = self.block(self.chain_item)
            return self.mk(A.ChainObj, start, None, None, name, None, body)
        if w in ("set", "map"):
            self.next()
            name = self.identifier()
            body = self._set_block(w)
            return self.mk(A.SetObj, start, w, None, "", name, None, body)
        if w == "flowtable":
            self.next()
            name = self.identifier()
            body = self.block(self.flowtable_item)
            return self.mk(A.FlowtableObj, start, None, None, name, None, body)
        if w in _OBJ_KINDS or (w == "ct" and self.is_word("helper", 1) or w == "ct" and self.is_word("timeout", 1) or w == "ct" and self.is_word("expectation", 1)):
            self.next()
            kind = w if w != "ct" else "ct " + self.next().text
            name = self.identifier()
            body = self.obj_block(kind)
            return self.mk(A.StatefulObj, start, kind, None, None, name, None, body)
        if w == "flags":
            self.next()
            return self.mk(A.Prop, start, "flags", tuple(self.flag_list()))
        if w == "comment":
            self.next()
            return self.mk(A.Prop, start, "comment", self.comment_string())
        self.err(t)

    def flag_list(self, known: frozenset[str] | None = None, expecting: str = "string") -> list[str]:
        out = [self.flag_word(known, expecting)]
        while self.peek().kind == ",":
            self.next()
            out.append(self.flag_word(known, expecting))
        return out

    def flag_word(self, known: frozenset[str] | None = None, expecting: str = "string") -> str:
        t = self.peek()
        if t.kind is WORD and (known is None or t.text in known):
            self.next()
            return t.text
        self.err(t, expecting)

    def prio(self) -> A.Expr:
        t = self.peek()
        if t.kind is NUM:
            self.next()
            return A.Number(t.loc, t.value, t.text)
        if t.kind == "-":
            self.next()
            n = self.expect(NUM, "number")
            return self.mk(A.Number, t.loc, -n.value, "-" + n.text)
        if t.kind == "$":
            return self.variable()
        if t.kind in (WORD, QSTRING):
            self.next()
            base: A.Expr = A.Symbol(t.loc, t.value)
            op = self.peek()
            if op.kind in ("+", "-"):
                self.next()
                n = self.expect(NUM, "number")
                return self.mk(A.Binop, t.loc, op.kind, base, A.Number(n.loc, n.value, n.text))
            return base
        self.err(t)

    def chain_item(self):
        t = self.peek()
        start = t.loc
        w = t.text if t.kind is WORD else None
        if w == "type" and self.peek(1).kind is WORD:
            self.next()
            ttok = self.peek()
            ctype = self.string()
            hook = prio = dev = None
            htok = None
            if self.word("hook"):
                htok = self.peek()
                hook = self.string()
                if self.word("device"):
                    dev = self.devices_value()
                elif self.is_word("devices") and self.peek(1).kind == "=":
                    # nft dev_spec: ``devices = { a, b }`` (netdev chains on several devices)
                    self.i += 2
                    dev = self.devices_value()
                if self.word("priority"):
                    prio = self.prio()
                else:
                    self.err(self.peek(), "priority")
            # nft's hook_spec action looks the names up (chain_type_name_lookup,
            # chain_hookname_lookup) and YYERRORs: the rest of the line is skipped
            if ctype not in _CHAIN_TYPES:
                raise _Err(ttok, message="unknown chain type", loc=ttok.loc)
            if htok is not None and hook not in _HOOK_NAMES:
                raise _Err(htok, message="unknown chain hook", loc=htok.loc)
            return self.mk(A.ChainType, start, ctype, hook, prio, dev)
        if w == "policy":
            self.next()
            p = self.peek()
            if p.kind == "$":
                return self.mk(A.Prop, start, "policy", self.variable())
            if p.kind is WORD and p.text in ("accept", "drop"):
                self.next()
                return self.mk(A.Prop, start, "policy", p.text)
            self.err(p, "accept or drop or '$'")
        if w == "devices" and self.peek(1).kind == "=":
            self.next()
            self.next()
            return self.mk(A.Prop, start, "devices", self.devices_value())
        if w == "comment" and self.peek(1).kind in (QSTRING, WORD):
            self.next()
            return self.mk(A.Prop, start, "comment", self.comment_string())
        if w == "flags" and self.is_word("offload", 1):
            self.next()
            return self.mk(A.Prop, start, "flags", tuple(self.flag_list()))
        return self.rule()

    def devices_value(self):
        t = self.peek()
        if t.kind == "{":
            return self.set_expr()
        if t.kind == "$":
            return self.variable()
        self.next()
        if t.kind in (WORD, QSTRING, ASTRING):
            return A.String(t.loc, t.value) if t.kind is QSTRING else A.Symbol(t.loc, t.value)
        self.err(t, "string")

    _in_map = False

    def _set_block(self, kind: str) -> tuple:
        outer, self._in_map = self._in_map, kind == "map"
        try:
            return self.block(self.set_item)
        finally:
            self._in_map = outer

    def set_item(self):
        t = self.peek()
        start = t.loc
        w = t.text if t.kind is WORD else None
        if w == "type":
            self.next()
            toks = [self.peek()]
            key = [self.type_word()]
            while self.peek().kind == ".":
                self.next()
                toks.append(self.peek())
                key.append(self.type_word())
            data = None
            interval = False
            if self.peek().kind == ":":
                self.next()
                if self.word("interval"):
                    interval = True
                toks.append(self.peek())
                data = [self.type_word()]
                while self.peek().kind == ".":
                    self.next()
                    toks.append(self.peek())
                    data.append(self.type_word())
                data = tuple(data)
            elif self._in_map:
                # map_block: TYPE data_type_expr COLON ... (the data type is required)
                self.err(self.peek(), "colon or .")
            # nft data_type_atom_expr: an unknown name is an error of the parser
            # (datatype_lookup_byname), the rest of the line is skipped
            for tk in toks:
                if not _known_datatype(tk.text):
                    raise _Err(tk, message=f"unknown datatype {tk.text}", loc=tk.loc)
            self._sep_expect = "newline or semicolon or ." if data is None else None
            return self.mk(A.SetType, start, False, tuple(key), data, interval)
        if w == "typeof":
            self.next()
            if self.peek().kind is WORD and self.peek().text not in KEYWORDS \
                    and self.peek(1).kind in (WORD, NEWLINE, ";", "}"):
                # a lone identifier is a symbol expression, which has no typeof
                # serialization (nft set_block TYPEOF action)
                t0 = self.peek()
                raise _Err(t0, message="primary expression type 'symbol' lacks typeof serialization",
                           loc=t0.loc)
            key = self.expr(stop_at_colon=True)
            data = None
            interval = False
            if self.peek().kind == ":":
                self.next()
                if self.word("interval"):
                    interval = True
                data = (self.expr(),)
            return self.mk(A.SetType, start, True, (key,), data, interval)
        if w == "flags":
            self.next()
            self._sep_expect = "newline or semicolon or comma"
            # nft set_flag: keywords only, listed in bison's token order
            return self.mk(A.Prop, start, "flags", tuple(self.flag_list(
                _SET_FLAGS, "constant or interval or dynamic or timeout")))
        if w in ("timeout", "gc-interval"):
            self.next()
            return self.mk(A.Prop, start, w, self.time_value())
        if w == "size":
            self.next()
            return self.mk(A.Prop, start, w, self.number())
        if w == "policy":
            self.next()
            return self.mk(A.Prop, start, w, self.flag_word())
        if w == "elements":
            self.next()
            self.expect("=", "'='")
            if self.peek().kind == "$":
                return self.mk(A.Prop, start, w, self.variable())
            return self.mk(A.Prop, start, w, self.set_expr())
        if w == "auto-merge":
            self.next()
            return self.mk(A.Prop, start, w, True)
        if w == "comment":
            self.next()
            return self.mk(A.Prop, start, w, self.comment_string())
        if w in ("counter", "quota", "limit"):
            return self.mk(A.Prop, start, "stmt", self.stmt())
        self.err(t)

    def type_word(self) -> str:
        t = self.peek()
        if t.kind is WORD:
            self.next()
            return t.text
        self.err(t, "string")

    def time_value(self) -> A.Expr:
        t = self.next()
        if t.kind is NUM:
            return A.Number(t.loc, t.value, t.text)
        if t.kind in (WORD, QSTRING):
            return A.Symbol(t.loc, t.value)
        self.err(t)

    def flowtable_item(self):
        t = self.peek()
        start = t.loc
        w = t.text if t.kind is WORD else None
        if w == "hook":
            self.next()
            hook = self.string()
            prio = None
            if self.word("priority"):
                prio = self.prio()
            return self.mk(A.ChainType, start, "flowtable", hook, prio)
        if w == "devices":
            self.next()
            self.expect("=", "'='")
            return self.mk(A.Prop, start, "devices", self.devices_value())
        if w == "counter":
            self.next()
            return self.mk(A.Prop, start, "counter", True)
        if w == "flags":
            self.next()
            return self.mk(A.Prop, start, "flags", tuple(self.flag_list()))
        self.err(t)

    def obj_block(self, kind: str) -> tuple:
        """A stateful object's ``{ ... }``: its property lines, flattened into one tuple."""
        # nft's counter/quota/limit/synproxy/secmark blocks are `block config` lists with
        # optional separators (`counter c { packets 1 bytes 2 }`); the ct helper/timeout/
        # expectation blocks need a separator after every item (checked on nft 1.0.6).
        lines = self.block(lambda: self.obj_props(kind) or self.err(self.peek()),
                           sep_optional=not kind.startswith("ct "))
        return tuple(p for line in lines for p in line)

    def obj_props(self, kind: str) -> tuple:
        """One line of a stateful object's properties, in the shape the JSON front end
        builds (``json_input.b_<kind>``), one ``Prop(name, values)`` per property:

        * counter ``packets N bytes N``; ct helper ``type "ftp" protocol tcp``, ``l3proto ip``;
          ct timeout ``protocol``, ``l3proto``, ``policy = {state: N}``; ct expectation
          ``protocol``, ``dport``, ``timeout``, ``size``, ``l3proto``: ``Prop(name, (values...))``.
        * quota ``[over] N unit [used N unit]``: ``Prop("over"|"value", (N, unit))``,
          ``Prop("used", (N, unit))``.
        * limit ``rate [over] N[ unit]/per [burst N [unit]]``: ``Prop("rate", ([over,] N,
          [unit,] per))``, ``Prop("burst", (N, unit))`` (the unit nft implies when omitted).
        * synproxy ``mss N``, ``wscale N``, ``Prop(flag, ())`` per flag; secmark ``"ctx"``:
          ``Prop("value", "ctx")``; any kind: ``comment "x"``: ``Prop("comment", (String,))``.
        """
        t = self.peek()
        start = t.loc
        if t.kind is WORD and t.text == "comment":
            self.next()
            v = self.peek()
            return (self.mk(A.Prop, start, "comment", (self.value_primary(),)),) if v.kind in (QSTRING, WORD) else self.err(v, "string")
        if kind == "secmark" and t.kind is QSTRING:
            self.next()
            return (A.Prop(t.loc, "value", t.value),)
        if kind == "limit" and t.kind is WORD and t.text == "rate":
            lim = self.limit_args(start)
            n = A.Number(lim.loc, lim.rate, str(lim.rate))
            vals: tuple = ((A.Symbol(lim.loc, "over"),) if lim.over else ()) + (n,)
            if lim.unit != "packets":
                vals += (A.Symbol(lim.loc, lim.unit),)
            out = [A.Prop(lim.loc, "rate", vals + (A.Symbol(lim.loc, lim.per),))]
            if lim.burst:
                bunit = lim.burst_unit or ("packets" if lim.unit == "packets" else "bytes")
                out.append(A.Prop(lim.loc, "burst", (A.Number(lim.loc, lim.burst, str(lim.burst)), A.Symbol(lim.loc, bunit))))
            return tuple(out) + self.obj_props(kind)
        if kind == "quota" and (t.kind is NUM or t.kind is WORD and t.text in ("over", "until")):
            q = self.quota_args(start, obj=True)
            if q.unit not in _QUOTA_UNITS or (q.used is not None and q.used_unit not in _QUOTA_UNITS):
                # nft quota_config: rate_parse() fails -> "Wrong rate format" over the
                # whole config, and the parser skips to the next separator.  Without
                # over/until the config starts with an empty rule, which bison locates
                # at the token before it (the '{').
                first = start
                if t.kind is NUM and self.i >= 1:
                    j = self.toks.index(t, max(0, self.i - 8))
                    if j > 0 and self.toks[j - 1].loc.line == t.loc.line:
                        first = self.toks[j - 1].loc
                raise _Err(t, message="Wrong rate format", loc=self.span(first))
            out = [A.Prop(q.loc, "over" if q.over else "value", (A.Number(q.loc, q.amount, str(q.amount)), A.Symbol(q.loc, q.unit)))]
            if q.used is not None:
                out.append(A.Prop(q.loc, "used", (A.Number(q.loc, q.used, str(q.used)), A.Symbol(q.loc, q.used_unit))))
            return tuple(out) + self.obj_props(kind)
        if self._ct_resumed and kind.startswith("ct ") and t.kind is WORD and t.text in _CT_RESUMED_STRINGS:
            # nft pops the ct scanner scope (close_scope_ct) when the object's `}` is
            # reduced, and bison's recovery then resumes inside the block: these item
            # words are plain strings there (`type "ftp" protocol tcp` still parses,
            # a line starting with `protocol`, `l3proto` or `dport` does not).
            e = _Err(t)
            e.name = WORD
            raise e
        if kind in ("quota", "limit") and t.kind not in (NEWLINE, ";", "}", EOF):
            # quota_block/limit_block hold their config, comment and separators only
            self.err_kw(t)
        if kind == "counter" and t.kind not in (NEWLINE, ";", "}", EOF):
            # counter_block: counter_config (``PACKETS NUM BYTES NUM``), comment, separators
            if not (t.kind is WORD and t.text == "packets"):
                self.err_kw(t, scoped=("bytes",))
            self.next()
            if self.peek().kind is not NUM:
                self.err(self.peek(), "number")
            pk = self.value_primary()
            b = self.peek()
            if not self.word("bytes"):
                self.err(b, "bytes")
            if self.peek().kind is not NUM:
                self.err(self.peek(), "number")
            out = (self.mk(A.Prop, start, "packets", (pk,)), self.mk(A.Prop, b.loc, "bytes", (self.value_primary(),)))
            return out + self.obj_props(kind)
        if kind == "synproxy" and t.kind is WORD and t.text in ("timestamp", "sack-perm", "sack-permitted"):
            self.next()
            return (A.Prop(t.loc, t.text, ()),) + self.obj_props(kind)
        props = self.inline_props(kind)
        return props + self.obj_props(kind) if self.is_word("comment") else props

    def _ct_obj_check(self, kind: str, t: Token) -> None:
        """nft's ct object grammar: ``protocol`` takes tcp or udp (ct helper),
        ``l3proto`` a family."""
        if t.text == "protocol" and kind == "ct helper" \
                and not (self.peek(1).kind is WORD and self.peek(1).text in ("tcp", "udp")):
            self.next()
            self.err(self.peek(), "udp or tcp")
        if t.text == "l3proto" and not (self.peek(1).kind is WORD and self.peek(1).text in _FAMILIES):
            self.next()
            self.err(self.peek())

    def inline_props(self, kind: str = "") -> tuple:
        """``packets 1 bytes 2``, ``over 25 mbytes used 1 kbytes``, ``rate 10/second burst 5 packets``,
        ``type "ftp" protocol tcp``, ``policy = { established: 10 }``: (name, values) properties."""
        out = []
        while True:
            t = self.peek()
            if t.kind in (NEWLINE, ";", "}", EOF) or t.kind is WORD and t.text == "comment":
                return tuple(out)
            start = t.loc
            if t.kind is WORD and kind.startswith("ct "):
                self._ct_obj_check(kind, t)
            if t.kind is WORD and not (t.text[0].isdigit()):
                self.next()
                if self.peek().kind == "=":
                    self.next()
                vals = []
                while True:
                    v = self.peek()
                    if v.kind in (NEWLINE, ";", "}", EOF) or v.kind is WORD and v.text == "comment" or (v.kind is WORD and not v.text[0].isdigit() and vals and v.text in ("bytes", "packets", "burst", "used", "protocol", "l3proto", "policy", "dport", "timeout", "size", "wscale", "mss", "timestamp", "sack-perm", "sack-permitted", "until", "rate", "over", "type")):
                        break
                    if v.kind is WORD and v.text in ("bytes", "packets", "burst", "used", "over", "until", "rate", "timestamp", "sack-perm", "sack-permitted", "wscale", "mss") and not vals:
                        break
                    vals.append(self.value_primary(allow_set=True))
                    if self.peek().kind == "/":
                        self.next()
                        vals.append(self.value_primary())
                out.append(self.mk(A.Prop, start, t.text, tuple(vals)))
            else:
                v = self.value_primary(allow_set=True)
                vals = [v]
                u = self.peek()
                if u.kind == "/":
                    self.next()
                    vals.append(self.value_primary())
                elif u.kind is WORD and u.text not in ("used", "burst", "over", "until"):
                    self.next()
                    vals.append(A.Symbol(u.loc, u.text))
                out.append(self.mk(A.Prop, start, "value", tuple(vals)))

    # ------------------------------------------------------------ rules and statements
    def rule(self) -> A.Rule:
        start = self.peek().loc
        stmts = []
        comment = None
        while True:
            t = self.peek()
            if t.kind in (NEWLINE, ";", "}", EOF):
                break
            if stmts and t.kind not in _STMT_START_KINDS:
                # between statements bison has reduced to the rule (its default
                # reductions): a token that starts no statement expects only its end
                self.err(t, self.end_expect())
            if t.kind is WORD and t.text == "comment":
                if not stmts and self.peek(1).kind in (QSTRING, WORD, ASTRING):
                    # nft's rule is `stmt_list [comment_spec]`: one statement at least
                    # (in a chain block `comment {` is the chain's comment_spec instead)
                    self.err(t)
                self.next()
                comment = self.comment_string()
                if self.peek().kind not in (NEWLINE, ";", EOF) and not (self.peek().kind == "}" and len(self.scopes) > 1):
                    # the comment ends the rule (nft's rule: stmt_list comment_spec)
                    self.err(self.peek(), self.end_expect())
                break
            stmts.append(self.stmt())
        if not stmts and comment is None:
            self.err(self.peek())
        return self.mk(A.Rule, start, tuple(stmts), comment)

    def stmt(self) -> A.Stmt:
        t = self.peek()
        start = t.loc
        if t.kind is WORD:
            w = t.text
            m = getattr(self, "stmt_" + w.replace("-", "_"), None) if w in _STMT_WORDS else None
            if m is not None:
                r = m()
                if r is not None:
                    return r
            elif w == "set" and self.peek(1).kind is WORD and self.peek(1).text in ("add", "update", "delete"):
                return self.stmt_set_old()
            elif w == "ct" and self.is_word("count", 1):
                self.next()
                self.next()
                over = self.word("over")
                return self.mk(A.Connlimit, start, self.number(), over)
        if t.kind is WORD and t.text in KEYWORDS and t.text not in _EXPR_STARTERS:
            self.err(t)
        ct_obj = t.kind is WORD and t.text == "ct" and self.peek(1).kind is WORD \
            and self.peek(1).text in ("timeout", "expectation")
        if ct_obj and not self.is_word("set", 2):
            # nft's objref_stmt_ct: `ct timeout|expectation` at a statement's start only
            # goes on with `set` (a ct key elsewhere is bison's bare "unexpected timeout")
            self.err(self.peek(2), "set")
        self._ct_obj_ok = ct_obj
        try:
            left = self.expr(lhs=True)
        finally:
            self._ct_obj_ok = False
        t = self.peek()
        if t.kind is WORD and t.text == "set" and isinstance(left, A.Rt):
            # nft 1.0.6 has no rt statement: `rt mtu set 1` is bison's "unexpected set"
            self.err(t)
        if t.kind is WORD and t.text == "set":
            self.next()
            v = self.peek()
            if v.kind is WORD and v.text in KEYWORDS and v.text not in _STMT_VALUE_KEYWORDS:
                self.err(v)
            if v.kind is WORD and v.text in _HDR_VALUE_FIELDS and not self.is_word(_HDR_VALUE_FIELDS[v.text][0], 1) \
                    and not (self.peek(1).kind is WORD and self.peek(1).text in _HDR_VALUE_FIELDS[v.text][1]):
                # a statement's value is a stmt_expr: `esp` there starts an esp header
                # expression, which needs its field (`ah nexthdr set esp`)
                self.next()
                self.err(self.peek(), _HDR_VALUE_FIELDS[v.text][2])
            # a statement's value sits two bison stack entries higher than a match's
            # right-hand side (measured: `meta mark set (((...` fails 2 levels sooner)
            self.nest += 2
            try:
                value = self.expr()
            finally:
                self.nest -= 2
            if self.peek().kind == ",":
                items = [value]
                while self.peek().kind == ",":
                    self.next()
                    items.append(self.expr())
                value = self.mk(A.ListExpr, value.loc, tuple(items))
            return self.mk(A.SetStmt, start, left, value)
        if t.kind == "vmap":
            self.next()
            return self.mk(A.VmapStmt, start, left, self.map_rhs())
        op = "implicit"
        if t.kind in _RELOPS:
            op = t.kind
            self.next()
        self._in_rhs = True
        try:
            right = self.rhs(allow_list=True)
        finally:
            self._in_rhs = False
        return self.mk(A.Match, start, left, op, right)

    def map_rhs(self) -> A.Expr:
        t = self.peek()
        if t.kind == "{":
            return self.set_expr()
        if t.kind == "@":
            return self.set_ref()
        if t.kind == "$":
            return self.variable()
        self.err(t)

    def verdict(self) -> A.Verdict:
        t = self.next()
        if t.text in ("jump", "goto"):
            n = self.peek()
            if n.kind == "$":
                target = self.variable()
            elif n.kind in (WORD, QSTRING) and not (n.kind is WORD and n.text in KEYWORDS):
                self.next()
                target = A.Symbol(n.loc, n.value)
            else:
                self.err(n, "'{'" if n.kind in (NEWLINE, EOF) else None)
            return self.mk(A.Verdict, t.loc, t.text, target)
        return A.Verdict(t.loc, t.text)

    def _verdict_stmt(self):
        v = self.verdict()
        return A.VerdictStmt(v.loc, v)

    stmt_accept = stmt_drop = stmt_continue = stmt_return = stmt_jump = stmt_goto = _verdict_stmt

    def stmt_counter(self):
        start = self.next().loc
        if self.word("name"):
            return self.mk(A.ObjRef, start, "counter", self.expr())
        packets = nbytes = None
        while True:
            if self.word("packets"):
                packets = self.number()
            elif self.word("bytes"):
                nbytes = self.number()
            else:
                break
        return self.mk(A.Counter, start, packets, nbytes)

    def _rate(self):
        """``N/unit`` or ``N bytes-unit/unit`` (``kbytes/second`` is one STRING token)."""
        n = self.number()
        t = self.peek()
        if t.kind == "/":
            self.next()
            pt = self.peek()
            per = self.flag_word()
            if per not in _RATE_UNITS:
                # nft's time_unit is a token: any other word is bison's "unexpected string"
                self.err(pt)
            return n, "packets", per
        if t.kind is WORD and "/" in t.text:
            self.next()
            unit, _, per = t.text.partition("/")
            return n, unit, per
        if t.kind is WORD:
            self.next()
            self.expect("/", "slash")
            pt = self.peek()
            per = self.flag_word()
            if per not in _RATE_UNITS:
                self.err(pt)
            return n, t.text, per
        self.err(t)

    def stmt_limit(self):
        start = self.next().loc
        if self.word("name"):
            return self.mk(A.ObjRef, start, "limit", self.expr())
        return self.limit_args(start)

    def limit_args(self, start: Location) -> A.Limit:
        """``rate [over|until] N[ unit]/per [burst N [unit]]`` (statement and object)."""
        if not self.word("rate"):
            self.err(self.peek(), "rate or name")
        over = self.word("over")
        if self.word("until"):
            over = False
        rt, ri = self.peek(), self.i
        n, unit, per = self._rate()
        if unit != "packets" and (unit not in _QUOTA_UNITS or per not in _RATE_UNITS):
            # nft limit_rate_bytes: rate_parse() fails in the parser's action ->
            # "Wrong rate format" over `N UNIT/PER`, or `N UNIT` when `/` stands apart
            ut = self.toks[ri + 1]
            loc = Location(rt.loc.file, rt.loc.line, rt.loc.first_col, ut.loc.last_col, rt.loc.line_text,
                           rt.loc.included_from, rt.loc.shown_text) \
                if ut.loc.line == rt.loc.line and ut.loc.file == rt.loc.file else rt.loc
            raise _Err(rt, message="Wrong rate format", loc=loc)
        burst = bunit = None
        if self.word("burst"):
            bt = self.peek()
            # `bytes` and `packets` are keywords of nft's limit scanner scope: named by
            # their text in bison's errors ("unexpected packets, expecting number")
            if bt.kind is WORD and bt.text in _LIMIT_SCOPED:
                self.err_kw(bt, "number", scoped=_LIMIT_SCOPED)
            burst = self.number()
            t = self.peek()
            if (unit != "packets" and t.kind is WORD and t.text not in KEYWORDS
                    and t.text not in _QUOTA_UNITS and t.text not in _LIMIT_SCOPED):
                # nft limit_bytes: `NUM STRING` whose unit rate_parse() refuses
                self.next()
                raise _Err(t, message="Wrong rate format", loc=self.span(bt.loc))
            # nft 1.0.6's limit_burst_pkts is `BURST NUM PACKETS` and limit_burst_bytes
            # `BURST limit_bytes` (`NUM BYTES` or `NUM STRING`): the unit is not optional,
            # and a packet rate takes a packet burst, a byte rate a byte burst.
            if unit == "packets":
                if not self.is_word("packets"):
                    self.err_kw(t, "packets", scoped=_LIMIT_SCOPED)
            elif not (t.kind is WORD and (t.text == "bytes" or t.text in _QUOTA_UNITS)):
                self.err_kw(t, "string or bytes", scoped=_LIMIT_SCOPED)
            self.next()
            bunit = t.text
        return self.mk(A.Limit, start, n, unit, per, over, burst, bunit)

    def stmt_quota(self):
        start = self.next().loc
        if self.word("name"):
            return self.mk(A.ObjRef, start, "quota", self.expr())
        return self.quota_args(start)

    def quota_args(self, start: Location, obj: bool = False) -> A.Quota:
        """``[over|until] N [unit] [used N unit]`` (statement and object; an object's
        unit may be any word, checked by the caller as nft's rate_parse does)."""
        over = self.word("over")
        if not over:
            self.word("until")
        n = self.number()
        unit = "bytes"
        t = self.peek()
        if t.kind is WORD and (t.text in _QUOTA_UNITS or t.text not in KEYWORDS
                               and t.text not in ("used", "comment")):
            self.next()
            unit = t.text
            if not obj and unit not in _QUOTA_UNITS:
                # nft quota_stmt: rate_parse() fails -> "Wrong rate format" over the
                # whole statement
                raise _Err(t, message="Wrong rate format", loc=self.span(start))
        used = uunit = None
        ut = self.peek()
        if self.word("used"):
            used = self.number()
            uunit = self.flag_word()
            if uunit not in _QUOTA_UNITS:
                # nft quota_used: the same check, over `used N UNIT` (reduced, and so
                # reported, before the statement's or object's own unit)
                raise _Err(ut, message="Wrong rate format", loc=self.span(ut.loc))
        return self.mk(A.Quota, start, n, unit, over, used, uunit)

    def stmt_last(self):
        start = self.next().loc
        used = None
        if self.word("used"):
            if self.word("never"):
                used = None
            else:
                t = self.next()
                used = t.value
        return self.mk(A.Last, start, used)

    def stmt_log(self):
        start = self.next().loc
        opts = []
        while True:
            t = self.peek()
            if t.kind is not WORD:
                break
            w = t.text
            if w == "prefix":
                self.next()
                p = self.peek()
                if p.kind == "$":
                    opts.append(("prefix", self.variable()))
                else:
                    opts.append(("prefix", self.log_prefix(p)))
            elif w in ("level",):
                self.next()
                lt = self.peek()
                lv = self.comment_string()
                if lv not in _LOG_LEVELS:
                    # nft's level_type action: log_level_parse() failed
                    raise _Err(lt, message="invalid log level", loc=lt.loc)
                opts.append((w, lv))
            elif w in ("group", "snaplen", "queue-threshold"):
                self.next()
                opts.append((w, self.number()))
            elif w == "flags":
                self.next()
                opts.append(("flags", self.log_flags()))
            else:
                break
        return self.mk(A.Log, start, tuple(opts))

    def log_prefix(self, tok) -> str:
        """nft 1.0.6 expands ``$name`` inside a log prefix (``"a $b c"``) with the
        defines in scope; the name is ``[A-Za-z0-9_]*`` and an unknown one (also the empty
        name of ``"${X}"``) is ``unknown identifier`` under the whole string."""
        text = self.string()
        if "$" not in text:
            return text
        out, i = [], 0
        while True:
            j = text.find("$", i)
            if j < 0:
                out.append(text[i:])
                return "".join(out)
            out.append(text[i:j])
            m = _IDENT_RE.match(text, j + 1)
            name = m.group(0)
            for scope in reversed(self.scopes):
                if name in scope:
                    v = scope[name]
                    out.append(str(getattr(v, "value", None) if isinstance(v, (A.String, A.Number))
                                   else getattr(v, "name", "")))
                    break
            else:
                raise _Err(tok, message=f"unknown identifier '{name}'", loc=tok.loc)
            i = m.end()

    def log_flags(self) -> tuple[str, ...]:
        """nft ``log_flags``: ``tcp sequence[,options]``, ``ip options``, ``skuid``,
        ``ether`` or ``all`` -- one group per ``flags`` keyword, each flag its own string
        (``("tcp sequence", "tcp options")``).  bison names SEQUENCE ``seq``."""
        t = self.peek()
        if t.kind is WORD and t.text == "tcp":
            self.next()
            out = []
            while True:
                f = self.peek()
                if not (f.kind is WORD and f.text in ("sequence", "options")):
                    self.err_kw(f, "seq or options")
                self.next()
                out.append("tcp " + f.text)
                if self.peek().kind != ",":
                    break
                self.next()
            flags = tuple(out)
        elif t.kind is WORD and t.text == "ip":
            self.next()
            f = self.peek()
            if not (f.kind is WORD and f.text == "options"):
                self.err_kw(f, "options")
            self.next()
            flags = ("ip options",)
        elif t.kind is WORD and t.text in ("skuid", "ether", "all"):
            self.next()
            flags = (t.text,)
        else:
            self.err(t)
        if self.peek().kind == ",":
            # nft: a comma after skuid/ether/all/ip options ends the statement.
            self.err(self.peek(), self.end_expect())
        return flags

    def end_expect(self) -> str:
        """What bison expects where a command may end: in a block or at the top level."""
        return "newline or semicolon" if len(self.scopes) > 1 else "end of file or newline or semicolon"

    def stmt_reject(self):
        start = self.next().loc
        if not self.word("with"):
            return A.Reject(start)
        t = self.peek()
        if t.kind is WORD and t.text == "tcp":
            self.next()
            r = self.peek()
            if not self.word("reset"):
                self.err(r, "reset")
            return self.mk(A.Reject, start, "tcp", A.Symbol(r.loc, "reset"))
        if t.kind is WORD and t.text in ("icmp", "icmpv6", "icmpx", "icmp6"):
            self.next()
            self.word("type")
            c = self.value_primary()
            return self.mk(A.Reject, start, t.text, c)
        self.err(t, "icmp or icmpv6 or tcp or icmpx")

    def _nat_flags(self) -> tuple[str, ...]:
        flags = []
        while self.peek().kind is WORD and self.peek().text in ("random", "fully-random", "persistent"):
            flags.append(self.next().text)
            if self.peek().kind == ",":
                self.next()
        if flags and self.is_word("to"):
            # after nat flags bison's state reduces to the rule's end: only a separator
            # or a new statement follows, and `to` (a keyword) is named
            self.err_kw(self.peek(), self.end_expect(), ("to",))
        return tuple(flags)

    def nat_value(self) -> A.Expr:
        """An address or port of nat/tproxy/queue: expression, range or prefix."""
        e = self.expr(stop_at_colon=True)
        t = self.peek()
        if t.kind == "-":
            self.next()
            return self.mk(A.Range, e.loc, e, self.expr(stop_at_colon=True))
        if t.kind == "/":
            self.next()
            return self.mk(A.Prefix, e.loc, e, self.number())
        return e

    def _nat_addr_port(self):
        addr = port = None
        if self.peek().kind != ":":
            addr = self.nat_value()
        if self.peek().kind == ":":
            self.next()
            port = self.nat_value()
        return addr, port

    def stmt_snat(self):
        """nft ``nat_stmt_args``: ``[ip|ip6] to ADDR[:PORT]``, ``ADDR[:PORT]``, ``:PORT``,
        ``[ip|ip6] prefix|interval to EXPR``, ``ip|ip6 addr . port to EXPR``, then flags."""
        t = self.next()
        fam = None
        if self.peek().kind is WORD and self.peek().text in ("ip", "ip6") and not self.is_word("to", 1) and not self.is_word("prefix", 1) and not self.is_word("addr", 1) and not self.is_word("interval", 1) and not (self.peek(1).kind is WORD and self.peek(1).text in K.PROTO_FIELDS.get(self.peek().text, ())):
            # `snat ip daddr` is nft's `nat_stmt_args: stmt_expr`: the address is the
            # payload expression `ip daddr` (checked: it lists `snat to ip daddr`, and a
            # following `1.2.3.4 ip6 to dead::beef` is statements of their own)
            self.err(self.peek(1), "to")
        if self.peek().kind is WORD and self.peek().text in ("ip", "ip6") and (self.is_word("to", 1) or self.is_word("prefix", 1) or self.is_word("addr", 1) or self.is_word("interval", 1)):
            fam = self.next().text
        prefix = interval = concat = False
        if fam is not None and self.word("addr"):
            self.expect(".", ".")
            if not self.word("port"):
                self.err(self.peek(), "port")
            concat = True
        elif self.word("prefix"):
            prefix = True
        elif self.word("interval"):
            interval = True
        addr = port = None
        if prefix or interval or concat:
            # These take one expression (a map or a range), never ``:PORT``.
            if not self.word("to"):
                self.err(self.peek(), "to")
            addr = self.nat_value()
        elif self.word("to"):
            addr, port = self._nat_addr_port()
        elif fam is None and self.peek().kind not in (NEWLINE, ";", "}", EOF) and not (self.peek().kind is WORD and self.peek().text in ("random", "fully-random", "persistent", "addr")):
            # ``snat 10.0.0.1`` / ``dnat :80``: the ``to`` is optional (nft nat_stmt_args).
            addr, port = self._nat_addr_port()
        else:
            # snat/dnat need an address or a port; ``addr`` is a nat-scope keyword.
            self.err_kw(self.peek(), None, ("addr", "random", "fully-random", "persistent"))
        flags = self._nat_flags()
        return self.mk(A.Nat, t.loc, t.text, fam, addr, port, flags, prefix, interval, concat)

    stmt_dnat = stmt_snat

    def stmt_masquerade(self):
        t = self.next()
        port = None
        if self.word("to"):
            self.expect(":", "colon")
            port = self.nat_value()
        flags = self._nat_flags()
        return self.mk(A.Nat, t.loc, t.text, None, None, port, flags)

    def stmt_redirect(self):
        """nft ``redir_stmt_arg``: ``to [:]EXPR [flags]`` or flags -- unlike masquerade's
        ``to :EXPR``, the colon is optional (``redirect to 2222``)."""
        t = self.next()
        port = None
        if self.word("to"):
            if self.peek().kind == ":":
                self.next()
            port = self.nat_value()
        flags = self._nat_flags()
        return self.mk(A.Nat, t.loc, t.text, None, None, port, flags)

    def stmt_tproxy(self):
        t = self.next()
        fam = None
        if self.peek().kind is WORD and self.peek().text in ("ip", "ip6"):
            fam = self.next().text
        if not self.word("to"):
            self.err(self.peek(), "to" if fam else "to or ip or ip6")
        addr, port = self._nat_addr_port()
        return self.mk(A.Tproxy, t.loc, fam, addr, port)

    def stmt_queue(self):
        """nft 1.0.6 queue_stmt: ``queue [num N|N-M] [bypass] [fanout]`` (the compat
        form, flags as bare words), ``queue to EXPR`` (number, range, numgen, hash or
        map) with nothing after it, ``queue flags F[,F] to EXPR``.  The scanner closes
        the queue scope after ``to EXPR``: a later ``flags`` is a syntax error, and a
        flag word after a range/numgen/hash is taken and then refused."""
        t = self.next()
        num = None
        flags: list[str] = []
        if self.word("flags"):
            flags.extend(self._queue_flags())
            p = self.peek()
            if p.kind is WORD and p.text == "to":
                self.next()
                num = self._queue_to()
            elif p.kind is WORD and p.text == "num":
                self.next()
                num = self._queue_num()
            else:
                self.err(p, "comma or to or num")
            return self.mk(A.Queue, t.loc, num, tuple(flags))
        if self.word("to"):
            num = self._queue_to()
            p = self.peek()
            if p.kind is WORD and p.text in ("bypass", "fanout") and not isinstance(num, A.Number):
                self.next()
                self.err(self.peek())
            if p.kind is WORD and p.text in ("bypass", "fanout", "flags"):
                self.err_kw(p, self.end_expect(), ("bypass", "fanout"))
            return self.mk(A.Queue, t.loc, num, tuple(flags))
        while True:
            p = self.peek()
            if p.kind is WORD and p.text == "num":
                nt = self.next()
                num = self._queue_num()
                if isinstance(num, A.Range):
                    # nft marks `num N-M` for the range's size check
                    num = A.Range(self.span(nt.loc), num.low, num.high)
            elif p.kind is WORD and p.text in ("bypass", "fanout"):
                flags.extend(self._queue_flags())
            elif p.kind is WORD and p.text == "flags":
                self.err(p, self.end_expect())
            else:
                break
        return self.mk(A.Queue, t.loc, num, tuple(flags))

    def _queue_flags(self) -> list[str]:
        out = []
        while True:
            p = self.peek()
            if not (p.kind is WORD and p.text in ("bypass", "fanout")):
                self.err(p)
            out.append(self.next().text)
            if self.peek().kind != ",":
                return out
            self.next()

    def _queue_num(self):
        if self.peek().kind not in (NUM, "$"):
            self.err(self.peek(), "number or '$'")
        return self.rhs_item()

    def _queue_to(self):
        p = self.peek()
        if p.kind is NUM or p.kind == "$" or p.kind is WORD and p.text in ("numgen", "jhash", "symhash"):
            return self.nat_value()
        e = self.expr()
        if not isinstance(e, A.MapExpr):
            self.err(self.peek(), ". or map")
        return e

    def stmt_dup(self):
        t = self.next()
        addr = dev = None
        if not self.is_word("to"):
            self.err(self.peek(), "to")  # nft dup_stmt: `DUP TO stmt_expr [DEVICE ...]`
        if self.word("to"):
            addr = self.expr()
        if self.word("device"):
            dev = self.expr()
        return self.mk(A.Dup, t.loc, addr, dev)

    def stmt_fwd(self):
        t = self.next()
        fam = None
        if self.peek().kind is WORD and self.peek().text in ("ip", "ip6"):
            fam = self.next().text
        if not self.word("to"):
            self.err(self.peek(), "to")
        first = self.expr()
        if self.word("device"):
            return self.mk(A.Fwd, t.loc, fam, first, self.expr())
        return self.mk(A.Fwd, t.loc, fam, None, first)

    def stmt_reset(self):
        """``reset tcp option NAME`` (nft: optstrip_stmt)."""
        t = self.next()
        if not self.word("tcp"):
            self.err(self.peek(), "tcp")
        if not self.word("option"):
            self.err(self.peek(), "option")
        o = self.tcp_option(t.loc)
        return self.mk(A.Reset, t.loc, o)

    def stmt_notrack(self):
        return A.Notrack(self.next().loc)

    def _dynset(self, op: str, start: Location):
        """``add|update|delete @s { KEY [opts] [stateful...] [: DATA [opts]] }``.

        nft's set_stmt/map_stmt: the key is a set_elem_expr_stmt (a concat_expr with
        set_elem_options: timeout, expires, comment), then a stateful_stmt_list
        (counter, limit, quota, ct count), then for a map ``COLON`` and the data, itself
        a set_elem_expr_stmt (evaluation refuses its options), then ``'}'``."""
        ref = self.set_ref()
        self.expect("{", "'{'")
        key = self._dynset_opts(self.expr(stop_at_colon=True, stmt_words=True))
        stmts = []
        while True:
            t = self.peek()
            if t.kind is WORD and (t.text in ("counter", "limit", "quota")
                                   or (t.text == "ct" and self.is_word("count", 1))):
                stmts.append(self.stmt())
                continue
            break
        if self.peek().kind == ":":
            self.next()
            data = self._dynset_opts(self.expr())
            key = self.mk(A.Mapping, key.loc, key, data)
            if self.peek().kind != "}":
                self.err(self.peek(), "'}'")
        if self.peek().kind != "}":
            self.err(self.peek())
        self.next()
        return self.mk(A.DynsetStmt, start, op, ref.name, key, tuple(stmts), ref.loc)

    def _dynset_opts(self, e: A.Expr) -> A.Expr:
        """nft set_elem_options after a dynset key or data: ``timeout T``, ``expires T``,
        ``comment "x"``, kept as an :class:`A.Elem` around the expression."""
        opts = []
        while self.peek().kind is WORD and self.peek().text in ("timeout", "expires", "comment"):
            t = self.next()
            v = self.comment_string() if t.text == "comment" else self.time_value()
            opts.append(self.mk(A.ElemOpt, t.loc, t.text, v))
        return self.mk(A.Elem, e.loc, e, tuple(opts)) if opts else e

    def stmt_set_old(self):
        """nft's older set statement, ``set add|update|delete KEY [timeout T] @set``
        (set_stmt: SET set_stmt_op set_elem_expr_stmt set_ref_expr): the same dynset
        as ``add @set { KEY [timeout T] }``."""
        start = self.next().loc
        op = self.next().text
        key = self.expr(stmt_words=True)
        stmts = []
        while self.peek().kind is WORD and self.peek().text in ("timeout", "expires"):
            t = self.next()
            stmts.append(self.mk(A.Prop, t.loc, t.text, self.time_value()))
        ref = self.set_ref("@ or '$'")
        return self.mk(A.DynsetStmt, start, op, ref.name, key, tuple(stmts), ref.loc)

    def stmt_add(self):
        if self.peek(1).kind != "@":
            if self.peek(1).kind == "$":
                return None
            # nft set_stmt: set_stmt_op set_ref_expr, a set reference or a variable
            self.next()
            self.err(self.peek(), "@ or '$'")
        t = self.next()
        return self._dynset(t.text, t.loc)

    stmt_update = stmt_delete = stmt_add

    def stmt_meter(self):
        t = self.next()
        name = self.identifier()
        size = None
        if self.word("size"):
            size = self.number()
        self.expect("{", "'{'")
        key = self.elem_opts(self.expr(stmt_words=True), stmts=False)
        st = self.stmt()
        self.expect("}", "'}'")
        return self.mk(A.Meter, t.loc, name, size, key, st)

    def stmt_synproxy(self):
        t = self.next()
        if self.word("name"):
            return self.mk(A.ObjRef, t.loc, "synproxy", self.expr())
        mss = ws = None
        flags = []
        while True:
            if self.word("mss") or self.word("maxseg"):
                mss = self.number()
            elif self.word("wscale"):
                ws = self.number()
            elif self.peek().kind is WORD and self.peek().text in ("timestamp", "sack-perm", "sack-permitted"):
                flags.append(self.next().text)
            else:
                break
        return self.mk(A.Synproxy, t.loc, mss, ws, tuple(flags))

    def stmt_flow(self):
        t = self.next()
        if not (self.word("add") or self.word("offload")):
            # bison's list after FLOW names the old meter syntax (`flow table NAME {..}`)
            self.err(self.peek(), "table")
        ref = self.set_ref()
        return self.mk(A.FlowOffload, t.loc, ref.name)

    def stmt_xt(self):
        t = self.next()
        kind = self.flag_word()
        name = self.string()
        return self.mk(A.Xt, t.loc, kind, name)

    # ------------------------------------------------------------ expressions
    def expr(self, lhs: bool = False, stop_at_colon: bool = False, stmt_words: bool = False) -> A.Expr:
        """``concat_expr [map RHS]``: ``.`` joins binop-expressions."""
        first = self.binexpr(0, lhs)
        if self.peek().kind == ".":
            parts = [first]
            while self.peek().kind == ".":
                self.next()
                parts.append(self.binexpr(0, lhs))
            first = self.mk(A.Concat, first.loc, tuple(parts))
        if self.is_word("map"):
            self.next()
            first = self.mk(A.MapExpr, first.loc, first, self.map_rhs())
        return first

    def binexpr(self, minprec: int, lhs: bool) -> A.Expr:
        left = self.primary(lhs)
        while True:
            op = self.peek().kind
            prec = _BINPREC.get(op)
            if prec is None or prec <= minprec:
                return left
            self.next()
            right = self.binexpr(prec, lhs)
            left = self.mk(A.Binop, left.loc, op, left, right)

    def primary(self, lhs: bool) -> A.Expr:
        t = self.peek()
        k = t.kind
        if k is WORD:
            e = self.keyword_expr(t, strict=lhs)
            if e is not None:
                return e
            return self.value_primary()
        if k == "(":
            self._open(t, 1)
            try:
                self.next()
                e = self.expr()
                self._close(1)
                self.expect(")", "')'")
            finally:
                self.nest -= 1
            return e
        if k == "@":
            b = self.peek(1)
            if b.kind is WORD and b.text not in KEYWORDS and b.text not in ("ll", "nh", "th", "ih"):
                # an expression's `@NAME` is nft's payload_raw_expr (`@base,off,len`):
                # payload_base_spec refuses a base it does not know before any comma
                raise _Err(b, message="unknown raw payload base", loc=b.loc)
            return self.set_ref()
        return self.value_primary()

    def keyword_expr(self, t: Token, strict: bool) -> A.Expr | None:
        """Payload/meta/ct/... expressions led by a keyword, or None when ``t`` is a value."""
        w = t.text
        nxt = self.peek(1)
        nw = nxt.text if nxt.kind is WORD else None
        start = t.loc
        if w in K.PROTO_FIELDS:
            if nw in K.PROTO_FIELDS[w]:
                self.i += 2
                if w == "arp" and nw in ("saddr", "daddr") and self.peek().kind is WORD and self.peek().text in ("ip", "ether"):
                    # arp saddr ip / arp daddr ether (nft: arp_hdr_expr with a sub-field).
                    nw = nw + " " + self.next().text
                return self.mk(A.Payload, start, w, nw)
            if w == "tcp" and nw == "option":
                self.i += 2
                return self.tcp_option(start)
            if w == "ip" and nw == "option":
                self.i += 2
                if not (self.peek().kind is WORD and self.peek().text in K.IP_OPTIONS):
                    self.err(self.peek(), "lsrr or rr or ssrr or ra")
                o = self.flag_word()
                f = None
                if self.peek().kind is WORD and self.peek().text in K.IP_OPTION_FIELDS:
                    f = self.next().text
                return self.mk(A.IpOption, start, o, f)
            if w == "sctp" and nw == "chunk":
                self.i += 2
                if not (self.peek().kind is WORD and self.peek().text in K.SCTP_CHUNKS):
                    self.err(self.peek())  # nft 1.0.6 knows no other chunk (no i-data)
                c = self.flag_word()
                f = None
                if self.peek().kind is WORD and self.peek().text in K.SCTP_CHUNK_FIELDS:
                    f = self.next().text
                return self.mk(A.SctpChunk, start, c, f)
            if strict:
                self.i += 1
                # `ip to`/`ip6 to` (as after `snat to 1.2.3.4`): nft 1.0.6 names the
                # TO keyword there (nat's ``nf_key_proto TO``), measured with both
                self.err_kw(nxt, K.PROTO_FIELD_EXPECT.get(w) if nxt.kind is WORD else None,
                            scoped=("to",) if w in ("ip", "ip6") else ())
            return None
        if w in K.EXTHDR_FIELDS and (nw in K.EXTHDR_FIELDS[w] or (w == "rt" and nw in ("ip", "ip6") or w == "rt" and nw in K.RT_KEYS)):
            if w == "rt" and (nw in K.RT_KEYS or nw in ("ip", "ip6")):
                self.i += 1
                fam = None
                if self.peek().text in ("ip", "ip6"):
                    fam = self.next().text
                    kt = self.peek()
                    if not (kt.kind is WORD and kt.text in K.RT_KEYS):
                        self.err(kt, "mtu or classid or nexthop or ipsec")
                key = self.flag_word()
                return self.mk(A.Rt, start, key, fam)
            self.i += 2
            idx = None
            if self.peek().kind == "[":
                self.next()
                idx = self.number()
                self.expect("]", "']'")
            return self.mk(A.Exthdr, start, w, nw, idx)
        if strict and w in K.EXTHDR_FIELDS:
            # an extension header without one of its fields: bison's list where the
            # header's grammar has one (nft 1.0.6 parser_bison.y *_hdr_field)
            if w == "rt" and nw in ("ip", "ip6"):
                self.i += 2
                self.err(self.peek(), "mtu or classid or nexthop or ipsec")
            self.i += 1
            self.err(nxt, _EXTHDR_EXPECT.get(w))
        if w == "exthdr" and nw in ("rt0", "rt2", "srh"):
            # nft 1.0.6's exthdr_exists_expr names only hbh, rt, frag, dst, mh
            self.i += 1
            self.err(self.peek())
        if w == "exthdr" and nw in K.EXTHDR_FIELDS:
            self.i += 2
            return self.mk(A.Exthdr, start, nw, None)
        if w == "meta":
            self.i += 1
            kt = self.peek()
            key = self.flag_word()
            if key not in K.META_KEYS:
                # nft's meta_key error names the known keys and spans "meta KEY"; in a
                # statement (meta_stmt: `META STRING SET stmt_expr`) the action runs
                # after the value is read, so it spans the whole statement.
                if self.is_word("set"):
                    self.next()
                    self.expr()
                raise _Err(kt, message=f"syntax error, unexpected {key}, known keys are {K.META_KEYS_MSG}", loc=self.span(start))
            return self.mk(A.Meta, start, key)
        if w in K.META_UNQUALIFIED and not (w == "ipsec" and nw in ("in", "out")):
            self.i += 1
            return A.Meta(start, w, False)
        if w == "ct":
            self.i += 1
            d = fam = None
            if self.peek().kind is WORD and self.peek().text in ("original", "reply"):
                d = self.next().text
            if d is not None and self.peek().kind is WORD and self.peek().text in ("ip", "ip6"):
                fam = self.next().text
            kt = self.peek()
            key = self.flag_word()
            # the words of nft's ct scanner scope are named by their text ("unexpected state")
            if d is not None and key not in K.CT_DIR_KEYS:
                self.err_kw(kt, scoped=_CT_SCOPED)
            if key not in K.CT_KEYS and not (key in ("timeout", "expectation") and d is None
                                             and self._ct_obj_ok):
                self.err_kw(kt, scoped=_CT_SCOPED)
            return self.mk(A.Ct, start, key, d, fam)
        if w == "fib":
            self.i += 1
            flags = [self.flag_word()]
            while self.peek().kind == "." or (self.peek().kind is WORD and self.peek().text in K.FIB_FLAGS and self.peek(1).kind is WORD and self.peek(1).text in K.FIB_RESULTS | K.FIB_FLAGS):
                if self.peek().kind == ".":
                    self.next()
                flags.append(self.flag_word())
            rt = self.peek()
            if not (rt.kind is WORD and rt.text in K.FIB_RESULTS):
                self.err(rt, "type or oif or oifname")
            res = self.flag_word()
            return self.mk(A.Fib, start, tuple(flags), res)
        if w == "socket":
            self.i += 1
            kt = self.peek()
            if not (kt.kind is WORD and kt.text in ("transparent", "wildcard", "cgroupv2", "mark")):
                # nft 1.0.6 socket_key: these four only (no uid/gid in this release)
                self.err(kt, "transparent or wildcard or cgroupv2 or mark")
            key = self.flag_word()
            level = None
            if self.word("level"):
                level = self.number()
            return self.mk(A.Socket, start, key, level)
        if w == "osf":
            self.i += 1
            ttl = None
            # nft's osf scanner scope: `ttl`, `name`, `version` are keywords there
            scoped = ("ttl", "name", "version")
            if self.word("ttl"):
                # nft osf_ttl: `TTL STRING`, an action error for anything but loose/skip
                tt = self.peek()
                if tt.kind is not WORD or tt.text in KEYWORDS or tt.text in scoped:
                    self.err_kw(tt, "string", scoped)
                self.i += 1
                ttl = tt.text
                if ttl not in ("loose", "skip"):
                    raise _Err(tt, message="invalid ttl option", loc=tt.loc)
            kt = self.peek()
            if kt.kind is not WORD or kt.text not in K.OSF_KEYS:
                self.err_kw(kt, "version or name", scoped)
            self.i += 1
            return self.mk(A.Osf, start, kt.text, ttl)
        if w == "numgen":
            self.i += 1
            mode = self.flag_word()
            if not self.word("mod"):
                self.err(self.peek(), "mod")
            mod = self.number()
            off = None
            if self.word("offset"):
                off = self.number()
            return self.mk(A.Numgen, start, mode, mod, off)
        if w in ("jhash", "symhash"):
            self.i += 1
            e = None
            if w == "jhash":
                e = self.expr(lhs=True)
            if not self.word("mod"):
                self.err(self.peek(), "mod")
            mod = self.number()
            seed = off = None
            if w == "symhash" and self.is_word("seed"):
                self.err_kw(self.peek(), self.end_expect(), ("seed",))
            if w == "jhash" and self.word("seed"):
                # (nft's symhash takes no seed: `symhash mod 2 seed 1` ends at `seed`)
                seed = self.number()
            if self.word("offset"):
                off = self.number()
            return self.mk(A.Hash, start, w, e, mod, seed, off)
        if w == "ipsec":
            self.i += 1
            d = self.flag_word()
            spnum = fam = sp_err = None
            if self.word("spnum"):
                sp = self.toks[self.i - 1].loc
                spnum = self.number()
                sp_err = _Err(self.toks[self.i - 1], message="value too large", loc=self.span(sp))
            if self.peek().kind is WORD and self.peek().text in ("ip", "ip6"):
                fam = self.next().text
            kt = self.peek()
            # nft 1.0.6's ipsec_expr: `[spnum N] spi|reqid` or `[spnum N] ip|ip6 saddr|daddr`
            keys, expecting = (("spi", "reqid"), "ip or ip6 or spi or reqid") if fam is None \
                else (("saddr", "daddr"), "saddr or daddr")
            if not (kt.kind is WORD and kt.text in keys):
                self.err_kw(kt, expecting, scoped=("ip", "ip6", "spi", "reqid", "saddr", "daddr"))
            self.next()
            if spnum is not None and spnum > 255:
                # the grammar action checks the 8-bit spnum once the key is read (a
                # missing key is a syntax error first), before any family check
                raise sp_err
            return self.mk(A.Ipsec, start, d, kt.text, spnum, fam)
        return None

    def tcp_option(self, start: Location) -> A.Expr:
        t = self.peek()
        if t.kind == "@":
            self.next()
            a = self.number()
            self.expect(",", "comma")
            b = self.number()
            self.expect(",", "comma")
            c = self.number()
            return self.mk(A.TcpOption, start, None, None, (a, b, c))
        if t.kind is NUM:
            self.next()
            opt = t.value
        else:
            opt = self.flag_word()
            if opt not in K.TCP_OPTIONS:
                self.err(t)
        f = None
        ft = self.peek()
        if ft.kind is WORD and (ft.text in K.TCP_OPTIONS or ft.text in K.PROTO_FIELDS["tcp"]) and ft.text not in K.TCP_OPTION_FIELDS:
            # a tcp-scope keyword cannot follow an option (nft: "unexpected window").
            self.err_kw(ft, scoped=_TCPOPT_SCOPED)
        if ft.kind is WORD and ft.text in K.TCP_OPTION_FIELDS:
            if isinstance(opt, str) and ft.text not in K.TCP_OPTION_FIELDS_OF.get(opt, K.TCP_OPTION_FIELDS):
                self.err_kw(ft, scoped=_TCPOPT_SCOPED)
            f = self.next().text
            if f == "kind":
                # nft 1.0.6 reads `tcp option X kind` as a presence test: a value after
                # it is taken, and then nothing more can follow
                p = self.peek()
                if p.kind in _RELOPS:
                    self.err(p, self.end_expect())
                if p.kind is NUM or p.kind is WORD:
                    self.next()
                    self.err(self.peek())
                if p.kind == "{":
                    self.set_expr()
                    self.err(self.peek())
        return self.mk(A.TcpOption, start, opt, f)

    def variable(self) -> A.Expr:
        d = self.next()
        nt = self.peek()
        if nt.kind is not WORD:
            self.err(nt, "string")
        self.next()
        loc = self.span(d.loc)
        for scope in reversed(self.scopes):
            if nt.text in scope:
                v = scope[nt.text]
                return dataclasses.replace(v, loc=loc)
        raise _Err(nt, message=f"unknown identifier '{nt.text}'", loc=nt.loc)

    def set_ref(self, expecting: str = "@") -> A.Expr:
        at = self.expect("@", expecting)
        t = self.peek()
        if t.kind is WORD and t.text not in KEYWORDS or t.kind is QSTRING:
            self.next()
            if t.text in ("ll", "nh", "th", "ih") and self.peek().kind == ",":
                self.next()
                off = self.value_primary()
                self.expect(",", "comma")
                ln = self.value_primary()
                return self.mk(A.RawPayload, at.loc, t.text, off, ln)
            return self.mk(A.SetRef, at.loc, t.value)
        if t.kind is WORD and t.text == "th":
            self.next()
            self.expect(",", "comma")
            off = self.value_primary()
            self.expect(",", "comma")
            ln = self.value_primary()
            return self.mk(A.RawPayload, at.loc, "th", off, ln)
        self.err(t, "string")

    _in_rhs = False  # inside a match's right-hand side (nft rhs_expr), not in a set
    _ct_obj_ok = False  # at a statement start `ct timeout|expectation set` (objref_stmt_ct)

    def value_primary(self, allow_set: bool = False) -> A.Expr:
        t = self.peek()
        k = t.kind
        if self._in_rhs and _not_rhs_keyword(t):
            self.err(t)
        if k is NUM:
            self.i += 1
            return A.Number(t.loc, t.value, t.text)
        if k is WORD:
            self.i += 1
            if t.text in _VERDICTS or t.text in ("jump", "goto"):
                self.i -= 1
                return self.verdict()
            return A.Symbol(t.loc, t.value)
        if k is QSTRING:
            self.i += 1
            return A.String(t.loc, t.value)
        if k is ASTRING:
            self.i += 1
            return A.AsteriskString(t.loc, t.value)
        if k == "$":
            return self.variable()
        if k == "*":
            self.i += 1
            return A.Wildcard(t.loc)
        if k == "@":
            return self.set_ref()
        if k == "(":
            self._open(t, 1)
            try:
                self.next()
                if self._in_rhs:
                    return self._rhs_paren()
                e = self.expr()
                self._close(1)
                self.expect(")", "')'")
            finally:
                self.nest -= 1
            return e
        if k == "{" and allow_set:
            return self.set_expr()
        self.err(t)

    def rhs_item(self) -> A.Expr:
        """``basic_rhs_expr`` with ``-`` ranges and ``/`` prefixes (``multiton_rhs_expr``)."""
        e = self.rhs_bin(0)
        t = self.peek()
        if t.kind == "-":
            self.next()
            hi = self.rhs_bin(0)
            return self.mk(A.Range, e.loc, e, hi)
        if t.kind == "/" and self.peek(1).kind is NUM:
            self.next()
            n = self.number()
            return self.mk(A.Prefix, e.loc, e, n)
        if t.kind == "/" and _dotted_quad(self.peek(1)):
            # `10.0.0.0/255.255.255.0`: nft 1.0.6's scanner reads the mask as an address
            # that cannot follow `/`; bison fails on the token after it wanting a list comma
            self.err(self.peek(2), "comma")
        return e

    def rhs_bin(self, minprec: int) -> A.Expr:
        left = self.value_primary()
        while True:
            op = self.peek().kind
            prec = _BINPREC.get(op)
            if prec is None or prec <= minprec:
                return left
            self.next()
            right = self.rhs_bin(prec)
            left = self.mk(A.Binop, left.loc, op, left, right)

    def _rhs_paren(self) -> A.Expr:
        """``( EXPR )`` inside a right-hand side: nft's rhs keywords rule there too."""
        if _not_rhs_keyword(self.peek()):
            self.err(self.peek())
        self._in_rhs = False
        try:
            e = self.expr()
        finally:
            self._in_rhs = True
        self._close(1)
        self.expect(")", "')'")
        return e

    def rhs(self, allow_list: bool = False) -> A.Expr:
        t = self.peek()
        if t.kind == "{":
            return self.set_expr()
        if t.kind == "@":
            return self.set_ref()
        first = self.rhs_item()
        if self.peek().kind == ".":
            parts = [first]
            while self.peek().kind == ".":
                self.next()
                parts.append(self.rhs_item())
            first = self.mk(A.Concat, first.loc, tuple(parts))
        if allow_list and self.peek().kind == ",":
            items = [first]
            while self.peek().kind == ",":
                self.next()
                items.append(self.rhs_item())
            first = self.mk(A.ListExpr, first.loc, tuple(items))
        if allow_list and self.peek().kind == "/":
            # ``tcp flags syn / fin,syn``: value / mask (nft: flagcmp).
            self.next()
            mask = self.rhs(allow_list=True)
            first = self.mk(A.Binop, first.loc, "/", first, mask)
        return first

    def set_expr(self, allow_empty: bool = False) -> A.SetExpr:
        """``{ elem [opts] [: value], ... }`` -- newlines and a trailing comma allowed.

        nft's set_list_expr needs one element (``{ }`` is a syntax error, except as a
        ``define``'s value); after a comma further commas are skipped, and a token that
        starts no element expects ``comma or '}'`` (the comma was reduced already)."""
        in_rhs, self._in_rhs = self._in_rhs, False  # set elements follow their own rules
        opened = self.peek().kind == "{"
        if opened:
            self._open(self.peek(), 2)
        try:
            return self._set_expr(allow_empty)
        finally:
            self._in_rhs = in_rhs
            if opened:
                self.nest -= 2

    def _set_expr(self, allow_empty: bool) -> A.SetExpr:
        lb = self.expect("{", "'{'")
        if self.peek().kind is BULK:
            # a plain element list kept as text (lang/elements_fast.py); the `}` follows
            bulk = self.next().value
            self.expect("}", "comma or '}'")
            return self.mk(A.SetExpr, lb.loc, bulk)
        elems = []
        while True:
            while self.peek().kind is NEWLINE:
                self.next()
            t = self.peek()
            if t.kind == "}":
                if not elems and not allow_empty:
                    self.err(t)
                self._close(2)
                self.next()
                break
            if not elems and _not_rhs_keyword(t):
                # set_elem_key_expr is an rhs expression: nft's keyword rule (_RHS_KEYWORDS)
                self.err(t)
            elems.append(self.set_elem())
            while self.peek().kind is NEWLINE:
                self.next()
            t = self.peek()
            if t.kind == ",":
                self.next()
                while self.peek().kind is NEWLINE or self.peek().kind == ",":
                    self.next()
                t = self.peek()
                if t.kind not in _ELEM_START_KINDS or _not_rhs_keyword(t):
                    self.err(t, "comma or '}'")
                continue
            if t.kind == "}":
                self._close(2)
                self.next()
                break
            self.err(t, "comma or '}'")
        return self.mk(A.SetExpr, lb.loc, tuple(elems))

    def set_elem(self) -> A.Expr:
        t = self.peek()
        k = t.kind
        if (k is WORD or k is NUM) and not (k is WORD and (t.text in _VERDICTS or t.text in ("jump", "goto"))):
            # fast paths for big sets: `v`, `v - v` and `v / n` before `,` / `}` /
            # newline are what rhs() -> rhs_item() -> value_primary() would build
            toks, i = self.toks, self.i
            k1 = toks[i + 1].kind
            if k1 in _ELEM_END:
                self.i = i + 1
                return _value_node(t)
            if (k1 == "-" or k1 == "/") and toks[i + 3].kind in _ELEM_END:
                t2 = toks[i + 2]
                if k1 == "/" and t2.kind is NUM:
                    e = _value_node(t)
                    self.i = i + 3
                    return self.mk(A.Prefix, e.loc, e, t2.value)
                if k1 == "-" and (t2.kind is NUM or (t2.kind is WORD and t2.text not in _VERDICTS
                                                      and t2.text not in ("jump", "goto"))):
                    e = _value_node(t)
                    hi = _value_node(t2)
                    self.i = i + 3
                    return self.mk(A.Range, e.loc, e, hi)
        if t.kind == "{":
            key: A.Expr = self.set_expr()
        elif t.kind == "*":
            # nft set_elem_key_expr: the catch-all `*` is an element on its own (no
            # concatenation: `* . 22` is a syntax error at the `.`)
            self.next()
            key = A.Wildcard(t.loc)
        elif t.kind == "$":
            key = self.variable()
        else:
            key = self.rhs()
        key = self.elem_opts(key)
        if self.peek().kind == ":":
            self.next()
            v = self.peek()
            if v.kind is WORD and v.text in _VERDICTS | {"jump", "goto"}:
                val: A.Expr = self.verdict()
            elif v.kind == "{":
                val = self.set_expr()
            else:
                val = self.rhs()
            # nft set_elem_expr COLON set_rhs_expr: the data takes no options
            return self.mk(A.Mapping, key.loc, key, val)
        return key

    def elem_opts(self, key: A.Expr, stmts: bool = True) -> A.Expr:
        """nft 1.0.6 set_elem_expr: ``set_lhs_expr [set_elem_stmt_list]
        [set_elem_expr_options]`` -- the statements (counter, limit, ct count) come
        first, then ``timeout``/``expires``/``comment``; a statement after an option
        (or a quota, or another statement) ends the element (``expecting comma or '}'``)."""
        opts = []
        while stmts:
            t = self.peek()
            if t.kind is WORD and (t.text in ("counter", "limit")
                                   or (t.text == "ct" and self.is_word("count", 1))):
                opts.append(self.stmt())
            else:
                break
        while True:
            t = self.peek()
            if t.kind is not WORD:
                break
            if t.text in ("timeout", "expires"):
                self.next()
                opts.append(self.mk(A.ElemOpt, t.loc, t.text, self.time_value()))
            elif t.text == "comment":
                self.next()
                opts.append(self.mk(A.ElemOpt, t.loc, t.text, self.string()))
            else:
                break
        if opts:
            return self.mk(A.Elem, key.loc, key, tuple(opts))
        return key


# header keywords as a statement's value: (first field, fields, bison's expecting list)
_HDR_VALUE_FIELDS = {
    "esp": ("seq", ("seq", "spi", "sequence"), "seq or spi"),
    "comp": ("nexthdr", ("nexthdr", "flags", "cpi"), "nexthdr or flags or cpi"),
}

# what may follow a set element that is one value (set_elem's fast path)
_ELEM_END = frozenset((",", "}", NEWLINE))


def _dotted_quad(t: Token) -> bool:
    parts = t.text.split(".") if t.kind is WORD else ()
    return len(parts) == 4 and all(p.isdigit() for p in parts)


def _not_rhs_keyword(t: Token) -> bool:
    """A keyword that cannot start nft's rhs expression (see _RHS_KEYWORDS)."""
    return t.kind is WORD and t.text in KEYWORDS and t.text not in _RHS_KEYWORDS


def _value_node(t: Token) -> A.Expr:
    """value_primary() of a NUM or (non-verdict) WORD token."""
    return A.Number(t.loc, t.value, t.text) if t.kind is NUM else A.Symbol(t.loc, t.value)


class _Abort(Exception):
    pass


def parse(text: str, filename: str = "<cmdline>", include_path=(), defines=None, *,
          keep_going: bool = False) -> A.Script:
    """Parse nftables text (a file's content, or a command line) into a :class:`~.ast.Script`.

    ``defines`` maps names to value text, as ``nft -D name=value`` does: each becomes a
    ``define`` of the outermost scope, parsed as one command-line buffer before ``text``
    (nft: ``nft_ctx_add_var``), so ``$name`` works in ``text``
    and a bad value is reported against ``<cmdline>``.

    Raises :class:`~pkttables.errors.SyntaxError_` carrying every diagnostic (at most
    ``MAX_ERRORS``, in source order as nft reports them).  With ``keep_going`` the
    error is not raised but returned in ``Script.error``, with the commands parsed
    around the errors: nft 1.0.6 evaluates those too (``nft_run_cmd_from_filename``
    calls ``nft_evaluate`` whatever the parser answered) and prints their errors after
    the parser's; :func:`pkttables.commands.execute` does the same."""
    # The tree is acyclic: pausing the cyclic GC while building ~10 objects per token
    # takes a 100k-rule parse from ~10 s to ~5 s here (measured, see docs/language.md).
    was_enabled = gc.isenabled()
    gc.disable()
    # nesting is bounded by _NEST_LIMITS (nft's bison stack), not by Python's stack
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, _FRAMES_PER_LEVEL * _NEST_LIMITS[0][0] + 2000))
    try:
        top: dict = {}
        if defines:
            items = defines.items() if hasattr(defines, "items") else defines
            # nft 1.0.6 joins them into one command-line buffer: "define k=v; " each.
            pre_text = "".join(f"define {k}={v}; " for k, v in items)
            pre = _Parser(tokenize(pre_text, "<cmdline>"), include_path)
            pre.script()
            if pre.diags:
                raise SyntaxError_(pre.diags)
            top = pre.scopes[0]
        p = _Parser(tokenize(text, filename, bulk=True), include_path)
        p.scopes[0].update(top)
        script = p.script()
        if p.diags and any(t.kind is BULK for t in p.toks):
            # error recovery must see the normal token stream (elements_fast.py)
            p = _Parser(tokenize(text, filename), include_path)
            p.scopes[0].update(top)
            script = p.script()
    finally:
        sys.setrecursionlimit(old_limit)
        if was_enabled:
            gc.enable()
    if p.long_names:
        d = _name_too_long(script.commands, p.long_names)
        if d is not None:
            # nothing is evaluated after it (nft_cache_evaluate fails before nft_evaluate)
            p.diags.append(d)
            script = dataclasses.replace(script, commands=())
    if p.diags:
        exc = ParserCheckError(p.diags) if p.all_semantic else SyntaxError_(p.diags)
        if keep_going:
            return dataclasses.replace(script, error=exc)
        raise exc
    return script


#: NFT_NAME_MAXLEN (linux/netfilter/nf_tables.h): 256 bytes with the NUL, so a name of
#: 256 characters passes nft and fails in the kernel (ERANGE), 257 fails in nft
NFT_NAME_MAXLEN = 256
NAME_TOO_LONG = f"name too long, {NFT_NAME_MAXLEN} characters maximum allowed"


def command_names(obj: A.Obj) -> tuple:
    """The names of a command's handle that nft 1.0.6 checks before evaluating anything
    (cache.c ``nft_handle_validate``, run by ``nft_cache_evaluate`` on every command in
    order): the table, and the chain/set/object/flowtable the command names.  A table
    block's own chains and sets are not checked there (the kernel says ERANGE)."""
    if isinstance(obj, A.TableObj):
        return (obj.name,)
    if isinstance(obj, A.ChainObj):
        return (obj.table, obj.name)
    if isinstance(obj, A.RuleObj):
        return (obj.table, obj.chain)
    if isinstance(obj, A.ElementObj):
        return (obj.table, obj.set)
    if isinstance(obj, (A.SetObj, A.FlowtableObj, A.StatefulObj)):
        return (obj.table, obj.name)
    if isinstance(obj, A.ListObj):
        return (obj.table,)
    return ()


def _name_too_long(commands, long_names: list) -> Diagnostic | None:
    """nft's first "name too long" error, at the name, or None (measured on nft 1.0.6:
    only the first is reported, parse errors before it are kept)."""
    for cmd in commands:
        for name in command_names(cmd.obj):
            if isinstance(name, str) and len(name) > NFT_NAME_MAXLEN:
                start = (cmd.loc.file, cmd.loc.line, cmd.loc.first_col)
                loc = next((t.loc for t in long_names if t.value == name
                            and (t.loc.file, t.loc.line, t.loc.first_col) >= start), cmd.obj.loc)
                return Diagnostic(loc, NAME_TOO_LONG)
    return None


def parse_file(path: str, include_path=(), defines=None) -> A.Script:
    """Parse a file as ``nft -f FILE`` does (``defines`` as in :func:`parse`)."""
    try:
        # newline="": a "\r" must reach the lexer (nft reads it as junk)
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
            text = fh.read()
    except OSError as e:
        raise SyntaxError_(f'Could not open file "{path}": {e.strerror}') from None
    return parse(text, path, include_path, defines)
