"""Policy files -> Policy -> CompiledPolicy.

A policy spec is `base+overlay+overlay...`. Each part is a built-in name (the file
fuzzcore/policies/NAME.toml) or a path to a .toml file. The first part is a baseline: a file
with a `[policy]` table (`kind = "baseline"`) that states every switch and both step orders.
The other parts are overlays: files with an `[overlay]` table that change a baseline the way
one patch does. Overlays apply left to right; a later overlay sees the result of the earlier
ones. The words a file may use are the tables in vocabulary.py.

Every mistake in a file is reported as `TomlError` ("file:line: message"); a mistake in the spec
itself (an unknown name, an empty part, an overlay applied twice) as `PolicyError`, which names
the spec part. Both are ValueErrors.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from ..util.file_identity import file_identity
from ..util.text_input import missing_file
from ..util.toml_source import TomlError, TomlSource, check_keys, load_toml
from .vocabulary import (
    GATE_IDS, GATE_NAMES, RESET_METHOD_IDS, RESET_METHOD_NAMES, RESTORE_STEP_BY_NAME,
    RESTORE_STEP_IDS, RESTORE_STEP_NAMES, SAVE_STEP_BY_NAME, SAVE_STEP_IDS, SAVE_STEP_NAMES,
    SECTIONS, SOURCE_IDS, SOURCE_NAMES, SWITCH_BY_NAME, SWITCH_IDS, SWITCH_NAMES, SWITCHES, pmcsr_user_mask,
)
from . import vfio_config
from .paths import (
    CONDITION_NAMES, PATH_BY_NAME, PATH_NAMES, PRIMITIVE_BY_NAME, PRIMITIVE_IDS, STEP_GATES,
    MAX_WHEN_TERMS,
    encode_when,
    when_terms,
)

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "policies"
_BUILTIN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

_POLICY_KEYS = {"kind": str, "name": str, "description": str, "reference": str}
_OVERLAY_KEYS = {"name": str, "description": str, "commit": str, "reference": str}
_EDIT_KEYS = ("remove", "insert", "move")
_UNSET = object()


class PolicyError(ValueError):
    """A policy spec that cannot be resolved; names the spec and the offending part."""

    def __init__(self, spec: str, part: str, message: str):
        self.spec, self.part, self.message = spec, part, message
        super().__init__(f"policy '{spec}': part '{part}': {message}")


# --- the result -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RestoreStep:
    name: str
    source: str
    gate: str
    upstream: str


@dataclass(frozen=True)
class SaveStep:
    name: str
    gate: str

    @property
    def upstream(self) -> str:
        return SAVE_STEP_BY_NAME[self.name].upstream


@dataclass(frozen=True)
class PathStep:
    """One step of a path: a primitive call with its parameter, condition and gate."""

    name: str
    do: str
    params: tuple = ()          # ((param, value), ...): value str, or tuple of str for a bits list
    when: str = ""              # a condition of paths.CONDITIONS, "not NAME", or "" (always)
    gate: str = "always"        # "always" | "never" (kept in the order, dropped)

    def param(self, name: str, default=None):
        return dict(self.params).get(name, default)

    @property
    def upstream(self) -> str:
        return PRIMITIVE_BY_NAME[self.do].upstream


@dataclass(frozen=True)
class PartInfo:
    """One file of a spec: what it says about itself."""

    name: str
    kind: str              # "baseline" | "overlay"
    path: str
    description: str
    commit: str = ""
    reference: str = ""



# switches that became path steps: what an overlay that still sets one should write instead
_RETIRED_SWITCHES = {
    "recovery.reset_after": "where pcie_do_recovery resets is the order of [path.pcie_do_recovery]'s steps "
                            "(the kernel before d0a2dee7d458: docs/examples/pre-d0a2dee7d458.toml)",
}

def _frozen(values, dtype) -> np.ndarray:
    a = np.asarray(values, dtype=dtype)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class CompiledPolicy:
    """A policy as small integer tables, for the engine and the reference model.

    Ids are positions in the vocabulary tables (the *_names tuples below, copied from
    vocabulary.py). Per-step arrays are indexed by step id and cover every step of the
    vocabulary, including steps not in the order (their position is -1). Switch values are
    ints: bool 0/1, enum value index, list = OR of (1 << value index). All arrays are read-only.
    """

    restore_order: np.ndarray      # int8[n]: restore step ids, in run order
    restore_position: np.ndarray   # int8[len(restore_step_names)]: index in restore_order or -1
    restore_source: np.ndarray     # int8[len(restore_step_names)]: source id
    restore_gate: np.ndarray       # int8[len(restore_step_names)]: gate id
    save_order: np.ndarray         # int8[m]: save step ids, in run order
    save_position: np.ndarray      # int8[len(save_step_names)]: index in save_order or -1
    save_gate: np.ndarray          # int8[len(save_step_names)]: gate id
    reset_order: np.ndarray        # int8[k]: reset method ids, in the order they are tried
    switches: np.ndarray           # int16[len(switch_names)]: switch values
    path_start: np.ndarray         # int16[len(path_names)]: first step of each path in the step arrays
    path_len: np.ndarray           # int16[len(path_names)]: its steps (gate "never" ones dropped)
    step_prim: np.ndarray          # int16[s]: primitive id (paths.PRIMITIVES)
    step_arg: np.ndarray           # int32[s]: the parameter, encoded (enum index or Command bits)
    step_when: np.ndarray          # int32[s]: 0 none, else a signed byte per "and" term: condition id + 1, negative = "not"
    path_names: tuple = PATH_NAMES
    restore_step_names: tuple = RESTORE_STEP_NAMES
    save_step_names: tuple = SAVE_STEP_NAMES
    source_names: tuple = SOURCE_NAMES
    gate_names: tuple = GATE_NAMES
    reset_method_names: tuple = RESET_METHOD_NAMES
    switch_names: tuple = SWITCH_NAMES
    switch_values: tuple = tuple(sw.value_names for sw in SWITCHES)   # () for bool switches
    vfio_regions: tuple = ()       # vfio_config.VfioRegion per [vfio_config.NAME]: model/vfio_perm.build reads them

    def switch(self, name: str) -> int:
        return int(self.switches[SWITCH_IDS[name]])


@dataclass(frozen=True)
class Policy:
    name: str                                   # the spec string
    parts: tuple[str, ...]                      # the declared name of each part, in order
    part_info: tuple[PartInfo, ...]
    restore_steps: tuple[RestoreStep, ...]
    save_steps: tuple[SaveStep, ...]
    reset_methods: tuple[str, ...]
    switch_values: tuple[tuple[str, object], ...]   # (switch name, value), vocabulary order
    origins: tuple[tuple[str, str], ...] = ()       # (setting, overlay that last changed it)
    paths: tuple[tuple[str, tuple[PathStep, ...]], ...] = ()   # (path name, steps in order), PATHS order
    vfio_regions: tuple = ()                    # vfio_config.VfioRegion, in file order

    @cached_property
    def _path_index(self) -> dict:
        return dict(self.paths)

    def path(self, name: str) -> tuple[PathStep, ...]:
        """The steps of path `name` in run order (gate "never" steps included)."""
        steps = self._path_index.get(name)
        if steps is not None:
            return steps
        raise PolicyError(self.name, name, f"no path '{name}' (known: {', '.join(PATH_NAMES)})")

    def switch(self, name: str):
        """The value of switch `name` ("section.key"): bool, str, or tuple of str for lists."""
        for key, value in self.switch_values:
            if key == name:
                return value
        raise PolicyError(self.name, name, f"no switch '{name}' (known: {', '.join(SWITCH_NAMES)})")

    @property
    def switches(self) -> dict:
        return dict(self.switch_values)

    def restore_step(self, name: str) -> RestoreStep | None:
        return next((s for s in self.restore_steps if s.name == name), None)

    def save_step(self, name: str) -> SaveStep | None:
        return next((s for s in self.save_steps if s.name == name), None)

    def origin(self, setting: str) -> str:
        """The part that last changed `setting` (a switch name, "restore.steps",
        "restore.step.tph.gate", ...); the baseline for what no overlay changed."""
        return dict(self.origins).get(setting, self.parts[0] if self.parts else "")

    def compile(self) -> CompiledPolicy:
        return self._compiled

    @cached_property
    def _compiled(self) -> CompiledPolicy:
        n_restore, n_save = len(RESTORE_STEP_NAMES), len(SAVE_STEP_NAMES)
        restore_position = [-1] * n_restore
        restore_source = [SOURCE_IDS[RESTORE_STEP_BY_NAME[n].default_source] for n in RESTORE_STEP_NAMES]
        restore_gate = [GATE_IDS["never"]] * n_restore
        for pos, step in enumerate(self.restore_steps):
            sid = RESTORE_STEP_IDS[step.name]
            restore_position[sid] = pos
            restore_source[sid] = SOURCE_IDS[step.source]
            restore_gate[sid] = GATE_IDS[step.gate]
        save_position = [-1] * n_save
        save_gate = [GATE_IDS["never"]] * n_save
        for pos, step in enumerate(self.save_steps):
            sid = SAVE_STEP_IDS[step.name]
            save_position[sid] = pos
            save_gate[sid] = GATE_IDS[step.gate]
        values = self.switches
        path_start, path_len, prim, arg, when = [], [], [], [], []
        for name, steps in self.paths:
            path_start.append(len(prim))
            run = [st for st in steps if st.gate != "never"]
            path_len.append(len(run))
            for st in run:
                pd = PRIMITIVE_BY_NAME[st.do]
                prim.append(PRIMITIVE_IDS[st.do])
                arg.append(_packed_arg(pd, st))
                when.append(encode_when(st.when))
        return CompiledPolicy(
            restore_order=_frozen([RESTORE_STEP_IDS[s.name] for s in self.restore_steps], np.int8),
            restore_position=_frozen(restore_position, np.int8),
            restore_source=_frozen(restore_source, np.int8),
            restore_gate=_frozen(restore_gate, np.int8),
            save_order=_frozen([SAVE_STEP_IDS[s.name] for s in self.save_steps], np.int8),
            save_position=_frozen(save_position, np.int8),
            save_gate=_frozen(save_gate, np.int8),
            reset_order=_frozen([RESET_METHOD_IDS[m] for m in self.reset_methods], np.int8),
            switches=_frozen([sw.encode(values[sw.name]) for sw in SWITCHES], np.int16),
            path_start=_frozen(path_start, np.int16), path_len=_frozen(path_len, np.int16),
            step_prim=_frozen(prim, np.int16), step_arg=_frozen(arg, np.int32), step_when=_frozen(when, np.int32),
            vfio_regions=self.vfio_regions,
        )

    def describe(self, path: str | None = None) -> str:
        """A readable account of the policy; settings an overlay changed name that overlay. With
        `path`, only that path (a name of paths.PATHS, or "restore"/"save")."""
        base = self.parts[0] if self.parts else ""

        def mark(setting: str) -> str:
            who = self.origin(setting)
            return f"  [{who}]" if who != base else ""

        # the baseline alone, to name the steps an overlay removed (they are shown, struck out)
        base_pol = load_policy(base) if len(self.parts) > 1 else None

        def base_names(kind: str) -> list | None:
            if base_pol is None:
                return None
            return ([s.name for s in base_pol.restore_steps] if kind == "restore" else
                    [s.name for s in base_pol.save_steps] if kind == "save" else
                    [st.name for st in base_pol.path(kind)])

        def removed(kind: str, names: list, key: str) -> list[str]:
            before = base_names(kind) or []
            return [f"   --  {n:<22}removed{mark(key)}" for n in before if n not in names]

        if path is not None:
            if path == "vfio_config":
                return "\n".join(vfio_config.describe(self.vfio_regions, mark))
            if path in ("restore", "pci_restore_state", "save", "pci_save_state"):
                lines = self.describe().splitlines()
                head = "pci_restore_state" if path.startswith(("restore", "pci_restore")) else "pci_save_state"
                start = next(i for i, l in enumerate(lines) if l.startswith(head))
                end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("  "))
                return "\n".join(lines[start:end])
            if path not in PATH_BY_NAME:
                raise PolicyError(self.name, path, f"no path '{path}' (known: restore, save, vfio_config, "
                                                   f"{', '.join(PATH_NAMES)})")
            return "\n".join(self._describe_path(path, mark, removed, base_names))

        out = [f"policy {self.name}"]
        for p in self.part_info:
            if p.kind == "baseline":
                out.append(f"  base     {p.name}: {p.description}")
            else:
                commit = p.commit or "no upstream commit"
                ref = f", {p.reference}" if p.reference else ""
                out.append(f"  overlay  {p.name} ({commit}{ref}): {p.description}")
        out.append("")
        out.append(f"pci_restore_state, {len(self.restore_steps)} steps:{mark('restore.steps')}")
        for i, s in enumerate(self.restore_steps, 1):
            m = mark(f"restore.step.{s.name}.source") or mark(f"restore.step.{s.name}.gate")
            out.append(f"  {i:2d}. {s.name:<17}{s.source:<9} {s.gate:<10} {s.upstream}{m}")
        out.extend(removed("restore", [s.name for s in self.restore_steps], "restore.steps"))
        out.append(f"pci_save_state, {len(self.save_steps)} steps:{mark('save.steps')}")
        for i, s in enumerate(self.save_steps, 1):
            out.append(f"  {i:2d}. {s.name:<17}{s.gate:<10} {s.upstream}{mark(f'save.step.{s.name}.gate')}")
        out.extend(removed("save", [s.name for s in self.save_steps], "save.steps"))
        for name in PATH_NAMES:
            out.extend(self._describe_path(name, mark, removed, base_names))
        out.extend(vfio_config.describe(self.vfio_regions, mark))
        out.append("switches:")
        width = max(len(n) for n in SWITCH_NAMES)
        for name, value in self.switch_values:
            out.append(f"  {name:<{width}} = {_show(value)}{mark(name)}")
        return "\n".join(out)

    def _describe_path(self, name: str, mark, removed=None, base_names=None) -> list[str]:
        steps = self.path(name)
        before = base_names(name) if base_names is not None else None
        key = _path_key(name)
        out = [f"{name} ({PATH_BY_NAME[name].upstream}), {len(steps)} steps:{mark(key + '.steps')}"]
        for i, st in enumerate(steps, 1):
            params = " ".join(f"{k}={_show(v, k == 'reg')}" for k, v in st.params)
            when = f" when {st.when}" if st.when else ""
            gate = " [gate never]" if st.gate == "never" else ""
            m = "".join(dict.fromkeys(mark(f"{key}.step.{st.name}.{w}") for w in ("do", "params", "when", "gate")))
            if before is not None and st.name not in before:
                m = m or f"  added{mark(key + '.steps')}"
            out.append(f"  {i:2d}. {st.name:<22}" + " ".join(x for x in (st.do, params, when.strip(), gate.strip()) if x) + m)
        if removed is not None:
            out.extend(removed(name, [st.name for st in steps], key + ".steps"))
        return out

    def __str__(self) -> str:
        return self.name


def _path_key(name: str) -> str:
    """The setting prefix a path's origins use: "path.NAME" or "driver.CALLBACK"."""
    return name if name.startswith("driver.") else f"path.{name}"


