"""The oracle's vocabulary: every invariant by name, with its one-line meaning and the hazard of
kernel.md §9 it stands for. Both models report violations with these names; the bucket key of a
violation is (invariant, op kind, register)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Invariant:
    name: str
    hazard: str
    meaning: str
    checked: str = ""          # the moment the models check it (fuzzcore/model/oracle.py)
    registers: str = ""        # the register names a violation can carry


INVARIANTS: tuple[Invariant, ...] = (
    Invariant("mmio_decode_off", "H1/H1b/H9",
              "an MMIO access (MSI-X table or PBA, BAR) reached the device while it could not decode it "
              "(Command.Memory off, BAR not at the kernel's address, not D0): an Unsupported Request",
              checked='at every MMIO access the models make (MSI-X table and PBA writes and reads, BAR access), as it happens',
              registers='the access and why: MSI-X table or PBA (read or write), each with Memory off, not in D0, BAR moved or not answering; '
                        'a vfio user\'s BAR access (vfio_bar_rw) with those or I/O off'),
    Invariant("restore_unsaved_buffer", "H2/H3",
              "a restore wrote a capability buffer that no save of the snapshot's epoch filled "
              "(zeros never saved, or left over from an older save)",
              checked='at each capability restore step, before it writes its buffer; not when the snapshot\'s own '
                      'save read all-ones (it found no capability and kept the older buffers: restore_all_ones '
                      'is that restore\'s finding)',
              registers='the capability: PCIe, PCI-X, LTR, VC, PTM, AER, TPH, L1SS, DPC'),
    Invariant("live_flag_mismatch", "H2",
              "after a restore a kernel live flag disagrees with the hardware enable bit it stands for",
              checked='right after each pci_restore_state, reported at the end of the op (by the restore) if '
                      'it still stands there: the rest of the path may set it (pci_resume_ptm after the restore)',
              registers='the feature (fuzzcore/model/live_flags.py): MSI, MSI-X, TPH, ATS, PASID, PRI, PTM (on '
                        'while counted, off between pci_suspend_ptm and pci_resume_ptm), SR-IOV'),
    Invariant("snapshot_all_ones", "H3e",
              "a snapshot was taken from a device whose config space read all-ones",
              checked='at each pci_save_state, when it reads Command/Status',
              registers='config'),
    Invariant("restore_all_ones", "H3e",
              "a restore wrote all-ones to Command or a BAR",
              checked='at restore entry, over the snapshot about to be written',
              registers='Command, BAR0-BAR5'),
    Invariant("snapshot_bar_stale", "H3c",
              "a restore wrote a BAR value different from the kernel's resource for that BAR",
              checked='at restore entry, snapshot BARs against dev->resource[]',
              registers='BAR0-BAR5'),
    Invariant("restore_older_snapshot", "H3",
              "a restore pushed a snapshot older than the device's latest save, outside vfio close",
              checked='at restore entry (outside vfio close)',
              registers='config'),
    Invariant("restore_after_failed_load", "H3d",
              "a restore ran on a snapshot that a failed pci_load_saved_state left half overwritten",
              checked='at restore entry, after a pci_load_saved_state that failed',
              registers='config'),
    Invariant("upstream_feature_off", "H17",
              "a feature that needs the upstream port (LTR, PTM) is enabled on the device but not on the port",
              checked='at the end of every op (a standing condition, reported once per op)',
              registers='LTR, PTM'),
    Invariant("order_violation", "H5/H7/H14/H17",
              "a register was written out of its required order (PASID with ATS on, LTR latency with LTR on, "
              "NumVFs after VF Enable, a BAR while it decodes (Memory on for a memory BAR, I/O for an I/O BAR), L1SS with "
              "ASPM L0s/L1 on at either end of the link, L1SS CTL2 with L1.2 on, "
              "the L1.2 enables in the write that sets CTL1's timing fields)",
              checked="at every kernel config write that changes a bit the register implements (its wmask), against the registers' "
                      "order rules: inside pci_restore_state for the BAR, PASID, LTR and SR-IOV rules, at every kernel write "
                      "to either end's L1SS Control for the L1SS rules; not an all-ones write (restore_all_ones and "
                      "snapshot_all_ones own that harm)",
              registers='PASID, LTR, SR-IOV, L1SS, BAR0-BAR5'),
    Invariant("used_without_restore", "H11/§5.4",
              "after a reset with no restore the device was reported recovered or used while at reset defaults",
              checked='at the end of a recovery the kernel calls successful, of a system sleep that leaves '
                      'a bound, runtime-active device reset and unrestored, and of a vfio or QEMU op (one that '
                      'returns to user space) that reset the function and left it in use with nothing restored',
              registers='config'),
    Invariant("msi_without_bus_master", "H4",
              "after a restore MSI or MSI-X is enabled in hardware while Bus Master is off",
              checked='right after each pci_restore_state',
              registers='Command'),
    Invariant("vconfig_mismatch", "H3b",
              "vfio's virtual Command Memory/IO disagrees with the hardware while the device is open",
              checked='at the end of every op while vfio-pci has the device open and runtime-active (a '
                      'runtime-suspended device is resumed, and its Command restored, before any access: '
                      'vfio_pci_rw, vfio_device_pm_runtime_get)',
              registers='Command'),
    Invariant("restore_outside_d0", "H12",
              "pci_restore_state ran with MSI-X enabled while the device was not in D0",
              checked='at restore entry, unless the port above holds the link in DPC containment (it drops the writes)',
              registers='MSI-X'),
    Invariant("intent_mismatch", "H2/H3/H11",
              "while the kernel believes the device usable, a register field differs from what the kernel, "
              "the driver or the vfio user means it to hold (fuzzcore/model/intent.py): the field, the intent "
              "and who set it, the hardware value and the op that last changed it",
              checked=('at the end of every op after which the kernel believes the device usable (config space '
                       'answers, dev->error_state normal, dev->current_state D0, runtime PM active); reported by '
                       'the first such op, silent on the fields a more precise invariant flagged in the same op; '
                       'while only a restore is pending after a reset (the device otherwise usable), BAR0-BAR5 and '
                       'the VF BARs in an op where pci_power_up reported a soft reset (need_restore) and no '
                       'pci_restore_bars answered it'),
              registers=('PowerState, BAR0-BAR5, the enables of ATS, MSI, MSI-X, PASID, PRI, PTM, SR-IOV, TPH, '
                         'MSI message, MSI-X message (derived from kernel state); Command.Memory/IO/BusMaster, '
                         'Interrupt Line, CacheLine/Lat, ROM BAR, a bridge\'s bus numbers, windows and Bridge '
                         'Control, DEVCTL, LNKCTL, DEVCTL2, ACS Control, L1SS CTL1/CTL2, MSI mask, SR-IOV '
                         'PageSize, ReBAR Control0-5 and the port\'s LNKCTL and L1SS CTL1/CTL2 (the last '
                         'deliberate write)')),
    Invariant("config_write_lost", "H3e/H11",
              "a config write (by the kernel, a driver or the vfio user) reached a function that did not answer "
              "while the kernel believed it did (dev->error_state normal, not in D3cold): the hardware dropped it",
              checked=('at every config write the models make to the device, as it happens, once per op; not '
                       'after config_read_lost in the same op (the lost read went wrong first, and a '
                       'read-modify-write writes back its value: one finding for the op)'),
              registers='config'),
    Invariant("config_read_lost", "H3e/H11",
              "a config read returned all-ones from a function that did not answer while the kernel believed it "
              "did (dev->error_state normal, not in D3cold), and the kernel used the value unchecked (to decide, "
              "to save, to write back)",
              checked=('at every config read the models make of the device, as it happens, once per op; not where '
                       'the caller tests for all-ones (PCI_POSSIBLE_ERROR), discards the value or hands it to a '
                       'vfio user, nor after snapshot_all_ones in the same op'),
              registers='config'),
    Invariant("error_status_stale", "H19",
              "a pci_restore_state of a function whose AER the OS owns ended with an AER error status bit "
              "still set that was set when it began: the kernel clears status as it restores "
              "(pci_aer_clear_status, b07461a8e45b) so that what it reports later is new; a bit that survives "
              "is reported again as a new error",
              checked=('at the end of each pci_restore_state of a function that answers, with [recovery] aer_native: '
                       'the Correctable and Uncorrectable Status bits set at its start that no step of it cleared '
                       'and that are still set (a bit cleared and set again by the restore\'s own accesses is new)'),
              registers='AER'),
)

BY_NAME = {inv.name: inv for inv in INVARIANTS}


@dataclass(frozen=True)
class Violation:
    invariant: str
    op_index: int
    op: str
    register: str
    step: str          # the upstream function of the model step that tripped it
    expected: str
    actual: str

    @property
    def bucket(self) -> tuple[str, str, str]:
        return (self.invariant, self.op, self.register)

    def __str__(self) -> str:
        return (f"{self.invariant} [{self.register}] at op {self.op_index} ({self.op}) in {self.step}: "
                f"expected {self.expected}, got {self.actual}")


def bucket_name(bucket: tuple[str, str, str]) -> str:
    """A filesystem-safe name for a bucket: crashes/<invariant>--<op>--<register>/."""
    return "--".join(part.replace("/", "_").replace(" ", "_") for part in bucket)
