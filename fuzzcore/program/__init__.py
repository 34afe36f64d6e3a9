"""Programs: the op table, the byte codec and the `.fzs` text format.

Section numbers (§N) in this package's comments and docstrings refer to docs/kernel.md, hazard
labels (H1-H19) to its §9, and "design.md §N" to docs/design.md.
"""
