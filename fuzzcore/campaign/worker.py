"""One campaign worker process: libFuzzer over one harness (the native engine's under the C
driver, fuzzcore/engine/_driver.pyx; the reference model's through atheris).

Started by fuzzcore.campaign.driver with a JSON config; writes its stats to
<out>/workers/<id>.json every STATS_SECONDS (atomically), so the driver can show a status line
and a killed worker loses at most that much of its counts."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

# numpy's BLAS pool would spin threads beside a single-threaded fuzzing loop; the engine uses none.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from ..util.atomic_write import atomic_write_text

STATS_SECONDS = 2.0

# libFuzzer defaults for state features, before the user's flags (a later flag wins):
#  -use_counters=0  a state counter's hit count (how often one (abstract state, op) pair recurred
#                   in a run) is not progress; as features the counts churned the corpus
#                   (15 s campaign: 6.6k -> 29.8k exec/s without them, 163 -> 168 buckets)
#  -entropic=0      entropic's per-feature frequency bookkeeping cost 55 % of a steady-state
#                   worker (65k -> 153k exec/s without it), and bucket discovery did not suffer
#                   (docs/campaigns.md has the measurements).
#  -len_control=100 libFuzzer's own default, which it turns off when a custom mutator is present:
#                   start with short programs and let the length limit grow when coverage stalls.
#                   Without it the corpus filled with 30-60-op programs at once (78k exec/s over
#                   a 30 s campaign; 216k with it, the same buckets).
# -verbosity=0: libFuzzer prints a status line per new corpus input, and each one counts the
# whole corpus (NumActiveUnits): a tenth of a worker's time early in a campaign, where state
# feedback adds inputs hundreds of times a second. The worker's stats carry what the status needs
# ("states": the state features hit); a user's -verbosity=1 comes later and wins.
LIBFUZZER_DEFAULTS = ["-use_counters=0", "-entropic=0", "-len_control=100", "-verbosity=0"]


def driver_module_path() -> str | None:
    """The file of fuzzcore.engine._driver, found without importing the engine package (an
    instrumented engine cannot import before libFuzzer is loaded); None when it is not built."""
    import importlib.machinery

    import fuzzcore
    here = os.path.join(os.path.dirname(fuzzcore.__file__), "engine")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = os.path.join(here, "_driver" + suffix)
        if os.path.exists(path):
            return path
    return None


def load_libfuzzer_globally(c_driver: bool = False) -> None:
    """Load atheris's libFuzzer with RTLD_GLOBAL before any fuzzcore extension is imported: an
    engine built with -fsanitize=fuzzer-no-link (FUZZCORE_INSTRUMENT=1) needs its symbols
    (__sancov_lowest_stack, ...) to import at all; a plain build does not care.

    The custom-mutator/crossover hooks must be loaded before it, globally: libFuzzer looks their
    symbols up when it loads, and finds none if its own module came first (then no custom
    mutation happens). With `c_driver`, the hooks are fuzzcore.engine._driver's (C, for the
    native engine), else atheris's (Python callables, for the reference model)."""
    import ctypes
    flags = sys.getdlopenflags()
    sys.setdlopenflags(os.RTLD_NOW | os.RTLD_GLOBAL)
    try:
        if c_driver:
            # Only the shared object, globally; Python imports (initialises) it later from
            # the same file, which the loader then finds already loaded.
            ctypes.CDLL(driver_module_path(), mode=os.RTLD_NOW | os.RTLD_GLOBAL)
        else:
            import atheris.custom_mutator  # noqa: F401
            import atheris.custom_crossover  # noqa: F401
        import atheris.core_with_libfuzzer  # noqa: F401
    finally:
        sys.setdlopenflags(flags)


def libfuzzer_module_path() -> str:
    import atheris.core_with_libfuzzer as core
    return core.__file__


