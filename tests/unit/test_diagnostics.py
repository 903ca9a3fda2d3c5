"""Diagnostics render exactly as nft 1.0.6 prints them (strings captured from the real nft)."""

from pkttables.errors import CMDLINE, CaptureError, Diagnostic, Location, PktError


def test_file_error_keeps_tabs_under_the_carets():
    loc = Location("e.nft", 3, 3, 5, "\t\tfoo bar")
    assert Diagnostic(loc, "No symbol type information").render() == (
        "e.nft:3:3-5: Error: No symbol type information\n\t\tfoo bar\n\t\t^^^")


def test_cmdline_error_has_no_place_prefix():
    line = "add rule ip t c tcp dport foo"
    loc = Location(CMDLINE, 1, 27, 29, line)
    assert Diagnostic(loc, "Could not resolve service: Servname not supported for ai_socktype").render() == (
        "Error: Could not resolve service: Servname not supported for ai_socktype\n"
        "add rule ip t c tcp dport foo\n"
        "                          ^^^")


def test_single_column_span():
    loc = Location("e2.nft", 1, 18, 18, "add rule ip t c x")
    assert Diagnostic(loc, "syntax error, unexpected newline").render().splitlines()[-1] == " " * 17 + "^"


def test_several_diagnostics_render_in_order():
    err = PktError([Diagnostic(Location("a", 1), "one"), Diagnostic(None, "two")])
    assert str(err) == "a:1: Error: one\nError: two"


def test_capture_error_names_file_and_offset():
    e = CaptureError("x.pcap", 1234, "truncated record")
    assert (e.path, e.offset) == ("x.pcap", 1234)
    assert "x.pcap" in str(e) and "1234" in str(e)


def test_secondary_locations_are_underlined_with_tildes():
    # nft 1.0.6: add rule inet test-inet output meta nfproto ipv6 ct original ip saddr 1.2.3.4
    line = "add rule inet test-inet output meta nfproto ipv6 ct original ip saddr 1.2.3.4"
    primary = Location(CMDLINE, 1, 50, 69, line)
    earlier = Location(CMDLINE, 1, 32, 48, line)
    assert Diagnostic(primary, "conflicting protocols specified: ip6 vs. ip", secondary=(earlier,)).render() == (
        "Error: conflicting protocols specified: ip6 vs. ip\n" + line + "\n"
        "                               ~~~~~~~~~~~~~~~~~ ^^^^^^^^^^^^^^^^^^^^")


def test_marks_count_bytes_like_nft():
    line = 'add rule ip t c iifname "é é" }'
    assert Diagnostic(Location("u.nft", 1, 33, 33, line), "x").render().splitlines()[-1] == " " * 32 + "^"
