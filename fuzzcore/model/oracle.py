"""The reference model's invariant checks (names and meanings in fuzzcore/model/invariants.py).

Checked where they happen: at a write (order), at restore entry and exit, at MMIO (in access.py)
and at the end of each op (state that must agree)."""

from __future__ import annotations

from . import intent as _intent
from .invariants import BY_NAME, Violation
from ..program.op_table import OP_INDEX as _OP_INDEX, OPS as _OP_ROWS
from .access import PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY
from .live_flags import feature_pairs
from .power import hw_power_state
from .state import D0, POWER_NAMES

L1SS_CTL1, L1SS_CTL2 = 0x08, 0x0C
L1SS_L1_2_MASK = 0x5              # PCI-PM L1.2 | ASPM L1.2
L1SS_CTL1_TIMING = 0xE3FFFF00     # Common_Mode_Restore_Time, LTR_L1.2_THRESHOLD value and scale

_OP_NAMES = [o.name for o in _OP_ROWS]


def bar_decode_bit(m, i: int) -> int:
    """The Command bit that makes BAR dword i decode: I/O for an I/O BAR, Memory for a memory BAR
    or the upper half of 64-bit BAR i-1; 0 when the dword holds no BAR of the profile."""
    for b in m.profile.bars:
        if b.kind != "none" and (b.index == i or b.kind == "mem64" and b.index + 1 == i):
            return PCI_COMMAND_IO if b.kind == "io" else PCI_COMMAND_MEMORY
    return 0


def outside_d0_actual(current_state: int, hw_state: int) -> str:
    """restore_outside_d0's actual: the kernel's belief and the hardware's PowerState. With
    current_state not D0, __pci_write_msi_msg only caches the messages (the hardware keeps what
    it has); with the hardware not in D0, the table writes go to a function that does not decode."""
    return (f"current_state {POWER_NAMES.get(current_state, current_state)}, "
            f"PowerState D{hw_state}")