def _show(value, offset: bool = False) -> str:
    """A step parameter as TOML writes it (a register offset in hex, as the policy files do)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, int):
        return f"0x{value:02X}" if offset else str(value)
    return f'"{value}"'


# --- building ---------------------------------------------------------------------------------

@dataclass
class _Build:
    """The policy as it stands after the parts applied so far."""

    orders: dict = field(default_factory=lambda: {"restore": [], "save": []})
    # (section, step, "source"|"gate") -> value; every vocabulary step has defaults
    step_settings: dict = field(default_factory=dict)
    switches: dict = field(default_factory=dict)
    origins: dict = field(default_factory=dict)
    path_orders: dict = field(default_factory=dict)     # path name -> [step name]
    path_defs: dict = field(default_factory=dict)       # (path, step) -> {"do", "params", "when", "gate"}
    vfio_regions: dict = field(default_factory=dict)    # [vfio_config.NAME] -> {space, cap, length, write_fn, rows}

    def __post_init__(self):
        for s in RESTORE_STEP_BY_NAME.values():
            self.step_settings[("restore", s.name, "source")] = s.default_source
            self.step_settings[("restore", s.name, "gate")] = s.default_gate
        for s in SAVE_STEP_BY_NAME.values():
            self.step_settings[("save", s.name, "gate")] = s.default_gate

    def set_step(self, section: str, step: str, what: str, value: str, info: PartInfo) -> None:
        if self.step_settings[(section, step, what)] != value:
            self.step_settings[(section, step, what)] = value
            self.changed(f"{section}.step.{step}.{what}", info)

    def changed(self, setting: str, info: PartInfo) -> None:
        if info.kind == "overlay":
            self.origins[setting] = info.name


_STEP_VOCAB = {"restore": RESTORE_STEP_BY_NAME, "save": SAVE_STEP_BY_NAME}
_ORDER_FN = {"restore": "pci_restore_state", "save": "pci_save_state"}


def builtin_policies() -> list[str]:
    """Names of the shipped policy files (baselines and overlays)."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def resolve_part(spec: str, part: str) -> Path:
    if not part.strip():
        raise PolicyError(spec, part, "empty part (write base+overlay+..., no '+' at either end or doubled)")
    if "/" in part or part.endswith(".toml"):
        path = Path(part).expanduser()
        if not path.is_file():
            raise PolicyError(spec, part, missing_file(path))
        return path
    path = BUILTIN_DIR / f"{part}.toml"
    if not _BUILTIN_NAME_RE.match(part) or not path.is_file():
        raise PolicyError(spec, part, f"unknown policy '{part}' (built in: {', '.join(builtin_policies())}; "
                                      "or give a path to a .toml file)")
    return path


