"""The policy vocabulary: every word a policy file may use, as tables.

A policy (fuzzcore/policies/*.toml) may only name what is listed here:

- RESTORE_STEPS: the steps `pci_restore_state` can run (kernel.md §3), each with the sources it
  can take its values from and the gates it can run under.
- SAVE_STEPS: the steps `pci_save_state` can run (§2), each with the gates it supports.
- RESET_METHODS: the function-reset methods that are modelled (§5.2).
- SWITCHES: every other knob, `section.key`, with its kind and allowed values.

The position of a row is its id: the compiled policy (loader.CompiledPolicy) stores ids, and the
engine indexes these tables with them. Append new rows at the end so existing ids stay put.
Adding a word is one row here plus its meaning in both models; the loader, the docs table and the
tests read these tables and need no change.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- step sources and gates -------------------------------------------------------------------

SOURCES: tuple[tuple[str, str], ...] = (
    ("snapshot", "the save buffer: saved_config_space or the capability's saved-state buffer"),
    ("live", "the kernel's live state (flags, descriptors, resources), not a register copy"),
    ("hardware", "re-derived from what the hardware holds now"),
)
GATES: tuple[tuple[str, str], ...] = (
    ("always", "runs whenever the capability (and, for snapshot sources, its buffer) exists"),
    ("live_flag", "runs only while the step's live flag is set (listed per step)"),
    ("never", "never runs (the step stays in the order, dropped)"),
)
SOURCE_NAMES = tuple(n for n, _ in SOURCES)
GATE_NAMES = tuple(n for n, _ in GATES)
SOURCE_IDS = {n: i for i, n in enumerate(SOURCE_NAMES)}
GATE_IDS = {n: i for i, n in enumerate(GATE_NAMES)}


@dataclass(frozen=True)
class RestoreStepDef:
    name: str
    upstream: str                          # the upstream function the step stands for
    sources: tuple[tuple[str, str], ...]   # (source, what it means for this step), default first
    gates: tuple[str, ...]                 # supported gates; the upstream (default) gate first
    live_flag: str = ""                    # what gate "live_flag" tests ("" when unsupported)
    save_step: str = ""                    # the save step that fills the snapshot it reads
    reference: str = ""
    doc: str = ""

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.sources)

    @property
    def default_source(self) -> str:
        return self.sources[0][0]

    @property
    def default_gate(self) -> str:
        return self.gates[0]


_ALWAYS = ("always", "never")
_FLAG = ("live_flag", "always", "never")

RESTORE_STEPS: tuple[RestoreStepDef, ...] = (
    RestoreStepDef("pcie", "pci_restore_pcie_state",
                   (("snapshot", "PCIe, LTR and L1SS buffers"),), _ALWAYS, "", "pcie", "§3.1",
                   "LTR latencies, L1SS (ASPM off around it), then DEVCTL LNKCTL SLTCTL RTCTL DEVCTL2 LNKCTL2"),
    RestoreStepDef("pasid", "pci_restore_pasid_state",
                   (("live", "PASID Control = Enable | pasid_features"),), _FLAG,
                   "pasid_enabled (not a VF)", "", "§3.2", "PASID Control"),
    RestoreStepDef("pri", "pci_restore_pri_state",
                   (("live", "allocation = pri_reqs_alloc, then Control = Enable"),), _FLAG,
                   "pri_enabled (not a VF)", "", "§3.2", "PRI allocation, then PRI Control"),
    RestoreStepDef("ats", "pci_restore_ats_state",
                   (("live", "ATS Control = Enable | STU from ats_stu"),), _FLAG,
                   "ats_enabled", "", "§3.2", "ATS Control"),
    RestoreStepDef("vc", "pci_restore_vc_state",
                   (("snapshot", "VC, VC9 and MFVC buffers"),), _ALWAYS, "", "vc", "§3.3",
                   "Port VC Control, arbitration tables, VC Resource Control"),
    RestoreStepDef("rebar", "pci_restore_rebar_state",
                   (("live", "BAR Size from the kernel resource size"),), _ALWAYS, "", "", "§3.4",
                   "ReBAR Control BAR Size fields"),
    RestoreStepDef("dpc", "pci_restore_dpc_state",
                   (("snapshot", "DPC buffer"),), _ALWAYS, "", "dpc", "§3.5", "DPC Control"),
    RestoreStepDef("ptm", "pci_restore_ptm_state",
                   (("snapshot", "PTM buffer"),
                    ("live", "PTM Control rebuilt: Enable iff ptm_enable_cnt > 0, granularity as in hardware")),
                   ("always", "live_flag", "never"), "ptm_enable_cnt > 0", "ptm", "§3.5",
                   "PTM Control"),
    RestoreStepDef("tph", "pci_restore_tph_state",
                   (("snapshot", "TPH buffer: Control and ST table entries"),
                    ("live", "TPH Control rebuilt from tph_mode and tph_req_type; ST entries not written")),
                   _FLAG, "tph_enabled", "tph", "§3.5", "TPH Requester Control, then ST entries"),
    RestoreStepDef("aer_clear_status", "pci_aer_clear_status",
                   (("hardware", "each status register read and written back (RW1C)"),), _ALWAYS,
                   "", "", "§3.5",
                   "clear Root Error, Correctable and Uncorrectable Status; only if the OS owns AER "
                   "([recovery] aer_native)"),
    RestoreStepDef("aer", "pci_restore_aer_state",
                   (("snapshot", "AER buffer"),), _ALWAYS, "", "aer", "§3.5",
                   "Uncorrectable Mask/Severity, Correctable Mask, Cap/Control, Root Error Command"),
    RestoreStepDef("config_space", "pci_restore_config_space",
                   (("snapshot", "saved_config_space[16]"),), _ALWAYS, "", "config_space", "§3.6",
                   "header dwords 15..0 (BARs with retry, Command+Status as one dword)"),
    RestoreStepDef("pcix", "pci_restore_pcix_state",
                   (("snapshot", "PCI-X buffer"),), _ALWAYS, "", "pcix", "§3.7", "PCI-X Command"),
    RestoreStepDef("msi", "pci_restore_msi_state",
                   (("live", "MSI/MSI-X descriptors and their cached messages"),), ("live_flag", "never"),
                   "msi_enabled / msix_enabled", "", "§4", "MSI then MSI-X (config and table MMIO writes)"),
    RestoreStepDef("acs", "pci_enable_acs",
                   (("hardware", "current ACS Control, then kernel policy and command line"),), _ALWAYS,
                   "", "", "§3.7", "ACS Control"),
    RestoreStepDef("iov", "pci_restore_iov_state",
                   (("live", "dev->sriov: ctrl, num_VFs, pgsz, VF BARs from resources"),), _ALWAYS,
                   "", "", "§3.7", "SR-IOV (PF only; skipped while hardware VF Enable is set)"),
)


@dataclass(frozen=True)
class SaveStepDef:
    name: str
    upstream: str
    gates: tuple[str, ...]                 # supported gates; the upstream (default) gate first
    live_flag: str = ""
    reference: str = ""
    doc: str = ""

    @property
    def default_gate(self) -> str:
        return self.gates[0]


SAVE_STEPS: tuple[SaveStepDef, ...] = (
    SaveStepDef("config_space", "pci_save_state", _ALWAYS, "", "§2",
                "header dwords 0x00..0x3C; state_saved is set right after this step"),
    SaveStepDef("pcie", "pci_save_pcie_state", _ALWAYS, "", "§2", "PCIe words, then L1SS and LTR"),
    SaveStepDef("pcix", "pci_save_pcix_state", _ALWAYS, "", "§2", "PCI-X Command"),
    SaveStepDef("dpc", "pci_save_dpc_state", _ALWAYS, "", "§2", "DPC Control"),
    SaveStepDef("aer", "pci_save_aer_state", _ALWAYS, "", "§2", "AER masks, severity, Cap/Control, Root Cmd"),
    SaveStepDef("ptm", "pci_save_ptm_state", ("always", "live_flag", "never"), "ptm_enable_cnt > 0", "§2",
                "PTM Control"),
    SaveStepDef("tph", "pci_save_tph_state", _FLAG, "tph_enabled", "§2", "TPH Control and ST entries"),
    SaveStepDef("vc", "pci_save_vc_state", _ALWAYS, "", "§2", "VC, VC9, MFVC"),
)

RESTORE_STEP_NAMES = tuple(s.name for s in RESTORE_STEPS)
SAVE_STEP_NAMES = tuple(s.name for s in SAVE_STEPS)
RESTORE_STEP_IDS = {n: i for i, n in enumerate(RESTORE_STEP_NAMES)}
SAVE_STEP_IDS = {n: i for i, n in enumerate(SAVE_STEP_NAMES)}
RESTORE_STEP_BY_NAME = {s.name: s for s in RESTORE_STEPS}
SAVE_STEP_BY_NAME = {s.name: s for s in SAVE_STEPS}

# --- reset methods ----------------------------------------------------------------------------

RESET_METHODS: tuple[tuple[str, str], ...] = (
    ("flr", "pcie_reset_flr: DEVCTL Initiate FLR, 100 ms, poll readiness"),
    ("pm", "pci_pm_reset: D3hot then D0 via PMCSR (needs NoSoftRst = 0 and D0)"),
    ("bus", "pci_reset_bus_function: secondary bus reset of the parent bridge"),
)
RESET_METHOD_NAMES = tuple(n for n, _ in RESET_METHODS)
RESET_METHOD_IDS = {n: i for i, n in enumerate(RESET_METHOD_NAMES)}
# reset_methods[] entries that exist upstream but are not modelled: naming one is an error.
UNMODELLED_RESET_METHODS = {
    "device_specific": "quirk resets (pci_dev_specific_reset) are device-specific",
    "acpi": "ACPI _RST is firmware behaviour",
    "af_flr": "the Advanced Features capability is not modelled",
    "cxl_bus": "CXL ports are not modelled",
}

# --- switches ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwitchDef:
    section: str
    key: str
    kind: str                              # "bool" | "enum" | "list" (distinct values, order kept)
    doc: str
    values: tuple[tuple[str, str], ...] = ()   # (value, meaning) for enum and list
    reference: str = ""
    not_modelled: dict | None = None       # list/enum words that exist upstream but are refused

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def value_names(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.values)

    def encode(self, value) -> int:
        """The integer the compiled policy stores: bool 0/1, enum index, list bitmask (1 << index)."""
        if self.kind == "bool":
            return int(bool(value))
        if self.kind == "enum":
            return self.value_names.index(value)
        mask = 0
        for v in value:
            mask |= 1 << self.value_names.index(v)
        return mask

    def decode(self, code: int):
        if self.kind == "bool":
            return bool(code)
        if self.kind == "enum":
            return self.value_names[code]
        return tuple(v for i, v in enumerate(self.value_names) if code >> i & 1)


SWITCHES: tuple[SwitchDef, ...] = (
    SwitchDef("restore", "gate_on_state_saved", "bool",
              "pci_restore_state returns at once unless state_saved is set (c82f63e411f1; removed by "
              "a2f1e22390ac)", reference="§1.4, §10"),
    SwitchDef("restore", "clear_state_saved", "bool",
              "pci_restore_state clears state_saved when it ends", reference="§1.4, §3"),
    SwitchDef("save", "enumeration_save", "bool",
              "pci_bus_add_device saves config state at enumeration (a2f1e22390ac)", reference="§1.5"),
    SwitchDef("reset", "methods", "list",
              "function-reset methods tried in this order (pci_reset_fn_methods[])",
              (("flr", RESET_METHODS[0][1]), ("pm", RESET_METHODS[1][1]), ("bus", RESET_METHODS[2][1])),
              "§5.2", UNMODELLED_RESET_METHODS),
    SwitchDef("reset", "save_and_disable_inaccessible", "enum",
              "what pci_dev_save_and_disable does when Command/Status reads all-ones",
              (("save", "save anyway (the snapshot becomes all-ones) and clear Command"),
               ("skip", "return before the save and the Command clear (e18d1abc3bff)")), "§5.1"),
    SwitchDef("reset", "flr_inaccessible", "enum",
              "what pcie_flr does when Command reads all-ones",
              (("proceed", "initiate the FLR anyway"),
               ("enotty", "return -ENOTTY so the next method is tried (ad05c16b290b)")), "§5.2"),
    SwitchDef("reset", "restore_after_failed_reset", "bool",
              "pci_dev_restore (restore + reset_done) runs even when every reset method failed", reference="§5.1"),
    SwitchDef("resources", "bar_assignment_updates_snapshot", "bool",
              "pci_std_update_resource also writes the BAR into saved_config_space (909f7bf9b080)",
              reference="§1.5, §5.5"),
    SwitchDef("msix_restore", "force_memory", "enum",
              "whether the MSI-X restore forces Command.Memory on around the table writes",
              (("off", "no Command access (v7.1.3)"),
               ("always", "read Command, write Command|Memory before the table writes, write the old value "
                          "back after (v20/v21, 231c7a57d193)"),
               ("when_writing_messages", "the same, only when messages are written (D0 and connected; v19)")),
              "§4.3"),
    SwitchDef("pm", "runtime_suspend_clears_state_saved", "bool",
              "pci_pm_runtime_suspend clears state_saved before the driver callback", reference="§1.4"),
    SwitchDef("pm", "runtime_suspend_disables_ptm", "bool",
              "pci_pm_runtime_suspend disables PTM (pci_suspend_ptm) before it saves", reference="§1.5"),
    SwitchDef("vfio", "reset_done", "enum",
              "what the vfio-pci err_handler reset_done callback does after every pci_dev_restore "
              "(shorthand for [path.vfio_pci_core_aer_reset_done]'s steps)",
              (("none", "no reset_done callback (mainline)"),
               ("load_open_blob_and_restore", "pci_load_saved_state(open-time blob), then pci_restore_state "
                                              "(v18 3/4)")), "§6.7"),
    SwitchDef("vfio", "reset_done_checks_load_result", "bool",
              "reset_done skips its restore when pci_load_saved_state fails (shorthand for a check_load step "
              "in [path.vfio_pci_core_aer_reset_done])", reference="§6.7, H3d"),
    SwitchDef("vfio", "close_on_load_failure", "enum",
              "what vfio_pci_core_disable does when loading the open-time blob fails",
              (("resave", "pci_save_state (or no restore without a working reset), as v7.1.3"),
               ("restore_partial", "restore what the failed load left in the snapshot")), "§6.6"),
    SwitchDef("qemu", "pre_reset_clears", "list",
              "Command bits vfio_pci_pre_reset clears before the reset",
              (("io", "I/O Space (0x1)"), ("memory", "Memory Space (0x2)"),
               ("bus_master", "Bus Master (0x4)"), ("intx_disable", "INTx Disable (0x400, vconfig only)")),
              "§6.8"),
    SwitchDef("qemu", "pre_reset_order", "enum",
              "order of the Command clear and the D0 transition in vfio_pci_pre_reset",
              (("clear_then_d0", "clear Command, then PowerState = D0 (QEMU >= 10.0)"),
               ("d0_then_clear", "PowerState = D0, then clear Command (QEMU < 10.0)")), "§6.8"),
    SwitchDef("recovery", "vfio_slot_reset", "enum",
              "what a vfio-pci slot_reset handler does in pcie_do_recovery (shorthand for "
              "[path.vfio_pci_core_aer_slot_reset]'s steps)",
              (("none", "vfio-pci has no slot_reset (mainline): nothing restores the device"),
               ("restore", "pci_restore_state from the current snapshot")), "§5.4"),
    SwitchDef("recovery", "aer_native", "bool",
              "the OS owns AER (pcie_aer_is_native): status clears in restore and recovery run", reference="§3.5, §5.4"),
    SwitchDef("vfio", "disable_idle_d3", "bool",
              "vfio-pci's disable_idle_d3 module parameter: when false (the default) "
              "vfio_pci_core_register_device drops its runtime-PM reference, so a closed vfio device is "
              "runtime-suspended (D3hot) and vfio_pci_core_disable suspends it again at close",
              reference="§6.1"),
    SwitchDef("paths", "vfio_user_tph", "bool",
              "a vfio user can enable and disable TPH (a proposed series; v7.1.3 has no such path): "
              "pcie_enable_tph/pcie_disable_tph become reachable while vfio-pci owns the open device",
              reference="§6.7"),
    SwitchDef("vfio", "pmcsr_from_user", "list",
              "the PMCSR dword's fields a vfio user's write sends to hardware from the user's value "
              "(write permission, not virtual: init_pci_cap_pm_perm); the rest of the access is written "
              "back as read. PowerState is trapped (vfio_pm_config_write), PME_En/PME_Status are virtual",
              (("no_soft_reset", "No_Soft_Reset (0x8, read-only in hardware)"),
               ("reserved", "reserved bits 2, 4-7 (0xf4)"),
               ("data_select", "Data_Select (0x1e00)"),
               ("data_scale", "Data_Scale (0x6000, read-only)"),
               ("bse_data", "PMCSR_BSE and Data (bytes 6-7, read-only)")), "§6.3"),
    SwitchDef("paths", "host_tph", "bool",
              "the kernel has TPH support (drivers/pci/tph.c, f69767a1ada3, v6.13): host drivers can call "
              "pcie_enable_tph/pcie_disable_tph; false: neither exists, so the ops are refused",
              reference="§3.4"),
)

SWITCH_NAMES = tuple(s.name for s in SWITCHES)
SWITCH_IDS = {n: i for i, n in enumerate(SWITCH_NAMES)}
SWITCH_BY_NAME = {s.name: s for s in SWITCHES}
SECTIONS = tuple(dict.fromkeys(s.section for s in SWITCHES))   # in table order

# Command register bits for the values of qemu.pre_reset_clears, in value order (engine helper).
QEMU_PRE_RESET_CLEAR_BITS = (0x0001, 0x0002, 0x0004, 0x0400)
# PMCSR-dword bits (PM capability + 4) for the values of vfio.pmcsr_from_user, in value order.
VFIO_PMCSR_USER_BITS = (0x00000008, 0x000000F4, 0x00001E00, 0x00006000, 0xFFFF0000)


def pmcsr_user_mask(values) -> int:
    """The PMCSR-dword bits vfio.pmcsr_from_user sends to hardware from the user's value (the
    switch's value names, or its compiled bitmask)."""
    sw = SWITCH_BY_NAME["vfio.pmcsr_from_user"]
    code = values if isinstance(values, int) else sw.encode(values)
    return sum(b for i, b in enumerate(VFIO_PMCSR_USER_BITS) if code >> i & 1)


