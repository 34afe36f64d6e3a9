"""Device profiles: dump parsing, the capability walk, register semantics and reset images.

Section numbers (§N) in this package's comments and docstrings refer to docs/kernel.md, hazard
labels (H1-H19) to its §9, and "design.md §N" to docs/design.md.
"""