def load_policy(spec: str) -> Policy:
    """Load `base+overlay+...` (see the module docstring) into a Policy."""
    if not isinstance(spec, str) or not spec.strip():
        raise PolicyError(str(spec), "", "empty policy spec")
    files = tuple(resolve_part(spec, part) for part in spec.split("+"))
    return _load_unchanged(spec, files, tuple(file_identity(f) for f in files))


# Triage loads the same few specs hundreds of times (each root cause's fix and origin overlays),
# and a Policy is frozen: files whose bytes have not changed give the same object back.
@lru_cache(maxsize=64)
def _load_unchanged(spec: str, files: tuple[Path, ...], identities: tuple) -> Policy:
    return _load_policy(spec, list(files))


def _load_policy(spec: str, files: list[Path]) -> Policy:
    build = _Build()
    infos: list[PartInfo] = []
    for i, part in enumerate(spec.split("+")):
        src = load_toml(files[i])
        info = _read_header(src, want_baseline=(i == 0), part=part)
        if any(p.name == info.name for p in infos):
            raise PolicyError(spec, part, f"'{info.name}' is applied twice")
        _apply(src, build, info)
        infos.append(info)
    order = build.orders
    restore_steps = tuple(
        RestoreStep(n, build.step_settings[("restore", n, "source")], build.step_settings[("restore", n, "gate")],
                    RESTORE_STEP_BY_NAME[n].upstream) for n in order["restore"])
    save_steps = tuple(SaveStep(n, build.step_settings[("save", n, "gate")]) for n in order["save"])
    paths = tuple((n, tuple(PathStep(st, d["do"], tuple(d["params"].items()), d["when"], d["gate"])
                            for st in build.path_orders[n] for d in (build.path_defs[(n, st)],)))
                  for n in PATH_NAMES)
    by_name = dict(paths)
    build.switches["vfio.pmcsr_from_user"] = _read_pmcsr_row(build)
    for sw_name, (_, read, setting) in SWITCH_SUGAR.items():
        value = read(by_name)
        if value != build.switches[sw_name]:    # a path edit made the shorthand's value true
            build.switches[sw_name] = value
            if setting in build.origins:
                build.origins[sw_name] = build.origins[setting]
    return Policy(
        name=spec,
        paths=paths,
        parts=tuple(p.name for p in infos),
        part_info=tuple(infos),
        restore_steps=restore_steps,
        save_steps=save_steps,
        reset_methods=tuple(build.switches["reset.methods"]),
        switch_values=tuple((n, build.switches[n]) for n in SWITCH_NAMES),
        origins=tuple(sorted(build.origins.items())),
        vfio_regions=vfio_config.freeze(build),
    )