def _check_tables() -> None:
    for s in RESTORE_STEPS:
        assert all(n in SOURCE_IDS for n in s.source_names), s.name
        assert all(g in GATE_IDS for g in s.gates), s.name
        assert ("live_flag" in s.gates) == bool(s.live_flag), s.name
        assert ("snapshot" in s.source_names) == bool(s.save_step), s.name
        assert not s.save_step or s.save_step in SAVE_STEP_IDS, s.name
    for s in SAVE_STEPS:
        assert all(g in GATE_IDS for g in s.gates), s.name
        assert ("live_flag" in s.gates) == bool(s.live_flag), s.name
    for sw in SWITCHES:
        assert sw.kind in ("bool", "enum", "list"), sw.name
        assert (sw.kind == "bool") == (not sw.values), sw.name
        assert sw.kind != "list" or len(sw.values) <= 15, sw.name   # fits the int16 bitmask
    assert len(QEMU_PRE_RESET_CLEAR_BITS) == len(SWITCH_BY_NAME["qemu.pre_reset_clears"].values)
    assert len(VFIO_PMCSR_USER_BITS) == len(SWITCH_BY_NAME["vfio.pmcsr_from_user"].values)
    assert SWITCH_BY_NAME["reset.methods"].value_names == RESET_METHOD_NAMES


