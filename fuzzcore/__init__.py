"""fuzzcore: a coverage-guided fuzzer for the ordering of PCI/PCIe config-space save, reset,
enable and restore operations as Linux, vfio-pci and QEMU perform them."""

__version__ = "0.1.0"