def _read_header(src: TomlSource, want_baseline: bool, part: str) -> PartInfo:
    data = src.data
    if "policy" in data and "overlay" in data:
        raise src.error("a file is a baseline ([policy]) or an overlay ([overlay]), not both", "overlay")
    if "policy" in data:
        head = data["policy"]
        if not isinstance(head, dict):
            raise src.error("[policy] must be a table", "", "policy")
        check_keys(src, "policy", head, _POLICY_KEYS, required=("kind", "name", "description"))
        if head["kind"] != "baseline":
            raise src.error(f"[policy] kind = '{head['kind']}': the only kind is \"baseline\" "
                            "(an overlay has an [overlay] table instead)", "policy", "kind")
        if not want_baseline:
            raise src.error(f"'{head['name']}' is a baseline; only the first part of a policy spec may be "
                            f"a baseline, the others must be overlays", "policy")
        return PartInfo(head["name"], "baseline", src.path, head["description"], "", head.get("reference", ""))
    if "overlay" in data:
        head = data["overlay"]
        if not isinstance(head, dict):
            raise src.error("[overlay] must be a table", "", "overlay")
        check_keys(src, "overlay", head, _OVERLAY_KEYS, required=tuple(_OVERLAY_KEYS))
        if want_baseline:
            raise src.error(f"'{head['name']}' is an overlay; the first part of a policy spec must be a baseline "
                            f"(for example linux-7.1+{part})", "overlay")
        return PartInfo(head["name"], "overlay", src.path, head["description"], head["commit"], head["reference"])
    raise src.error("not a policy file: it needs a [policy] table (a baseline) or an [overlay] table")


def _apply(src: TomlSource, build: _Build, info: PartInfo) -> None:
    data = src.data
    baseline = info.kind == "baseline"
    top = {("policy" if baseline else "overlay"): dict, "path": dict, "driver": dict, "vfio_config": dict,
           **{s: dict for s in SECTIONS}}
    check_keys(src, "", data, top)
    for group in ("path", "driver"):
        for name, table in data.get(group, {}).items():
            _apply_path(src, build, info, group, name, table)
    for name, table in data.get("vfio_config", {}).items():
        vfio_config.apply_region(src, build, info, name, table)
    for section in SECTIONS:
        if section in data:
            _apply_section(src, build, info, section, data[section])
    if baseline:
        _check_complete(src, build, data)


def _apply_section(src: TomlSource, build: _Build, info: PartInfo, section: str, table: dict) -> None:
    baseline = info.kind == "baseline"
    switches = {sw.key: sw for sw in SWITCHES if sw.section == section}
    kinds = {"bool": bool, "enum": str, "list": list}
    schema = {key: kinds[sw.kind] for key, sw in switches.items()}
    if section in _STEP_VOCAB:
        schema.update(steps=list, step=dict)
        if baseline:
            for key in _EDIT_KEYS:
                if key in table:
                    raise src.error(f"'{key}' edits an order, so it belongs in an overlay; a baseline states "
                                    f"[{section}] steps", section, key)
        else:
            schema.update(remove=list, insert=list, move=list)
    for key in table:
        moved = _RETIRED_SWITCHES.get(f"{section}.{key}")
        if moved:
            raise src.error(f"[{section}] {key}: no longer a switch: {moved}", section, key)
    check_keys(src, section, table, schema)
    for key, sw in switches.items():
        if key in table:
            value = _check_switch(src, sw, table[key])
            if build.switches.get(sw.name, _UNSET) != value:
                build.switches[sw.name] = value
                build.changed(sw.name, info)
            if sw.name in SWITCH_SUGAR:
                SWITCH_SUGAR[sw.name][0](src, build, info, value)
            if sw.name == "vfio.pmcsr_from_user":
                _set_pmcsr_row(build, value)
    if section in _STEP_VOCAB:
        _apply_steps(src, build, info, section, table)


def _check_switch(src: TomlSource, sw, value):
    if sw.kind == "bool":
        return value
    allowed = ", ".join(f'"{v}"' for v in sw.value_names)
    if sw.kind == "enum":
        if value not in sw.value_names:
            raise src.error(f"[{sw.section}] {sw.key} = \"{value}\" is not allowed (one of: {allowed})",
                            sw.section, sw.key)
        return value
    seen: list[str] = []
    for v in value:
        if not isinstance(v, str):
            raise src.error(f"[{sw.section}] {sw.key} must be a list of strings, got {type(v).__name__} {v!r}",
                            sw.section, sw.key)
        line = src.line_of_value(sw.section, sw.key, v)
        if sw.not_modelled and v in sw.not_modelled:
            raise TomlError(src.path, line, f"[{sw.section}] {sw.key}: \"{v}\" is not modelled "
                                            f"({sw.not_modelled[v]}); modelled: {allowed}")
        if v not in sw.value_names:
            raise TomlError(src.path, line, f"[{sw.section}] {sw.key}: \"{v}\" is not allowed (one of: {allowed})")
        if v in seen:
            raise TomlError(src.path, src.line_of_value(sw.section, sw.key, v, occurrence=2),
                            f"[{sw.section}] {sw.key}: \"{v}\" is listed twice")
        seen.append(v)
    return tuple(seen)


def _step_name(src: TomlSource, section: str, key: str, value) -> str:
    """Check that `value` (an item of [section] key) names a step of the vocabulary."""
    vocab = _STEP_VOCAB[section]
    if not isinstance(value, str):
        raise src.error(f"[{section}] {key}: step names are strings, got {type(value).__name__} {value!r}",
                        section, key)
    if value not in vocab:
        raise TomlError(src.path, src.line_of_value(section, key, value),
                        f"[{section}] {key}: unknown {section} step \"{value}\" (known: {', '.join(vocab)})")
    return value


