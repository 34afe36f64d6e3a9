"""Policies: how "the kernel" saves, resets and restores config state, as data.

    from fuzzcore.policy import load_policy
    policy = load_policy("linux-7.1+msix-restore-enable-memory")
    policy.switch("msix_restore.force_memory")   # "always"
    tables = policy.compile()                    # numpy id tables for the engine

The language is described in docs/policies.md; the words it may use are in vocabulary.py.
Section numbers (§N) in the policies and the vocabulary refer to docs/kernel.md.
"""

from .loader import (
    BUILTIN_DIR, CompiledPolicy, PartInfo, Policy, PolicyError, RestoreStep, SaveStep, builtin_policies,
    load_policy,
)

__all__ = [
    "BUILTIN_DIR", "CompiledPolicy", "PartInfo", "Policy", "PolicyError", "RestoreStep", "SaveStep",
    "builtin_policies", "load_policy",
]
