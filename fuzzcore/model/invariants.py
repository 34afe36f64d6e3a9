"""The oracle's vocabulary: every invariant by name, with its one-line meaning and the hazard of
reference §9 it stands for. Both models report violations with these names; the bucket key of a
violation is (invariant, op kind, register)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Invariant:
    name: str
    hazard: str
    meaning: str


INVARIANTS: tuple[Invariant, ...] = (
    Invariant("mmio_decode_off", "H1/H1b/H9",
              "an MMIO access (MSI-X table or PBA, BAR) reached the device while it could not decode it "
              "(Command.Memory off, BAR not at the kernel's address, not D0): an Unsupported Request"),
    Invariant("restore_unsaved_buffer", "H2/H3",
              "a restore wrote a capability buffer that no save of the snapshot's epoch filled "
              "(zeros never saved, or left over from an older save)"),
    Invariant("live_flag_mismatch", "H2",
              "after a restore a kernel live flag disagrees with the hardware enable bit it stands for"),
    Invariant("snapshot_all_ones", "H3e",
              "a snapshot was taken from a device whose config space read all-ones"),
    Invariant("restore_all_ones", "H3e",
              "a restore wrote all-ones to Command or a BAR"),
    Invariant("snapshot_bar_stale", "H3c",
              "a restore wrote a BAR value different from the kernel's resource for that BAR"),
    Invariant("restore_older_snapshot", "H3",
              "a restore pushed a snapshot older than the device's latest save, outside vfio close"),
    Invariant("restore_after_failed_load", "H3d",
              "a restore ran on a snapshot that a failed pci_load_saved_state left half overwritten"),
    Invariant("upstream_feature_off", "H17",
              "a feature that needs the upstream port (LTR, PTM) is enabled on the device but not on the port"),
    Invariant("order_violation", "H5/H7/H14/H17",
              "a register was written out of its required order (PASID/PRI with ATS on, LTR latency with LTR on, "
              "NumVFs after VF Enable, a BAR while Memory decode is on)"),
    Invariant("used_without_restore", "H11/§5.4",
              "after a reset with no restore the device was reported recovered or used while at reset defaults"),
    Invariant("msi_without_bus_master", "H4",
              "after a restore MSI or MSI-X is enabled in hardware while Bus Master is off"),
    Invariant("vconfig_mismatch", "H3b",
              "vfio's virtual Command Memory/IO disagrees with the hardware while the device is open"),
    Invariant("restore_outside_d0", "H12",
              "pci_restore_state ran with MSI-X enabled while the device was not in D0"),
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
