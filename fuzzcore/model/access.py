"""Every hardware access the model makes goes through here: config reads and writes of the
device and of its upstream port, and MMIO to the MSI-X table. This is where accesses are traced
(register, old -> new, model step) and where the oracle checks what must hold *at the access*:
MMIO decode (H1), write order (H5, H7, H14, H17), reads and writes a function that does not
answer loses (config_read_lost, config_write_lost)."""

from __future__ import annotations

from dataclasses import dataclass

from .state import D0, D3COLD

PCI_COMMAND = 0x04
PCI_COMMAND_IO = 0x1
PCI_COMMAND_MEMORY = 0x2
PCI_COMMAND_MASTER = 0x4
PCI_COMMAND_INTX_DISABLE = 0x400
PCI_ERR_UNCOR_STATUS = 0x04
PCI_ERR_UNC_UNSUP = 0x00100000
PCI_EXP_DEVSTA = 0x0A
PCI_EXP_DEVSTA_URD = 0x08


@dataclass(frozen=True)
class TraceEntry:
    op_index: int
    step: str
    target: str       # "dev", "port", "msix"
    offset: int
    width: int
    old: int
    new: int


class Access:
    """Accessors bound to one model run (see machine.Model)."""

    def __init__(self, model):
        self.m = model
        self.trace_on = False
        self.trace: list[TraceEntry] = []

    def event(self, what: str) -> None:
        """A hardware event with no register access of its own (a reset), for the trace."""
        if self.trace_on:
            self.trace.append(TraceEntry(self.m.op_index, f"{self.m.step}: {what}", "event", 0, 0, 0, 1))

    # --- config space -------------------------------------------------------------------
    def read(self, offset: int, width: int, target: str = "dev") -> int:
        """A config read whose value the kernel uses (decides on, saves, writes back)."""
        hw = self._hw(target)
        if target == "dev" and not hw.accessible:
            self._read_lost(offset, width)
        return hw.read(offset, width)

    def read_checked(self, offset: int, width: int) -> int:
        """A config read of the device whose all-ones value is no unchecked use: the caller tests
        it (PCI_POSSIBLE_ERROR in pci_set_low_power_state, pci_update_current_state,
        pci_dev_config_accessible), discards it (a flush), hands it to a vfio user (QEMU's reads
        through the config region), or a more precise invariant owns it (snapshot_all_ones)."""
        return self.m.state.hw.read(offset, width)

    def _read_lost(self, offset: int, width: int) -> None:
        """config_read_lost: the read returns all-ones (PCI_ERROR_RESPONSE: the function does not
        answer) while the kernel believes it answers (pci_channel_offline() false, not in D3cold),
        and the caller uses the value unchecked. pci_read_config_* (drivers/pci/access.c) fakes
        all-ones only for a device pci_dev_is_disconnected() marks; otherwise the read goes out.
        Once per op; not after snapshot_all_ones in the same op (the snapshot is that finding)."""
        m = self.m
        d = m.state.dev
        if m.oracle.read_lost_op == m.op_index:
            return
        if d.error_state == "normal" and d.current_state != D3COLD:
            m.oracle.read_lost_op = m.op_index
            m.oracle.write_lost_op = m.op_index   # the op's later dropped writes are this finding
            m.oracle.report("config_read_lost", "config", "the function answers",
                            f"read of 0x{offset:03x} returned 0x{(1 << 8 * width) - 1:x}: config space reads all-ones")

    def write(self, offset: int, width: int, value: int, target: str = "dev") -> None:
        hw = self._hw(target)
        d3hot_before = target == "dev" and self._d3hot_pmcsr(offset, width)
        if target == "dev":
            self.m.oracle.check_write_order(offset, width, value)
            if not hw.accessible:
                self._write_lost(offset, width, value)
        else:
            self.m.oracle.check_port_write_order(offset, width, value)
        old = hw.read(offset, width) if self.trace_on else 0
        self.m.oracle.note_write(0 if target == "dev" else 1, offset, width, value)
        hw.write(offset, width, value)
        if self.trace_on:
            new = hw.read(offset, width)
            self.trace.append(TraceEntry(self.m.op_index, self.m.step, target, offset, width, old, new))
        if target == "dev" and hw.accessible:
            from .power import hw_power_state
            from .reset import hardware_reset
            if self._initiates_flr(offset, width, value):
                hardware_reset(self.m, "flr")
            elif d3hot_before and hw_power_state(self.m) == 0 and not self.m.profile.no_soft_reset:
                hardware_reset(self.m, "soft")

    def _d3hot_pmcsr(self, offset: int, width: int) -> bool:
        """The write covers PMCSR's PowerState and the function, answering, is in D3hot: a write
        that takes it to D0 with No_Soft_Reset clear is a soft reset (PCI PM 1.2 §5.4.1, whoever
        writes it: pci_power_up, or a vfio user's raw write)."""
        pm = self.m.caps.pm
        if not (pm and offset <= pm + 0x04 < offset + width):
            return False
        from .power import hw_power_state       # power imports this module
        return hw_power_state(self.m) == 3

    def _initiates_flr(self, offset: int, width: int, value: int) -> bool:
        """A write that sets DEVCTL's Initiate Function Level Reset (bit 15, RW, reads 0) on a
        function with FLR capability starts an FLR, whoever writes it: pcie_flr, or a restore of
        a DEVCTL saved as all-ones (pci_restore_pcie_state)."""
        exp = self.m.caps.exp
        byte = exp + 0x09                               # PCI_EXP_DEVCTL's high byte: BCR_FLR is its bit 7
        return (bool(exp) and self.m.profile.flr and offset <= byte < offset + width
                and bool((value >> (8 * (byte - offset))) & 0x80))

    def _write_lost(self, offset: int, width: int, value: int) -> None:
        """config_write_lost: the function does not answer, so the write is dropped; a finding
        while the kernel believes it answers (pci_channel_offline() false, not in D3cold). Once
        per op, and not after config_read_lost in the same op: pci_read_config_* and
        pci_write_config_* (drivers/pci/access.c) go out the same way, so the op's first lost
        read is the first access that went wrong, and a read-modify-write writes back the value
        that read lost. One op's loss of the function is one finding."""
        m = self.m
        d = m.state.dev
        if m.oracle.write_lost_op == m.op_index:
            return
        if d.error_state == "normal" and d.current_state != D3COLD:
            m.oracle.write_lost_op = m.op_index
            m.oracle.report("config_write_lost", "config", "the function answers",
                                 f"write of 0x{value & ((1 << 8 * width) - 1):x} to 0x{offset:03x} dropped: "
                                 "config space reads all-ones")

    def _hw(self, target: str):
        if target == "dev":
            return self.m.state.hw
        if target == "port":
            return self.m.state.port.hw
        raise ValueError(target)

    # --- MMIO to the MSI-X table --------------------------------------------------------
    def decodes(self, bar: int, mapped: str = "the table is") -> tuple[str, str]:
        """Would the function claim a request to the kernel's address of `bar` (memory, or I/O
        for an I/O BAR)?

        Returns ("", "") when it would, else (cause, detail). The cause is part of the bucket
        key, so "Memory off" (H1) and "BAR moved" (H1b) are different findings."""
        from .power import hw_power_state
        st = self.m.state
        if not st.hw.accessible:
            return "not answering", "config space reads all-ones"
        if hw_power_state(self.m) != D0:
            return "not in D0", f"PowerState D{hw_power_state(self.m)}"
        cmd = st.hw.read(PCI_COMMAND, 2)
        info = self.m.profile.bar(bar)
        if info is not None and info.kind == "io":
            if not cmd & PCI_COMMAND_IO:
                return "I/O off", f"Command=0x{cmd:04x}"
        elif not cmd & PCI_COMMAND_MEMORY and not self.m.profile.virtfn:
            # a VF has no Memory bit: its PF's VF MSE decides, and it is set while the VF exists
            # (sriov_enable sets it with VF Enable; what clears it removes the VF)
            return "Memory off", f"Command=0x{cmd:04x}"
        if self.m.bar_register_value(bar) != st.dev.resources[bar]:
            return "BAR moved", (f"BAR{bar}=0x{self.m.bar_register_value(bar):x} but {mapped} mapped "
                                 f"at 0x{st.dev.resources[bar]:x}")
        return "", ""

    def contained(self) -> bool:
        """The port above has DPC Trigger Status set: it holds the link down and discards every
        request for the function (posted writes dropped, reads completed by the port with
        all-ones), so none reaches it (PCIe r6.0 6.2.11; dpc_reset_link clears the trigger)."""
        st, dpc = self.m.state, self.m.port_caps.dpc
        return st.port is not None and bool(dpc) and bool(st.port.hw.read(dpc + 0x08, 2) & 0x1)

    def bar_access(self, bar: int) -> None:
        """A user's dword access to BAR `bar` at the kernel's address (vfio_pci_bar_rw): the
        function claims it or it is an Unsupported Request. BAR contents are not modelled."""
        if self.contained():
            return
        cause, why = self.decodes(bar, "the BAR is")
        if cause:
            self._unsupported_request(f"user BAR, {cause}", why)

    def msix_write(self, offset: int, value: int, what: str) -> None:
        """A 32-bit MMIO write at `offset` into the table's BAR."""
        info = self.m.profile.msix
        if self.contained():
            return
        cause, why = self.decodes(info.table_bir)
        if cause:
            self._unsupported_request(f"{what}, {cause}", why)
            return
        rel = offset - info.table_offset  # the table array starts at the table, not the BAR
        old = self.m.state.hw.msix_read(rel)
        self.m.state.hw.msix_write(rel, 4, value)
        if self.trace_on:
            self.trace.append(TraceEntry(self.m.op_index, self.m.step, "msix", offset, 4, old, value & 0xFFFFFFFF))

    def msix_read(self, offset: int, what: str) -> int:
        info = self.m.profile.msix
        if self.contained():
            return 0xFFFFFFFF
        cause, why = self.decodes(info.table_bir)
        if cause:
            self._unsupported_request(f"{what}, {cause}", why)
            return 0xFFFFFFFF
        return self.m.state.hw.msix_read(offset - info.table_offset)

    def _unsupported_request(self, what: str, why: str) -> None:
        """A memory request the function does not claim: UR, logged in DEVSTA and AER (§7.4)."""
        st = self.m.state
        self.m.oracle.report("mmio_decode_off", what, "decode on", why)
        if st.hw.accessible:
            exp = self.m.caps.exp
            if exp:
                devsta = st.hw.config[exp + PCI_EXP_DEVSTA]
                st.hw.config[exp + PCI_EXP_DEVSTA] = devsta | PCI_EXP_DEVSTA_URD
            aer = self.m.caps.aer
            if aer:
                o = aer + PCI_ERR_UNCOR_STATUS + 2
                st.hw.config[o] = st.hw.config[o] | (PCI_ERR_UNC_UNSUP >> 16)