class Oracle:
    def __init__(self, model):
        self.m = model
        self.violations: list[Violation] = []
        self._seen: set = set()
        self._standing: set = set()      # end-of-op conditions that already held after the last op
        self._refined_now: set = set()   # intent fields a more precise invariant flagged in this op
        self._hw_prev: list = []         # each intent field's hardware value after the last op
        self._hw_changed: list = []      # (op index, op kind) that last changed it; (-1, -1): none
        self.written: list = [0] * _intent.N_WRITTEN          # intent.WRITTEN: the last deliberate write
        self._written_op: list = [(-1, -1, "")] * _intent.N_WRITTEN   # and the op (and step) that made it
        self._written_start: dict = {}   # row -> (written, _written_op) before this op first wrote it
        self._restore_mismatch: dict = {}   # live-flag register -> (kernel flag, step) a restore left
        self.read_lost_op = -2           # the op that reported config_read_lost or snapshot_all_ones
        self.write_lost_op = -2          # the op that reported config_write_lost or config_read_lost
        self.bars_owed = False           # pci_power_up reported a soft reset no pci_restore_bars answered (this op)
        self.reset_in_op = False         # the function was reset in this op (hardware_reset)

    def init_intent(self) -> None:
        """The hardware as enumeration leaves it: nothing changed it yet."""
        self._hw_prev = _intent.hardware_values(self.m)
        self._hw_changed = [(-1, -1)] * _intent.N_FIELDS
        for k, (off, width, _cmp, port) in enumerate(self.m.written_layout):
            hw = self.m.state.port.hw if port and self.m.state.port is not None else self.m.state.hw
            self.written[k] = int.from_bytes(hw.config[off:off + width].tobytes(), "little") if off >= 0 else 0
        self._written_op = [(-1, -1, "")] * _intent.N_WRITTEN

    def begin_op(self) -> None:
        """An op starts: the written intent it starts with is what its restores put back."""
        self._written_start = {}
        self._restore_mismatch = {}
        self.bars_owed = False
        self.reset_in_op = False

    def _start_row(self, k: int) -> None:
        """Keep row k's intent as the op found it, before the op first changes it."""
        if k not in self._written_start:
            self._written_start[k] = (self.written[k], self._written_op[k])

    def note_meant(self, k: int, mask: int, on: bool) -> None:
        """A kernel helper that writes bits only when they read otherwise (pci_set_master,
        pci_clear_master, pci_enable_device: `if (cmd != old_cmd)`) means them either way: a
        function that does not answer reads them as already set, and the write it skips says
        nothing of what the kernel now believes (dev->is_busmaster, the enabled decode)."""
        m = self.m
        self._start_row(k)
        new = self.written[k] | mask if on else self.written[k] & ~mask
        if new != self.written[k]:
            self.written[k] = new
            self._written_op[k] = (m.op_index, _OP_INDEX.get(m.op_name, -1), m.step)

    def note_write(self, port: int, offset: int, width: int, value: int) -> None:
        """A software config write: it sets the written intent of the bytes it covers, whether or
        not the hardware takes it (intent.WRITTEN). Kernel writes that may echo
        PCI_ERROR_RESPONSE (intent.echo_bits) mean less:
        - a restore step's all-ones write (a snapshot of a function that did not answer) says
          nothing of what the restore was called to put back, so the intent the op started with
          stands again (the disable pci_dev_save_and_disable wrote before the reset was
          provisional: the restore states what the kernel means after it);
        - any other all-ones write, and a non-restore write to a function that does not answer
          (a read-modify-write of an all-ones read: pci_enable_device writing 0xfbff means INTx
          Disable off, not I/O or Bus Master on), sets only the bits it clears.
        A restore of a real snapshot to a function that does not answer means its values; a restore
        step's read-modify-write of it (pci_restore_rebar_state's Control, its BAR index read
        all-ones) means nothing. A vfio
        user's write is its own choice and counts whole; MSI Mask Bits are the one register the
        kernel means all-ones for (pci_msi_mask)."""
        m = self.m
        byte_map = m.written_map[port]
        kernel = not m.user_access
        restoring = m.step.startswith("pci_restore_state")
        if m.restore_rmw and restoring and port == 0 and not m.state.hw.accessible:
            return      # a restore step's write computed from an all-ones read means nothing
        all_ones = kernel and _intent.is_error_echo(width, value)
        lost = kernel and not restoring and _intent.echo_bits(width, value, port == 0 and not m.state.hw.accessible)
        for i in range(width):
            hit = byte_map.get(offset + i)
            if hit is None:
                continue
            k, b = hit
            self._start_row(k)
            byte = (value >> 8 * i) & 0xFF
            old = (self.written[k] >> 8 * b) & 0xFF
            who = None
            if not kernel:          # a vfio user means only the bits vfio let through; the rest echo a read
                ub = (m.user_wmask >> 8 * i) & 0xFF
                byte = (old & ~ub) | (byte & ub)
            if k != _intent.W_MSI_MASK and (all_ones or lost):
                if all_ones and restoring:
                    start, who = self._written_start[k]
                    byte = (start >> 8 * b) & 0xFF
                else:
                    byte &= old
                if byte == old:
                    continue
            self.written[k] = (self.written[k] & ~(0xFF << 8 * b)) | byte << 8 * b
            self._written_op[k] = who or (m.op_index, _OP_INDEX.get(m.op_name, -1), m.step)

    def report(self, invariant: str, register: str, expected: str, actual: str) -> None:
        assert invariant in BY_NAME, invariant
        m = self.m
        self._refined_now.update(_intent.REFINES.get((invariant, register), ()))
        v = Violation(invariant, m.op_index, m.op_name, register, m.step, expected, actual)
        if v.bucket in self._seen:
            return
        self._seen.add(v.bucket)
        self.violations.append(v)

    # --- at each kernel write ----------------------------------------------------------------
    def check_write_order(self, offset: int, width: int, value: int) -> None:
        m = self.m
        hw = m.state.hw
        if m.user_access or not hw.accessible or _intent.is_error_echo(width, value):
            return    # an all-ones write is restore_all_ones' / snapshot_all_ones' finding, not an order one
        cur = hw.read(offset, width)
        # Only bits the register implements count: rewriting the value it holds (an all-ones
        # snapshot over the RO-masked 0x1fff1fff of LTR, 0xfff00000 of a BAR) changes nothing.
        sem = m.profile.semantics
        wm = 0
        for i in range(width):
            wm |= (int(sem.wmask[offset + i]) & 0xFF) << (8 * i)
        if not (cur ^ value) & wm:
            return
        c = m.caps
        if c.l1ss and offset in (c.l1ss + L1SS_CTL1, c.l1ss + L1SS_CTL2):
            self._check_l1ss_order(hw, c.l1ss, offset - c.l1ss, cur, value & wm)   # any kernel write (H17)
        if not m.step.startswith("pci_restore_state"):
            return  # H5/H7/H14 are about the order pci_restore_state writes in
        # Only BARs the device implements (a 64-bit BAR's upper dword included): a write to a
        # hard-wired zero BAR decodes nothing (pci_std_update_resource skips them too). A BAR
        # decodes under its own Command bit: Memory for a memory BAR, I/O for an I/O BAR.
        if 0x10 <= offset < 0x28 and m.profile.header_type == 0:
            if hw.read(PCI_COMMAND, 2) & bar_decode_bit(m, (offset - 0x10) // 4):
                self.report("order_violation", f"BAR{(offset - 0x10) // 4}", "decode off while a BAR is rewritten",
                            f"Command=0x{hw.read(PCI_COMMAND, 2):04x}")
        ats_on = c.ats and hw.read(c.ats + 6, 2) & 0x8000
        if ats_on and c.pasid and offset == c.pasid + 6:
            self.report("order_violation", "PASID", "PASID written before ATS Enable", "ATS already enabled")
        if c.ltr and c.exp and offset == c.ltr + 4 and hw.read(c.exp + 0x28, 2) & 0x400:
            self.report("order_violation", "LTR", "latencies programmed before LTR Enable", "LTR already enabled")
        if c.sriov and offset == c.sriov + 0x10 and hw.read(c.sriov + 8, 2) & 0x1:
            self.report("order_violation", "SR-IOV", "NumVFs written before VF Enable", "VF Enable already set")

    def check_port_write_order(self, offset: int, width: int, value: int) -> None:
        """The L1SS rules at the port's end of the link: pcie_config_aspm_l1ss and
        pci_restore_aspm_l1ss_state program both ends."""
        m = self.m
        l1ss = m.port_caps.l1ss
        if (m.user_access or not l1ss or offset not in (l1ss + L1SS_CTL1, l1ss + L1SS_CTL2) or width != 4
                or _intent.is_error_echo(width, value)):
            return
        hw = m.state.port.hw
        wm = int.from_bytes(bytes(int(b) & 0xFF for b in m._port_profile.semantics.wmask[offset:offset + 4]),
                            "little")
        cur = hw.read(offset, 4)
        if (cur ^ value) & wm:
            self._check_l1ss_order(hw, l1ss, offset - l1ss, cur, value & wm)

    def _check_l1ss_order(self, hw, l1ss: int, rel: int, cur: int, new: int) -> None:
        """H17 for L1SS, at either end of the link (hw, l1ss: the end written), as
        pci_restore_aspm_l1ss_state's and pcie_config_aspm_l1ss's comments give it (PCIe r6.2
        §5.5.4): ASPM L0s/L1 off at both ends while L1SS changes; T_POWER_ON (CTL2) programmed
        while L1.2 is off; Common_Mode_Restore_Time and LTR_L1.2_THRESHOLD programmed before the
        L1.2 enables."""
        m, c = self.m, self.m.caps
        port_aspm = (m.state.port is not None and m.port_caps.exp
                     and m.state.port.hw.read(m.port_caps.exp + 0x10, 2) & 0x3)
        # the device's LNKCTL as the function holds it: one that does not answer (DPC holds the
        # link down, a reset in progress) reads all-ones, which says nothing of its ASPM
        dev_aspm = c.exp and m.state.hw.config[c.exp + 0x10] & 0x3
        if dev_aspm or port_aspm:
            self.report("order_violation", "L1SS", "ASPM L0s/L1 off at both ends while L1SS changes",
                        "ASPM L0s/L1 enabled")
        elif rel == L1SS_CTL2 and hw.read(l1ss + L1SS_CTL1, 4) & L1SS_L1_2_MASK:
            self.report("order_violation", "L1SS", "T_POWER_ON programmed while L1.2 is disabled", "L1.2 enabled")
        elif (rel == L1SS_CTL1 and not cur & L1SS_L1_2_MASK and new & L1SS_L1_2_MASK
              and (cur ^ new) & L1SS_CTL1_TIMING):
            self.report("order_violation", "L1SS", "L1.2 thresholds programmed before the L1.2 enables",
                        "L1.2 enabled by the write that sets them")

    # --- around pci_restore_state ------------------------------------------------------------
    def before_restore(self, intended_epoch: bool) -> None:
        m = self.m
        dev = m.state.dev
        # under DPC containment the port drops every write for the function, so none reaches
        # a function outside D0 (what the function then lacks, intent_mismatch reports)
        if dev.msix_enabled and (dev.current_state != D0 or hw_power_state(m) != D0) and not m.io.contained():
            self.report("restore_outside_d0", "MSI-X", "D0", outside_d0_actual(dev.current_state, hw_power_state(m)))
        if dev.partial_load:
            self.report("restore_after_failed_load", "config", "a whole snapshot",
                        "pci_load_saved_state failed part way")
        if dev.config_epoch < m.latest_save_epoch and not intended_epoch:
            self.report("restore_older_snapshot", "config", f"snapshot of save #{m.latest_save_epoch}",
                        f"snapshot of save #{dev.config_epoch}")

    def check_all_ones_write(self, index: int) -> None:
        """pci_restore_config_dword is about to write an all-ones saved dword: the function answers
        (a function that does not answer reads all-ones, equal to the snapshot, and the kernel
        writes nothing), so Command or an implemented BAR really gets 0xffffffff."""
        m = self.m
        if index == 1:
            self.report("restore_all_ones", "Command", "a saved Command", "0xffffffff")
        elif m.profile.header_type == 0 and 4 <= index <= 9 and not m.profile.virtfn:   # a VF's BARs are RO zero
            for b in m.profile.bars:
                if b.kind != "none" and b.index == index - 4:
                    self.report("restore_all_ones", f"BAR{b.index}", "a saved BAR", "0xffffffff")

    def check_snapshot_bars(self) -> None:
        """At pci_restore_config_space: what it is about to write vs the kernel's resources."""
        m = self.m
        dev = m.state.dev
        if m.profile.header_type != 0 or m.profile.virtfn:
            return                         # a VF's BARs are RO zero: what the snapshot holds lands nowhere
        if m.io.contained():
            return                         # the port in DPC containment drops every write of the restore
        for b in m.profile.bars:
            if b.kind == "none":
                continue
            lo = dev.saved_config[4 + b.index]
            if lo == 0xFFFFFFFF:
                continue                   # restore_all_ones, if the restore writes it (check_all_ones_write)
            mask = ~(b.size - 1)
            saved = lo & (0xFFFFFFFC if b.kind == "io" else 0xFFFFFFF0)
            if b.kind == "mem64":
                saved |= dev.saved_config[5 + b.index] << 32
            if saved & mask != dev.resources[b.index] & mask:
                self.report("snapshot_bar_stale", f"BAR{b.index}", f"0x{dev.resources[b.index]:x} (resource)",
                            f"0x{saved:x} (snapshot)")

    def live_flag_mismatches(self) -> set:
        """(register, kernel flag, hardware bit) for every feature whose two disagree now."""
        m = self.m
        return {chk for chk in feature_pairs(m) if chk[1] != chk[2]}

    def after_restore(self) -> None:
        """A restore must leave each live flag and its enable bit agreeing (unless they already
        disagreed before the op began: then the restore is not what broke them). Reported at the
        end of the op, by the restore's step, if they still disagree then: the rest of the op's
        path may set what the restore wrote back (pci_pm_runtime_resume's pci_resume_ptm after
        pci_pm_default_resume_early)."""
        m = self.m
        hw = m.state.hw
        if not hw.accessible:
            return
        c = m.caps
        for reg, live, enabled in sorted(self.live_flag_mismatches() - m.mismatch_at_op_start):
            self._restore_mismatch.setdefault(reg, (live, m.step))
        cmd = hw.read(PCI_COMMAND, 2)
        msi_on = (c.msix and hw.read(c.msix + 2, 2) & 0x8000) or (c.msi and hw.read(c.msi + 2, 2) & 0x1)
        if msi_on and not cmd & PCI_COMMAND_MASTER and m.cmd_at_op_start & PCI_COMMAND_MASTER:
            self.report("msi_without_bus_master", "Command", "Bus Master on (as before the op)",
                        f"Command=0x{cmd:04x}")

    # --- at the end of each op -----------------------------------------------------------------
    def returned_to_user(self) -> None:
        """An op that returns to user space (op_table.RETURNS_TO_USER_SPACE) reset the function
        and left it in use with nothing restored: e.g. a user's PMCSR D3hot->D0 soft reset that
        vfio_pm_config_write / vfio_pci_set_power_state does not answer with pci_restore_state."""
        m = self.m
        if self.reset_in_op and not m.state.vfio.qemu_resetting and _intent.usable_unrestored(m) \
                and m.state.dev.driver != "none":
            self.report("used_without_restore", "config", "restored after the reset",
                        "returned to user space with the function reset and nothing restored")

    def end_of_op(self) -> None:
        """State that must agree after every op. A condition is reported by the op that makes it
        true, not again by each later op while it stands."""
        m = self.m
        now = {reg: (live, enabled) for reg, live, enabled in self.live_flag_mismatches()} \
            if self._restore_mismatch else {}
        for reg, (live, step) in sorted(self._restore_mismatch.items()):
            if now.get(reg, (None,))[0] == live:          # after_restore's mismatch still stands
                prev, m.step = m.step, step
                self.report("live_flag_mismatch", reg, f"enable bit {int(live)} (kernel flag)",
                            f"enable bit {int(now[reg][1])} in hardware")
                m.step = prev
        self._restore_mismatch = {}
        standing, self._pending = set(), []
        self._check_end_of_op()
        # the standing checks report first: what they refine holds for intent_mismatch in this op
        for key, args in self._pending:
            standing.add(key)
            if key not in self._standing and args is not None:
                self.report(*args)
        self._pending = []
        self._check_intent()
        for key, args in self._pending:
            standing.add(key)
            if key not in self._standing and args is not None:
                self.report(*args)
        self._standing = standing
        self._refined_now = set()

    def _check_intent(self) -> None:
        """intent_mismatch: while the kernel believes the device usable, every field with an
        intent equals the hardware (fuzzcore/model/intent.py); while only a restore is pending,
        the fields the core restores itself (intent.CORE_RESTORED). A field a more precise
        invariant flagged in this op stands without a report of its own."""
        m = self.m
        now = _intent.hardware_values(m)
        kind = _OP_INDEX[m.op_name]
        for f in range(_intent.N_FIELDS):
            if now[f] != self._hw_prev[f]:
                self._hw_prev[f] = now[f]
                self._hw_changed[f] = (m.op_index, kind)
        if not _intent.usable(m):
            # Nothing is compared while the kernel does not believe the device usable; a mismatch
            # that stood before keeps standing unless this op changed that field's hardware, and a
            # field a more precise invariant flagged in this op counts as standing.
            keep = {_intent.FIELD_INDEX[key[1]] for key in self._standing if key[0] == "intent_mismatch"}
            keep = {f for f in keep if self._hw_changed[f][0] != m.op_index} | self._refined_now
            # a restore is pending: the core's own fields, when in this op pci_power_up reported
            # a soft reset (need_restore) and no pci_restore_bars answered it
            compared = set(_intent.CORE_RESTORED) if self.bars_owed and _intent.usable_unrestored(m) else set()
            for f in sorted(keep - compared):
                self._pending.append((("intent_mismatch", _intent.FIELDS[f][0]), None))
            if not compared:
                return
        else:
            compared = None
        for f, vec, want, got in _intent.intents(m):
            if compared is not None and f not in compared:
                continue                    # a restore is pending: the core's own fields only
            if want == got:
                continue
            reg = _intent.FIELDS[f][0]
            key = ("intent_mismatch", reg)
            if f in self._refined_now:
                self._pending.append((key, None))
                continue
            idx, k = self._hw_changed[f]
            w_idx, w_kind, w_step = (self._written_op[_intent.WRITTEN_FIELDS[f][0]] if f in _intent.WRITTEN_FIELDS
                                     else (-1, -1, ""))
            expected, actual = _intent.message(want, got, _intent.pack(f, vec, idx, k, w_idx, w_kind), _OP_NAMES,
                                               w_step)
            self._pending.append((key, ("intent_mismatch", reg, expected, actual)))

    def _standing_report(self, invariant: str, register: str, expected: str, actual: str) -> None:
        self._pending.append(((invariant, register), (invariant, register, expected, actual)))

    def _check_end_of_op(self) -> None:
        m = self.m
        st = m.state
        if not st.hw.accessible:
            return
        v = st.vfio
        if v.open and not m.profile.virtfn and st.dev.rpm_suspended:
            # every way to the device resumes it first (vfio_pci_rw, vfio_device_pm_runtime_get, the
            # mmap fault's D0 check) and the resume restores Command: compared again once it is active
            if ("vconfig_mismatch", "Command") in self._standing:
                self._pending.append((("vconfig_mismatch", "Command"), None))
        elif v.open and not m.profile.virtfn:   # a VF decodes by its PF's VF MSE: vfio's bits are all there is
            hw_cmd = st.hw.read(PCI_COMMAND, 2)
            diff = (hw_cmd ^ v.vconfig_command) & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO)
            if diff:
                self._standing_report("vconfig_mismatch", "Command",
                            f"Memory/IO as vconfig (0x{v.vconfig_command & 3:x})", f"hardware 0x{hw_cmd & 3:x}")
        port = st.port
        if port is None:
            return
        c, pc = m.caps, m.port_caps
        if c.exp and pc.exp and c.ltr:
            if st.hw.read(c.exp + 0x28, 2) & 0x400 and not port.hw.read(pc.exp + 0x28, 2) & 0x400:
                self._standing_report("upstream_feature_off", "LTR", "LTR enabled on the port too", "port LTR Enable clear")
        if c.ptm and pc.ptm:
            if st.hw.read(c.ptm + 8, 4) & 0x1 and not port.hw.read(pc.ptm + 8, 4) & 0x1:
                self._standing_report("upstream_feature_off", "PTM", "PTM enabled on the port too", "port PTM Enable clear")
