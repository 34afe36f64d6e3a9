# cython: language_level=3
"""Structure-aware mutator over fixed-size op records (placeholder until written)."""