def _apply_steps(src: TomlSource, build: _Build, info: PartInfo, section: str, table: dict) -> None:
    order = build.orders[section]
    before = list(order)
    fn = _ORDER_FN[section]
    if "steps" in table:
        new: list[str] = []
        for v in table["steps"]:
            name = _step_name(src, section, "steps", v)
            if name in new:
                raise TomlError(src.path, src.line_of_value(section, "steps", name, occurrence=2),
                                f"[{section}] steps: \"{name}\" is listed twice")
            new.append(name)
        order[:] = new
    elif info.kind == "baseline":
        raise src.error(f"a baseline must state [{section}] steps (the {fn} order)", section)

    for v in table.get("remove", []):
        name = _step_name(src, section, "remove", v)
        if name not in order:
            raise TomlError(src.path, src.line_of_value(section, "remove", name),
                            f"[{section}] remove: \"{name}\" is not in the {fn} order "
                            f"(now: {', '.join(order) or 'empty'})")
        order.remove(name)
    for key in ("insert", "move"):
        for entry in table.get(key, []):
            name, anchor, where = _check_edit(src, section, key, entry)
            line = src.line_of_value(section, key, name)
            if key == "insert" and name in order:
                raise TomlError(src.path, line, f"[{section}] insert: \"{name}\" is already in the {fn} order "
                                                f"(a step is listed once; use move to change its place)")
            if key == "move" and name not in order:
                raise TomlError(src.path, line, f"[{section}] move: \"{name}\" is not in the {fn} order "
                                                f"(use insert to add it)")
            if anchor == name:
                raise TomlError(src.path, line, f"[{section}] {key}: \"{name}\" cannot be placed {where} itself")
            if anchor not in order:
                raise TomlError(src.path, line, f"[{section}] {key}: {where} = \"{anchor}\", which is not in the "
                                                f"{fn} order (now: {', '.join(order) or 'empty'})")
            if name in order:
                order.remove(name)
            at = order.index(anchor) + (1 if where == "after" else 0)
            order.insert(at, name)
    if order != before:
        build.changed(f"{section}.steps", info)

    steps = table.get("step", {})
    for name, settings in steps.items():
        where = f"{section}.step.{name}"
        if name not in _STEP_VOCAB[section]:
            raise src.error(f"[{where}]: unknown {section} step \"{name}\" "
                            f"(known: {', '.join(_STEP_VOCAB[section])})", where)
        if not isinstance(settings, dict):
            raise src.error(f"[{section}.step] {name} must be a table such as {{ gate = \"always\" }}, "
                            f"got {type(settings).__name__} {settings!r}", f"{section}.step", name)
        schema = {"source": str, "gate": str} if section == "restore" else {"gate": str}
        check_keys(src, where, settings, schema)
        if name not in order:
            raise src.error(f"[{where}]: \"{name}\" is not in the {fn} order, so its settings would have no "
                            f"effect (insert it first)", where)
        step = _STEP_VOCAB[section][name]
        if "source" in settings:
            if settings["source"] not in step.source_names:
                raise src.error(f"[{where}] source = \"{settings['source']}\" is not supported by {step.upstream} "
                                f"(supported: {', '.join(step.source_names)})", where, "source")
            build.set_step(section, name, "source", settings["source"], info)
        if "gate" in settings:
            if settings["gate"] not in step.gates:
                flag = f"; live_flag means {step.live_flag}" if step.live_flag else ""
                raise src.error(f"[{where}] gate = \"{settings['gate']}\" is not supported by {step.upstream} "
                                f"(supported: {', '.join(step.gates)}{flag})", where, "gate")
            build.set_step(section, name, "gate", settings["gate"], info)


def _check_edit(src: TomlSource, section: str, key: str, entry) -> tuple[str, str, str]:
    """An insert/move entry: { step = "x", before = "y" } or { step = "x", after = "y" }."""
    shape = '{ step = "...", before = "..." } or { step = "...", after = "..." }'
    if not isinstance(entry, dict):
        raise src.error(f"[{section}] {key}: each entry is a table {shape}, got {type(entry).__name__} {entry!r}",
                        section, key)
    name = entry.get("step")
    line = src.line_of_value(section, key, name) if isinstance(name, str) else src.line_of(section, key)
    for k, v in entry.items():
        if k not in ("step", "before", "after"):
            raise TomlError(src.path, line, f"[{section}] {key}: unknown key '{k}' in an entry (known: step, "
                                            f"before, after)")
        if not isinstance(v, str):
            raise TomlError(src.path, line, f"[{section}] {key}: '{k}' must be str, got {type(v).__name__} {v!r}")
    if "step" not in entry or ("before" in entry) == ("after" in entry):
        raise TomlError(src.path, line, f"[{section}] {key}: each entry is {shape} (exactly one of before/after)")
    where = "before" if "before" in entry else "after"
    for v in (entry["step"], entry[where]):
        if v not in _STEP_VOCAB[section]:
            raise TomlError(src.path, line, f"[{section}] {key}: unknown {section} step \"{v}\" "
                                            f"(known: {', '.join(_STEP_VOCAB[section])})")
    return entry["step"], entry[where], where


def _check_complete(src: TomlSource, build: _Build, data: dict) -> None:
    for name in PATH_NAMES:
        if name not in build.path_orders:
            group, key = ("driver", name[7:]) if name.startswith("driver.") else ("path", name)
            raise src.error(f"a baseline must state every path: [{group}.{key}] is missing (steps = [] for none)",
                            group if group in data else "")
    for sw in SWITCHES:
        if sw.name not in build.switches:
            table = sw.section if sw.section in data else ""
            raise src.error(f"a baseline must state every switch: [{sw.section}] {sw.key} is missing", table)
    vfio_config.check_complete(src, build)


def _set_pmcsr_row(build: _Build, value) -> None:
    """vfio.pmcsr_from_user is the write bits of [vfio_config.pm]'s PMCSR row (ctrl): setting the
    switch sets them."""
    pm = next((r for r in build.vfio_regions.values() if r["space"] == "std" and r["cap"] == 0x01), None)
    if pm is not None and "ctrl" in pm["rows"]:
        pm["rows"]["ctrl"] = dataclasses.replace(pm["rows"]["ctrl"], write=pmcsr_user_mask(value))


def _read_pmcsr_row(build: _Build):
    """The switch's value from the row (an overlay may edit the row itself): the fields whose
    bits it lets through."""
    pm = next((r for r in build.vfio_regions.values() if r["space"] == "std" and r["cap"] == 0x01), None)
    if pm is None or "ctrl" not in pm["rows"]:
        return build.switches["vfio.pmcsr_from_user"]
    write = pm["rows"]["ctrl"].write
    sw = SWITCH_BY_NAME["vfio.pmcsr_from_user"]
    return tuple(n for n in sw.value_names if pmcsr_user_mask((n,)) & ~write == 0)


# --- paths ------------------------------------------------------------------------------------

_PATH_STEP_KEYS = ("do", "when", "gate")


