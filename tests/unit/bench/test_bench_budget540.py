"""Issue 8: the 100k-rule ACL that ruleset-load and commit both read is generated once.
(The 540 s budget sum is checked in test_bench_workloads.py.)"""

from __future__ import annotations

from pkttables.bench import workloads as W


def test_acl_file_is_generated_once_per_run(tmp_path, monkeypatch):
    from pkttables.bench import classbench

    calls = []
    real = classbench.generate_acl

    def counting(n, seed=1, **kw):
        calls.append((n, seed))
        return real(n, seed, **kw)

    monkeypatch.setattr(classbench, "generate_acl", counting)
    opt = W.Options(quick=True, workdir=str(tmp_path))
    a, b = opt.acl(200), opt.acl(200)
    assert a == b and calls == [(200, 1)]
    with open(a) as f:
        assert f.read() == real(200, 1)
    opt.acl(300)
    assert calls == [(200, 1), (300, 1)]
