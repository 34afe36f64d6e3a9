"""A self-contained atheris target for ClusterFuzzLite/OSS-Fuzz: the engine on one device and
policy (FUZZCORE_DEVICE, FUZZCORE_POLICY; default i350, linux-7.1) with the state features.

There is no findings store under ClusterFuzzLite, so a violation whose bucket is not in
FUZZCORE_KNOWN_BUCKETS (a file with one `invariant | op | register` per line) is raised as a
crash: in CI on a pull request that reports exactly the buckets a patch introduces."""

import os
import sys

import atheris

with atheris.instrument_imports():
    from fuzzcore.engine import _feedback
    from fuzzcore.campaign.executor import make_executor
    from fuzzcore.campaign.harness import register_state_counters
    from fuzzcore.device.builtin import resolve_device
    from fuzzcore.policy import load_policy

EXECUTOR = make_executor(resolve_device(os.environ.get("FUZZCORE_DEVICE", "i350")),
                         load_policy(os.environ.get("FUZZCORE_POLICY", "linux-7.1")))
KNOWN = None
if os.environ.get("FUZZCORE_KNOWN_BUCKETS"):
    with open(os.environ["FUZZCORE_KNOWN_BUCKETS"]) as f:
        KNOWN = {tuple(p.strip() for p in ln.split("|")) for ln in f if ln.strip() and not ln.startswith("#")}


def TestOneInput(data: bytes) -> None:
    if not _feedback.is_registered():
        register_state_counters()
    outcome = EXECUTOR.run(data)
    _feedback.bump(outcome.features)
    if KNOWN is not None:
        for v in outcome.violations:
            if v.bucket not in KNOWN:
                raise AssertionError(f"new bucket: {' | '.join(v.bucket)}: {v}")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
