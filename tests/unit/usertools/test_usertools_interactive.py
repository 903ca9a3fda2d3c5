"""`pkt -i` (cli/interactive.py): commands run against the session, multi-line input,
quit/EOF, help, history file, completion."""

import io

from pkttables.cli.interactive import PktShell, complete_words, run_interactive
from pkttables.control.api import Nftables


def drive(text, session=None):
    session = session or Nftables()
    out, err = io.StringIO(), io.StringIO()
    rc = run_interactive(session, io.StringIO(text), out, err)
    return rc, out.getvalue(), err.getvalue(), session


def test_commands_change_the_session_ruleset():
    rc, out, err, nft = drive("add table inet t\n"
                              "add chain inet t c { type filter hook input priority 0;\n"
                              "  policy drop; }\n"
                              "add rule inet t c tcp dport 22 \\\n accept\n"
                              "list ruleset\n"
                              "quit\n"
                              "add table ip never\n")
    assert rc == 0 and err == ""
    assert "\t\ttcp dport 22 accept\n" in out and "policy drop;" in out
    assert out.count("pkt> ") == 5 and out.count("... ") == 2
    assert "never" not in nft.cmd("list tables")[1]


def test_errors_go_to_stderr_and_set_status():
    rc, out, err, _ = drive("add rule inet t x drop\n")
    assert rc == 1
    assert "Error: Could not process rule: No such file or directory" in err
    assert out.endswith("pkt> \n")   # EOF ends the session with a newline, as nft


def test_help_and_empty_lines():
    rc, out, _, _ = drive("\n\nhelp snat\n")
    assert rc == 0 and "snat (statement)" in out


def test_completion():
    assert complete_words("", "li") == ["list"]
    assert complete_words("add rule inet t c tcp d", "d") == ["doff", "dport"]
    assert complete_words("add rule inet t c meta ma", "ma") == ["mark"]
    assert "original" in complete_words("add rule inet t c ct ", "")
    assert complete_words("add rule inet t c tcp dport 22 mas", "mas") == ["masquerade"]
    sh = PktShell(Nftables(), io.StringIO(""), io.StringIO())
    assert sh.completedefault("ta", "add ta", 4, 6) == ["table", "tables"]
    assert sh.complete_help("masq", "help masq", 5, 9) == ["masquerade"]


def test_history_file(tmp_path, monkeypatch):
    readline = __import__("pytest").importorskip("readline")
    hist = tmp_path / "hist"
    monkeypatch.setenv("PKT_HISTFILE", str(hist))
    readline.clear_history()
    readline.add_history("list ruleset")
    import pkttables.cli.interactive as I
    # a closed stdin on the real loop: cmd reads EOF at once; history is written on the way out
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr("sys.stdout", io.StringIO())
    I.run_interactive(Nftables())
    assert "list ruleset" in hist.read_text()
