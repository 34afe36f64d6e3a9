"""The pure-Python reference model: one module per kernel concern, and the invariants.

Section numbers (§N) in this package's comments and docstrings refer to docs/kernel.md, hazard
labels (H1-H19) to its §9, and "design.md §N" to docs/design.md.
"""
