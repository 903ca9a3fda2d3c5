"""Build hook for the one C extension, everything else is in pyproject.toml.

``pkttables.sets._keyset`` (src/pkttables/sets/_keyset.c) keeps a big plain hash set's
keys inline, so a lookup in a million-key set reads one cache line instead of two
(docs/sets.md, "hash: the floor").  It is optional: without a C compiler the build goes
on without it and the sets fall back to a Python ``set`` (same answers, slower at 1M).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("pkttables.sets._keyset", ["src/pkttables/sets/_keyset.c"],
                             extra_compile_args=["-O2"], optional=True)])