def main(config_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    # The native engine runs under the C driver (fuzzcore/engine/_driver.pyx), the reference
    # model under atheris (its target is Python anyway).
    c_driver = cfg["engine"] != "reference" and driver_module_path() is not None
    load_libfuzzer_globally(c_driver)
    from ..device.builtin import resolve_device
    from ..policy import load_policy
    from .executor import make_executor
    from .findings_store import FindingsStore
    from .harness import Harness

    profile = resolve_device(cfg["device"])
    policy = load_policy(cfg["policy"])
    from ..engine import _feedback
    # With state feedback on, the engine bumps the very counters registered with libFuzzer.
    counters = _feedback.counters_array() if cfg.get("state_features", True) else None
    executor = make_executor(profile, policy, cfg["engine"], counters)
    # Root causes are derived by the driver (fuzzcore/campaign/annotator.py), beside this loop.
    store = FindingsStore(cfg["findings"], cfg["device"], cfg["policy"], executor.name,
                          annotate_root_causes=False)
    store.start_writer()
    harness = Harness(executor, store, cfg["stop_on_first"], cfg["structure_pct"],
                      cfg.get("state_features", True), cfg.get("prefix_resume", True))
    harness.favour_device_registers(profile)
    stats_path = Path(cfg["out"]) / "workers" / f"{cfg['worker']}.json"
    started = time.monotonic()

    last = [0.0]

    def write_stats(force: bool = False):
        # Called from the fuzzing loop (a thread would rarely get the GIL while libFuzzer runs).
        if not force and time.monotonic() - last[0] < STATS_SECONDS:
            return
        last[0] = time.monotonic()
        harness.flush_hits()
        text = json.dumps({
            "worker": cfg["worker"], "runs": harness.runs, "seconds": time.monotonic() - started,
            "new_buckets": harness.new_buckets, "engine": executor.name,
            "counters_registered": harness.registered, "mutations": harness.mutations,
            "slow_path_calls": harness.target.slow_calls if harness.target is not None else None,
            "bucket_writes": store.writes, **refusal_stats()})
        # The fsync'd writes go to the store's writer thread; at the process's end they are
        # waited for (a kill loses at most the last STATS_SECONDS of counts, as before).
        store.flush_in_background(then=lambda: atomic_write_text(stats_path, text))
        if force:
            store.maybe_flush(force=True)

    def refusal_stats() -> dict:
        # Ops the preconditions refused (issue 17): a high share means the mutator wastes work.
        engine = getattr(executor, "engine", None)
        if engine is None:
            return {}
        out = {"ops": engine.n_ops_run, "ops_refused": engine.n_refused, "states": engine.states_seen()}
        if harness.target is not None:
            out["ops_resumed"] = harness.target.prefix_stats()["resumed"]
        return out

    harness.on_tick = write_stats
    # libFuzzer's normal end (-runs, -max_total_time) is C exit(): flush hits, shorter inputs, stats.
    _feedback.call_at_process_exit(lambda: write_stats(force=True))

    argv = [sys.argv[0]] + LIBFUZZER_DEFAULTS + cfg["libfuzzer_args"]
    if c_driver and harness.target is not None:
        from ..engine import _driver, _mutate
        core = libfuzzer_module_path()
        if not _driver.hooks_global():
            raise RuntimeError(f"{core}: libFuzzer did not find fuzzcore's custom mutator "
                               "(fuzzcore.engine._driver must be loaded globally before it)")
        mix = harness.c_mutator(_driver.libfuzzer_symbol(core, "LLVMFuzzerMutate"))
        rc = _driver.run(core, argv, harness.target, harness.target.c_entry(), mix, mix.c_entry(),
                         _mutate.crossover_c_entry())
        write_stats(force=True)       # libFuzzer usually exits itself (the C exit hook above)
        sys.exit(rc)
    import atheris
    custom_mutator, custom_crossover = harness.mutators()
    atheris.Setup(argv, harness.test_one_input, custom_mutator=custom_mutator,
                  custom_crossover=custom_crossover, internal_libfuzzer=True)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1])