_check_tables()


def markdown_tables() -> str:
    """The vocabulary as the Markdown tables docs/policies.md embeds (a test keeps them equal)."""
    out: list[str] = []

    def table(title: str, head: tuple, rows: list) -> None:
        out.extend([title, "", _row(head), _row(("---",) * len(head))])
        out.extend(_row(r) for r in rows)
        out.append("")

    table("#### Restore steps (`[restore] steps`, `[restore.step.NAME]`)",
          ("id", "step", "upstream", "sources (first = default)", "gates (first = default)", "`live_flag` means"),
          [(str(i), f"`{s.name}`", f"`{s.upstream}` ({s.reference})",
            "; ".join(f"`{n}`: {d}" for n, d in s.sources), ", ".join(f"`{g}`" for g in s.gates),
            s.live_flag or "–") for i, s in enumerate(RESTORE_STEPS)])
    table("#### Save steps (`[save] steps`, `[save.step.NAME]`)",
          ("id", "step", "upstream", "gates (first = default)", "`live_flag` means", "saves"),
          [(str(i), f"`{s.name}`", f"`{s.upstream}`", ", ".join(f"`{g}`" for g in s.gates),
            s.live_flag or "–", s.doc) for i, s in enumerate(SAVE_STEPS)])
    kinds = {"bool": "bool", "enum": "string", "list": "list of strings"}
    table("#### Switches", ("switch", "kind", "values", "meaning"),
          [(f"`{sw.name}`", kinds[sw.kind],
            "`true`, `false`" if sw.kind == "bool" else "<br>".join(f'`"{v}"`: {d}' for v, d in sw.values),
            sw.doc + (f" ({sw.reference})" if sw.reference else "")) for sw in SWITCHES])
    return "\n".join(out)


def _row(cells) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"
