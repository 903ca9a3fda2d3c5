"""pkttables.backends -- faster evaluators that give the reference interpreter's answers.

In: a chain's loaded rules (:class:`pkttables.vm.chain.LoadedRule`: instructions and
anonymous sets).  Out: for the stateless first-match runs of rules in it
(:mod:`~pkttables.backends.extract`), a :class:`~pkttables.backends.classifier.Classifier`
that returns the first matching rule of a run per packet or for a numpy batch of packets
(tuple space search, :mod:`~pkttables.backends.tuplespace`, or the older cut tree),
and :class:`~pkttables.backends.classifier.ChainClassifier`, which walks a whole chain:
runs through their classifiers, every other rule through ``vm.run``, in order;
:class:`~pkttables.backends.classified.ClassifierRuntime`, the interpreter's runtime
with those runs classified (``pkt simulate --backend classifier``).
"""

from pkttables.backends.classifier import BuildStats, ChainClassifier, Classifier, Dim, extract_frames
from pkttables.backends.extract import Constraint, Opaque, RuleSpec, Run, rule_spec, split_runs
from pkttables.backends.tuplespace import TupleSpace, TupleStats
from pkttables.backends.codegen import CodegenRuntime, CompiledRuleset, codegen_backend, compile_chain, compile_ruleset
from pkttables.backends.classified import ClassifierRuntime, classifier_backend

__all__ = ["Classifier", "ChainClassifier", "Dim", "BuildStats", "extract_frames", "Constraint",
           "Opaque", "RuleSpec", "Run", "rule_spec", "split_runs", "TupleSpace", "TupleStats",
           "CodegenRuntime", "CompiledRuleset", "codegen_backend", "compile_chain", "compile_ruleset",
           "ClassifierRuntime", "classifier_backend"]
