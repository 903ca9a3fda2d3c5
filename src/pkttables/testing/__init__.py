"""Public testing tools: the kernel oracle (network namespaces), packet builders,
hypothesis strategies and a manual clock, so users can test their rulesets too."""
