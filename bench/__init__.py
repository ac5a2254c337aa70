"""Benchmarks of the registry, run with `make bench` (python -m bench); never part of the tests.

Each section is a module with NAME, add_arguments(parser) and run(args) -> Section; it
measures against a same-run baseline where one makes sense, and report.py writes its
Markdown into docs/benchmarks.md next to the other sections' last results.
"""