def _apply_path(src: TomlSource, build: _Build, info: PartInfo, group: str, key: str, table) -> None:
    """[path.NAME] / [driver.CALLBACK]: the same verbs as [restore]/[save] (steps, remove, insert,
    move) plus [..step] NAME = { do = "primitive", PARAM = ..., when = "...", gate = "..." }."""
    name = f"driver.{key}" if group == "driver" else key
    where = f"{group}.{key}"
    if name not in PATH_BY_NAME:
        known = [n[7:] if group == "driver" else n for n in PATH_NAMES if n.startswith("driver.") == (group == "driver")]
        raise src.error(f"[{where}]: unknown {'driver callback' if group == 'driver' else 'path'} \"{key}\" "
                        f"(known: {', '.join(known)})", group, key)
    if not isinstance(table, dict):
        raise src.error(f"[{where}] must be a table", group, key)
    schema = {"steps": list, "step": dict}
    if info.kind == "overlay":
        schema.update(remove=list, insert=list, move=list)
    else:
        for k in _EDIT_KEYS:
            if k in table:
                raise src.error(f"'{k}' edits an order, so it belongs in an overlay; a baseline states "
                                f"[{where}] steps", where, k)
    check_keys(src, where, table, schema)
    fn = PATH_BY_NAME[name].upstream
    if name not in build.path_orders:
        if "steps" not in table:
            raise src.error(f"a baseline must state [{where}] steps (the {fn} order; [] for none)", where)
        build.path_orders[name] = []
    order = build.path_orders[name]
    before = list(order)
    setting = _path_key(name)

    def step_name(k: str, v) -> str:
        if not isinstance(v, str) or not re.match(r"^[a-z][a-z0-9_]*$", v):
            raise TomlError(src.path, src.line_of_value(where, k, str(v)) if isinstance(v, str) else src.line_of(where, k),
                            f"[{where}] {k}: a step name is a lowercase word (a-z, 0-9, _), got {v!r}")
        return v

    if "steps" in table:
        new: list[str] = []
        for v in table["steps"]:
            n = step_name("steps", v)
            if n in new:
                raise TomlError(src.path, src.line_of_value(where, "steps", n, occurrence=2),
                                f"[{where}] steps: \"{n}\" is listed twice")
            new.append(n)
        order[:] = new
    for v in table.get("remove", []):
        n = step_name("remove", v)
        if n not in order:
            raise TomlError(src.path, src.line_of_value(where, "remove", n),
                            f"[{where}] remove: \"{n}\" is not in the {fn} path (now: {', '.join(order) or 'empty'})")
        order.remove(n)
    for k in ("insert", "move"):
        for entry in table.get(k, []):
            shape = '{ step = "...", before = "..." } or { step = "...", after = "..." }'
            if not isinstance(entry, dict) or set(entry) - {"step", "before", "after"} or "step" not in entry \
                    or ("before" in entry) == ("after" in entry) or not all(isinstance(x, str) for x in entry.values()):
                raise src.error(f"[{where}] {k}: each entry is {shape}, got {entry!r}", where, k)
            n = step_name(k, entry["step"])
            pos = "before" if "before" in entry else "after"
            anchor = entry[pos]
            line = src.line_of_value(where, k, n)
            if k == "insert" and n in order:
                raise TomlError(src.path, line, f"[{where}] insert: \"{n}\" is already in the {fn} path "
                                                f"(use move to change its place)")
            if k == "move" and n not in order:
                raise TomlError(src.path, line, f"[{where}] move: \"{n}\" is not in the {fn} path (use insert)")
            if anchor == n or anchor not in order:
                raise TomlError(src.path, line, f"[{where}] {k}: {pos} = \"{anchor}\", which is not another step "
                                                f"of the {fn} path (now: {', '.join(order) or 'empty'})")
            if n in order:
                order.remove(n)
            order.insert(order.index(anchor) + (1 if pos == "after" else 0), n)
    if order != before:
        build.changed(f"{setting}.steps", info)

    steps = table.get("step", {})
    for n, settings in steps.items():
        sw = f"{where}.step.{n}"
        step_name("step", n)
        if not isinstance(settings, dict):
            raise src.error(f"[{where}.step] {n} must be a table such as {{ do = \"stop\" }}, got {settings!r}",
                            f"{where}.step", n)
        if n not in order:
            raise src.error(f"[{sw}]: \"{n}\" is not in the {fn} path, so its settings would have no effect "
                            f"(insert it first)", sw)
        _set_path_step(src, build, info, name, n, settings, sw, setting)
    for n in order:
        if (name, n) not in build.path_defs:
            raise src.error(f"[{where}]: step \"{n}\" has no definition (give it [{where}.step] "
                            f"{n} = {{ do = \"...\" }})", where)


def _packed_arg(pd, st) -> int:
    """A step's parameters in one integer, in the primitive's order, low bits first (ParamDef.width)."""
    arg, shift = 0, 0
    for p in pd.params:
        arg |= p.encode(st.param(p.name, p.default)) << shift
        shift += p.width
    return arg


def _set_path_step(src, build, info, path, n, settings, sw, setting) -> None:
    old = build.path_defs.get((path, n))
    do = settings.get("do", old["do"] if old else None)
    if do is None:
        raise src.error(f"[{sw}]: a new step needs do = \"PRIMITIVE\" (one of: {', '.join(PRIMITIVE_BY_NAME)})", sw)
    if not isinstance(do, str) or do not in PRIMITIVE_BY_NAME:
        raise src.error(f"[{sw}] do = {do!r}: unknown primitive (one of: {', '.join(PRIMITIVE_BY_NAME)})", sw, "do")
    prim = PRIMITIVE_BY_NAME[do]
    schema = {"do": str, "when": str, "gate": str}
    for p in prim.params:
        schema[p.name] = {"bits": list, "count": int, "flag": bool, "offset": int, "mask": int}.get(p.kind, str)
    check_keys(src, sw, settings, schema)
    fresh = old is None or old["do"] != do
    new = {"do": do, "params": {} if fresh else dict(old["params"]),
           "when": "" if fresh else old["when"], "gate": "always" if fresh else old["gate"]}
    for p in prim.params:
        if p.name in settings and p.kind in ("dwords", "count", "flag", "offset", "mask"):
            why = p.check(settings[p.name])
            if why:
                raise src.error(f"[{sw}] {p.name} = {settings[p.name]!r}: {do} takes {why}", sw, p.name)
            new["params"][p.name] = settings[p.name]
        elif p.name in settings:
            v = settings[p.name]
            values = v if p.kind == "bits" else [v]
            for x in values:
                if x not in p.value_names:
                    raise src.error(f"[{sw}] {p.name}: \"{x}\" is not allowed for {do} "
                                    f"(one of: {', '.join(p.value_names)})", sw, p.name)
            new["params"][p.name] = tuple(dict.fromkeys(v)) if p.kind == "bits" else v
        elif p.name not in new["params"] and p.default is None:
            raise src.error(f"[{sw}]: {do} needs {p.name} = ... (" + (f"one of: {', '.join(p.value_names)}"
                            if p.kind in ("enum", "bits", "path") else p.check(None)) + ")", sw)
    if do == "call" and new["params"]["path"] == path:
        raise src.error(f"[{sw}]: a path cannot call itself", sw, "path")
    if "when" in settings:
        w = settings["when"]
        terms = when_terms(w)
        for _, bare in terms:
            if bare not in CONDITION_NAMES:
                raise src.error(f"[{sw}] when = \"{w}\": unknown condition \"{bare}\" (one of: "
                                f"{', '.join(CONDITION_NAMES)}, each may be preceded by \"not \" and up to "
                                f"{MAX_WHEN_TERMS} joined by \" and \"; \"\" for none)", sw, "when")
        if len(terms) > MAX_WHEN_TERMS:
            raise src.error(f"[{sw}] when = \"{w}\": {len(terms)} conditions; a step takes at most "
                            f"{MAX_WHEN_TERMS} joined by \" and \"", sw, "when")
        new["when"] = w
    if "gate" in settings:
        if settings["gate"] not in STEP_GATES:
            raise src.error(f"[{sw}] gate = \"{settings['gate']}\" (one of: {', '.join(STEP_GATES)})", sw, "gate")
        new["gate"] = settings["gate"]
    build.path_defs[(path, n)] = new
    if old is not None:
        for k, what in (("do", "do"), ("params", "params"), ("when", "when"), ("gate", "gate")):
            if old[k] != new[k]:
                build.changed(f"{setting}.step.{n}.{what}", info)
    else:
        build.changed(f"{setting}.step.{n}.do", info)


