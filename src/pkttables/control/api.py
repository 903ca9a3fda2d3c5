"""The python-nftables interface, on pkttables.

Code written for python-nftables (nftables' ``py/src/nftables.py``, the ctypes binding
of libnftables) runs unchanged::

    from pkttables import Nftables
    nft = Nftables()
    rc, out, err = nft.cmd("add table inet t")
    rc, obj, err = nft.json_cmd({"nftables": [{"add": {"chain": {...}}}]})

The public surface, its flag values and its return shapes are python-nftables' own:
``cmd``/``cmd_from_file`` return ``(rc, output, error)`` with rc 0 or -1 (what
``nft_run_cmd_from_buffer`` returns), str in -> str out and bytes in -> bytes out;
``get_*_output`` return the flag's bit (truthy int) and ``set_*_output`` the previous
one; ``get_debug``/``set_debug`` use lists of names.

Differences, by design: ``Nftables()`` starts from an empty ruleset of its own (like a
fresh network namespace) instead of the kernel's; ``Nftables(state=PATH)`` keeps the
ruleset in a state file shared with ``pkt --state PATH``.  ``sofile`` is accepted and
ignored.
"""

from __future__ import annotations

import json
import os

from pkttables.commands import Options, ScannerFatal, StateStore, execute, parse_input, read_input
from pkttables.commands.store import handle_marks
from pkttables.errors import PktError
from pkttables.model import Ruleset

__all__ = ["Nftables", "SchemaValidator", "NFTABLES_VERSION"]

NFTABLES_VERSION = "0.1"


class SchemaValidator:
    """Validates a libnftables JSON document.  python-nftables uses jsonschema and the
    schema file; here the JSON front end's own checks are the schema (an invalid
    document raises :class:`pkttables.errors.PktError` naming the JSON path)."""

    def validate(self, json_root) -> None:
        from pkttables.lang.json_input import parse_json
        parse_json(json_root)


