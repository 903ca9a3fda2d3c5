"""`pkt` and (later) `pktd`: command-line arguments -> one library call -> rendered output.

Every user-facing error is printed as one diagnostic on stderr with exit status 1; a
traceback from `pkt` is a bug.
"""