# Switches that are shorthand for a path edit: setting one edits the path as stated here, and
# the value a Policy reports is read back from the path, so the two cannot disagree.
def _sugar_skip_save(src, build, info, value) -> None:
    """reset.save_and_disable_inaccessible: "skip" is e18d1abc3bff's early return before the save."""
    path, order = "pci_dev_save_and_disable", build.path_orders.get("pci_dev_save_and_disable")
    if order is None:
        return
    if value == "skip" and "stop_if_inaccessible" not in order:
        if "save" not in order:
            raise src.error("[reset] save_and_disable_inaccessible = \"skip\" inserts a step before \"save\" "
                            "of pci_dev_save_and_disable, which has none", "reset", "save_and_disable_inaccessible")
        order.insert(order.index("save"), "stop_if_inaccessible")
        build.path_defs[(path, "stop_if_inaccessible")] = {"do": "stop", "params": {}, "when": "config_all_ones",
                                                           "gate": "always"}
        build.changed(f"path.{path}.steps", info)
    elif value == "save" and "stop_if_inaccessible" in order:
        order.remove("stop_if_inaccessible")
        build.changed(f"path.{path}.steps", info)


def _read_skip_save(policy_paths: dict) -> str:
    return "skip" if any(st.name == "stop_if_inaccessible" and st.gate != "never"
                         for st in policy_paths["pci_dev_save_and_disable"]) else "save"


def _sugar_restore_after_failed(src, build, info, value) -> None:
    """reset.restore_after_failed_reset: false puts `when = "result_ok"` on pci_reset_function's restore."""
    d = build.path_defs.get(("pci_reset_function", "restore"))
    if d is None:
        return
    want = "" if value else "result_ok"
    if d["when"] != want:
        d["when"] = want
        build.changed("path.pci_reset_function.step.restore.when", info)


def _read_restore_after_failed(policy_paths: dict) -> bool:
    return not any(st.name == "restore" and st.when == "result_ok" for st in policy_paths["pci_reset_function"])


def _sugar_pre_reset_clears(src, build, info, value) -> None:
    """qemu.pre_reset_clears: the bits of qemu_pre_reset's clear_command step."""
    d = build.path_defs.get(("qemu_pre_reset", "clear_command"))
    if d is not None and d["params"].get("value") != tuple(value):
        d["params"]["value"] = tuple(value)
        build.changed("path.qemu_pre_reset.step.clear_command.params", info)


def _read_pre_reset_clears(policy_paths: dict):
    st = next((s for s in policy_paths["qemu_pre_reset"] if s.name == "clear_command" and s.gate != "never"), None)
    return st.param("value") if st is not None else ()


def _sugar_pre_reset_order(src, build, info, value) -> None:
    """qemu.pre_reset_order: clear_command before or after d0 in qemu_pre_reset."""
    order = build.path_orders.get("qemu_pre_reset")
    if order is None or "clear_command" not in order or "d0" not in order:
        return
    first, second = ("clear_command", "d0") if value == "clear_then_d0" else ("d0", "clear_command")
    if order.index(first) > order.index(second):
        order.remove(first)
        order.insert(order.index(second), first)
        build.changed("path.qemu_pre_reset.steps", info)


def _read_pre_reset_order(policy_paths: dict) -> str:
    names = [s.name for s in policy_paths["qemu_pre_reset"]]
    if "clear_command" in names and "d0" in names and names.index("d0") < names.index("clear_command"):
        return "d0_then_clear"
    return "clear_then_d0"


def _gate_sugar(path: str, step: str):
    """A bool switch that is a step's gate: true = "always", false = "never"."""
    def apply(src, build, info, value) -> None:
        d = build.path_defs.get((path, step))
        want = "always" if value else "never"
        if d is not None and d["gate"] != want:
            d["gate"] = want
            build.changed(f"path.{path}.step.{step}.gate", info)

    def read(policy_paths: dict) -> bool:
        return any(s.name == step and s.gate != "never" for s in policy_paths[path])
    return apply, read, f"path.{path}.step.{step}.gate"


def _sugar_flr_inaccessible(src, build, info, value) -> None:
    """reset.flr_inaccessible: "enotty" is ad05c16b290b's -ENOTTY before the FLR on an all-ones device."""
    path, order = "pcie_flr", build.path_orders.get("pcie_flr")
    if order is None:
        return
    if value == "enotty" and "fail_if_inaccessible" not in order:
        if "initiate" not in order:
            raise src.error('[reset] flr_inaccessible = "enotty" inserts a step before "initiate" of pcie_flr, '
                            "which has none", "reset", "flr_inaccessible")
        order.insert(order.index("initiate"), "fail_if_inaccessible")
        build.path_defs[(path, "fail_if_inaccessible")] = {"do": "fail", "params": {"errno": "enotty"},
                                                           "when": "command_all_ones", "gate": "always"}
        build.changed(f"path.{path}.steps", info)
    elif value == "proceed" and "fail_if_inaccessible" in order:
        order.remove("fail_if_inaccessible")
        build.changed(f"path.{path}.steps", info)


def _read_flr_inaccessible(policy_paths: dict) -> str:
    return "enotty" if any(st.name == "fail_if_inaccessible" and st.gate != "never"
                           for st in policy_paths["pcie_flr"]) else "proceed"


def _sugar_close_on_load_failure(src, build, info, value) -> None:
    """vfio.close_on_load_failure: "resave" is the gate of vfio_pci_core_disable_restore's resave
    step; "restore_partial" drops it (the restore uses what the failed load left)."""
    d = build.path_defs.get(("vfio_pci_core_disable_restore", "resave"))
    want = "always" if value == "resave" else "never"
    if d is not None and d["gate"] != want:
        d["gate"] = want
        build.changed("path.vfio_pci_core_disable_restore.step.resave.gate", info)


def _read_close_on_load_failure(policy_paths: dict) -> str:
    return "resave" if any(s.name == "resave" and s.gate != "never"
                           for s in policy_paths["vfio_pci_core_disable_restore"]) else "restore_partial"