class Nftables:
    """A class representing the libnftables interface, over a pkttables ruleset."""

    debug_flags = {
        "scanner": 0x1,
        "parser": 0x2,
        "eval": 0x4,
        "netlink": 0x8,
        "mnl": 0x10,
        "proto-ctx": 0x20,
        "segtree": 0x40,
    }

    output_flags = {
        "reversedns": (1 << 0),
        "service": (1 << 1),
        "stateless": (1 << 2),
        "handle": (1 << 3),
        "json": (1 << 4),
        "echo": (1 << 5),
        "guid": (1 << 6),
        "numeric_proto": (1 << 7),
        "numeric_prio": (1 << 8),
        "numeric_symbol": (1 << 9),
        "numeric_time": (1 << 10),
        "terse": (1 << 11),
    }

    validator = None

    def __init__(self, sofile: str = "libnftables.so.1", *, state: str | os.PathLike | None = None):
        self._flags = 0
        self._debug = 0
        self._dry_run = False
        self._include_paths: list[str] = []
        self._vars: dict[str, str] = {}
        self._store = StateStore(state) if state is not None else None
        self._ruleset = Ruleset()

    # -- the ruleset this context works on --------------------------------------------
    @property
    def ruleset(self) -> Ruleset:
        """The current generation (pkttables extension: read it, never modify it)."""
        return self._store.load() if self._store is not None else self._ruleset

    def _options(self) -> Options:
        return Options(
            flags={n for n, bit in self.output_flags.items() if self._flags & bit},
            debug={n for n, bit in self.debug_flags.items() if self._debug & bit},
            dry_run=self._dry_run,
            include_paths=list(self._include_paths),
            vars=dict(self._vars),
        )

    def _run(self, text: str | None, filename: str | None) -> tuple[int, str, str]:
        opts = self._options()

        def go(base: Ruleset):
            if filename is not None:
                # libnftables 1.0.6 nft_run_cmd_from_filename ("-" is standard input)
                src, name = read_input(filename)
            else:
                src, name = text + "\n", "<cmdline>"   # as nft_run_cmd_from_buffer does
            script = parse_input(src, name, opts)
            return execute(script, base, opts)

        try:
            if self._store is None:
                res = go(self._ruleset)
                self._ruleset = res.ruleset
            else:
                with self._store.locked():
                    base = self._store.load()
                    marks = handle_marks(base)
                    try:
                        res = go(base)
                    except PktError:
                        # the handles a failed batch took stay taken, as in the kernel
                        if not self._dry_run and handle_marks(base) != marks:
                            self._store.save(base)
                        raise
                    if res.changed:
                        self._store.save(res.ruleset)
        except PktError as exc:
            return -1, getattr(exc, "output", ""), exc.render() + "\n"
        except ScannerFatal:
            return -1, "", "input in flex scanner failed\n"
        except Exception as exc:  # noqa: BLE001 -- python-nftables returns (rc, out, err), never raises
            if os.environ.get("PKT_DEBUG"):
                raise
            from pkttables.cli.main import internal_error
            return -1, "", internal_error(exc) + "\n"
        return 0, res.output, ""

    # -- output flags -------------------------------------------------------------------
    def __get_output_flag(self, name):
        return self._flags & self.output_flags[name]

    def __set_output_flag(self, name, val):
        flag = self.output_flags[name]
        old = self._flags & flag
        self._flags = (self._flags | flag) if val else (self._flags & ~flag)
        return old

    def get_reversedns_output(self):
        """Whether reverse DNS lookups are performed for IP addresses in output."""
        return self.__get_output_flag("reversedns")

    def set_reversedns_output(self, val):
        """Turn reverse DNS output on or off; returns the previous value."""
        return self.__set_output_flag("reversedns", val)

    def get_service_output(self):
        """Whether service names are printed for port numbers."""
        return self.__get_output_flag("service")

    def set_service_output(self, val):
        return self.__set_output_flag("service", val)

    def get_stateless_output(self):
        """Whether stateful information (counters...) is omitted."""
        return self.__get_output_flag("stateless")

    def set_stateless_output(self, val):
        return self.__set_output_flag("stateless", val)

    def get_handle_output(self):
        """Whether handles are printed."""
        return self.__get_output_flag("handle")

    def set_handle_output(self, val):
        return self.__set_output_flag("handle", val)

    def get_json_output(self):
        """Whether output is libnftables JSON."""
        return self.__get_output_flag("json")

    def set_json_output(self, val):
        return self.__set_output_flag("json", val)

    def get_echo_output(self):
        """Whether added objects are echoed back."""
        return self.__get_output_flag("echo")

    def set_echo_output(self, val):
        return self.__set_output_flag("echo", val)

    def get_guid_output(self):
        """Whether user/group names are printed for IDs."""
        return self.__get_output_flag("guid")

    def set_guid_output(self, val):
        return self.__set_output_flag("guid", val)

    def get_numeric_proto_output(self):
        return self.__get_output_flag("numeric_proto")

    def set_numeric_proto_output(self, val):
        return self.__set_output_flag("numeric_proto", val)

    def get_numeric_prio_output(self):
        return self.__get_output_flag("numeric_prio")

    def set_numeric_prio_output(self, val):
        return self.__set_output_flag("numeric_prio", val)

    def get_numeric_symbol_output(self):
        return self.__get_output_flag("numeric_symbol")

    def set_numeric_symbol_output(self, val):
        return self.__set_output_flag("numeric_symbol", val)

    def get_numeric_time_output(self):
        return self.__get_output_flag("numeric_time")

    def set_numeric_time_output(self, val):
        return self.__set_output_flag("numeric_time", val)

    def get_terse_output(self):
        """Whether set contents are omitted."""
        return self.__get_output_flag("terse")

    def set_terse_output(self, val):
        return self.__set_output_flag("terse", val)

    # -- debug --------------------------------------------------------------------------
    def get_debug(self):
        """The active debug flags, as a list of names (unknown bits as one int)."""
        val = self._debug
        names = []
        for n, v in self.debug_flags.items():
            if val & v:
                names.append(n)
                val &= ~v
        if val:
            names.append(val)
        return names

    def set_debug(self, values):
        """Set debug flags from a name, an int, or a list of them; returns the old list.
        With ``netlink``, ``cmd()`` output carries the bytecode of each rule."""
        old = self.get_debug()
        if type(values) in [str, int]:
            values = [values]
        val = 0
        for v in values:
            if type(v) is str:
                v = self.debug_flags[v]
            val |= v
        self._debug = val
        return old

    # -- commands -----------------------------------------------------------------------
    def cmd(self, cmdline):
        """Run nftables commands given as text.  Returns ``(rc, output, error)``."""
        is_bytes = isinstance(cmdline, bytes)
        # libnftables takes any bytes: bytes that are not UTF-8 reach the scanner (which
        # calls them junk, with a location), so they must not fail the decoding here.
        text = cmdline.decode("utf-8", "surrogateescape") if is_bytes else cmdline
        rc, out, err = self._run(text, None)
        if is_bytes:
            return rc, out.encode("utf-8", "surrogateescape"), err.encode("utf-8", "surrogateescape")
        return rc, out, err

    def json_cmd(self, json_root):
        """Run commands given as a libnftables JSON object.  Returns ``(rc, obj, error)``
        where ``obj`` is the decoded JSON output (``""`` when there is none)."""
        json_out_old = self.set_json_output(True)
        rc, output, error = self.cmd(json.dumps(json_root))
        if not json_out_old:
            self.set_json_output(json_out_old)
        if len(output):
            output = json.loads(output)
        return rc, output, error

    def json_validate(self, json_root):
        """Validate a JSON object; True, or raises on an invalid document."""
        if not self.validator:
            self.validator = SchemaValidator()
        self.validator.validate(json_root)
        return True

    def cmd_from_file(self, filename):
        """Run the commands of a file (``nft -f``).  Returns ``(rc, output, error)``."""
        is_bytes = isinstance(filename, bytes)
        name = os.fsdecode(filename) if is_bytes else str(filename)
        rc, out, err = self._run(None, name)
        if is_bytes:
            return rc, out.encode("utf-8", "surrogateescape"), err.encode("utf-8", "surrogateescape")
        return rc, out, err

    def add_include_path(self, filename):
        """Add a directory to the include search path.  Returns True."""
        self._include_paths.append(os.fsdecode(filename) if isinstance(filename, bytes) else str(filename))
        return True

    def clear_include_paths(self):
        """Clear the include path list."""
        self._include_paths.clear()

    def get_dry_run(self):
        """True when commands are checked but not applied (``nft -c``)."""
        return self._dry_run

    def set_dry_run(self, onoff):
        """Set dry run; returns the previous state."""
        old = self._dry_run
        self._dry_run = bool(onoff)
        return old

    def add_var(self, var):
        """Add a ``name=value`` variable (``nft -D``).  Returns True if added."""
        if isinstance(var, bytes):
            var = var.decode("utf-8")
        name, eq, value = var.partition("=")
        if not eq or not name:
            return False
        self._vars[name] = value
        return True

    def clear_vars(self):
        """Clear the variable list."""
        self._vars.clear()
