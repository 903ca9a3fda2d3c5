"""`pkt bench`: named workloads, measured with their baselines in the same run.

In: workload names and options.  Out: a readable table (rich) and a JSON report with,
for each measurement, the value, its unit and its ratio to every baseline measured in the
same process.  Absolute times drift on shared machines; ratios from one run do not.
Speed is measured here, never in tests.
"""