def _sugar_force_memory(src, build, info, value) -> None:
    """msix_restore.force_memory: "always" is 231c7a57d193's Command read and Memory-on write
    before the entries and the write back after; "when_writing_messages" (its v19) puts the pair
    under `when = "msix_messages_written"`; "off" takes it out."""
    path, order = "pci_restore_msix_state", build.path_orders.get("pci_restore_msix_state")
    if order is None:
        return
    before = (list(order), {n: build.path_defs.get((path, n)) for n in ("memory_on", "memory_back")})
    for name in ("memory_on", "memory_back"):
        if name in order:
            order.remove(name)
    if value != "off":
        if "entries" not in order:
            raise src.error('[msix_restore] force_memory brackets the "entries" step of pci_restore_msix_state, '
                            "which has none", "msix_restore", "force_memory")
        when = "msix_messages_written" if value == "when_writing_messages" else ""
        i = order.index("entries")
        order[i:i + 1] = ["memory_on", "entries", "memory_back"]
        for name, state in (("memory_on", "on"), ("memory_back", "back")):
            build.path_defs[(path, name)] = {"do": "msix_memory", "params": {"state": state}, "when": when,
                                             "gate": "always"}
    if (list(order), {n: build.path_defs.get((path, n)) for n in ("memory_on", "memory_back")}) != before:
        build.changed(f"path.{path}.steps", info)


def _read_force_memory(policy_paths: dict) -> str:
    st = next((s for s in policy_paths["pci_restore_msix_state"] if s.name == "memory_on" and s.gate != "never"),
              None)
    if st is None:
        return "off"
    return "when_writing_messages" if st.when == "msix_messages_written" else "always"


_RESET_DONE = "vfio_pci_core_aer_reset_done"


def _sugar_reset_done(src, build, info, value) -> None:
    """vfio.reset_done: "load_open_blob_and_restore" is the v18 callback's steps (no open-time copy:
    return; pci_load_saved_state; pci_restore_state); "none" empties the path."""
    order = build.path_orders.get(_RESET_DONE)
    if order is None:
        return
    want = ["no_blob", "load", "restore"] if value == "load_open_blob_and_restore" else []
    if [n for n in order if n != "check_load"] == want:
        return
    order[:] = want
    defs = {"no_blob": {"do": "stop", "params": {}, "when": "not vfio_saved_state", "gate": "always"},
            "load": {"do": "vfio_load_saved_state", "params": {"free": "false"}, "when": "", "gate": "always"},
            "restore": {"do": "restore_state", "params": {}, "when": "", "gate": "always"}}
    for name in want:
        build.path_defs[(_RESET_DONE, name)] = defs[name]
    build.changed(f"path.{_RESET_DONE}.steps", info)
    if build.switches.get("vfio.reset_done_checks_load_result") is True:   # stated before this switch
        _sugar_reset_done_checks(src, build, info, True)


def _read_reset_done(policy_paths: dict) -> str:
    names = [s.name for s in policy_paths[_RESET_DONE] if s.gate != "never"]
    return "load_open_blob_and_restore" if "load" in names and "restore" in names else "none"


def _sugar_reset_done_checks(src, build, info, value) -> None:
    """vfio.reset_done_checks_load_result: a stop on a failed load between the reset_done's load
    and its restore (only where the path has both)."""
    order = build.path_orders.get(_RESET_DONE)
    if order is None or "load" not in order or "restore" not in order:
        return
    if value and "check_load" not in order:
        order.insert(order.index("restore"), "check_load")
        build.path_defs[(_RESET_DONE, "check_load")] = {"do": "stop", "params": {}, "when": "not result_ok",
                                                        "gate": "always"}
        build.changed(f"path.{_RESET_DONE}.steps", info)
    elif not value and "check_load" in order:
        order.remove("check_load")
        build.changed(f"path.{_RESET_DONE}.steps", info)


def _read_reset_done_checks(policy_paths: dict) -> bool:
    return any(s.name == "check_load" and s.gate != "never" for s in policy_paths[_RESET_DONE])


_SLOT_RESET = "vfio_pci_core_aer_slot_reset"


def _sugar_vfio_slot_reset(src, build, info, value) -> None:
    """recovery.vfio_slot_reset: "restore" gives vfio-pci a slot_reset that restores from the current
    snapshot and votes RECOVERED; "none" empties the path (no handler)."""
    order = build.path_orders.get(_SLOT_RESET)
    if order is None:
        return
    want = ["restore", "vote"] if value == "restore" else []
    if order == want:
        return
    order[:] = want
    if want:
        build.path_defs[(_SLOT_RESET, "restore")] = {"do": "restore_state", "params": {}, "when": "",
                                                     "gate": "always"}
        build.path_defs[(_SLOT_RESET, "vote")] = {"do": "vote", "params": {"result": "recovered"}, "when": "",
                                                  "gate": "always"}
    build.changed(f"path.{_SLOT_RESET}.steps", info)


def _read_vfio_slot_reset(policy_paths: dict) -> str:
    return "restore" if any(s.do == "restore_state" and s.gate != "never"
                            for s in policy_paths[_SLOT_RESET]) else "none"


SWITCH_SUGAR = {   # switch -> (apply the value to the paths, read it back, the path setting it follows)
    "msix_restore.force_memory": (_sugar_force_memory, _read_force_memory, "path.pci_restore_msix_state.steps"),
    "reset.flr_inaccessible": (_sugar_flr_inaccessible, _read_flr_inaccessible, "path.pcie_flr.steps"),
    "pm.runtime_suspend_clears_state_saved": _gate_sugar("pci_pm_runtime_suspend", "clear_saved"),
    "pm.runtime_suspend_disables_ptm": _gate_sugar("pci_pm_runtime_suspend", "suspend_ptm"),
    "qemu.pre_reset_clears": (_sugar_pre_reset_clears, _read_pre_reset_clears,
                              "path.qemu_pre_reset.step.clear_command.params"),
    "qemu.pre_reset_order": (_sugar_pre_reset_order, _read_pre_reset_order, "path.qemu_pre_reset.steps"),
    "reset.save_and_disable_inaccessible": (_sugar_skip_save, _read_skip_save, "path.pci_dev_save_and_disable.steps"),
    "reset.restore_after_failed_reset": (_sugar_restore_after_failed, _read_restore_after_failed,
                                         "path.pci_reset_function.step.restore.when"),
    "vfio.close_on_load_failure": (_sugar_close_on_load_failure, _read_close_on_load_failure,
                                   "path.vfio_pci_core_disable_restore.step.resave.gate"),
    "vfio.reset_done": (_sugar_reset_done, _read_reset_done, f"path.{_RESET_DONE}.steps"),
    "vfio.reset_done_checks_load_result": (_sugar_reset_done_checks, _read_reset_done_checks,
                                           f"path.{_RESET_DONE}.steps"),
    "recovery.vfio_slot_reset": (_sugar_vfio_slot_reset, _read_vfio_slot_reset, f"path.{_SLOT_RESET}.steps"),
}
