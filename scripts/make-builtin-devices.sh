#!/usr/bin/env bash
# Regenerate the built-in device profiles from the dumps in tests/data/.
# BAR and ROM sizes are what a dump cannot hold; the values below are those lspci -vv reports for
# these devices (I350: Intel datasheet 333015 / lspci; DSA: idxd BAR0 64K, BAR2 128K; Fiji: amdgpu
# with ReBAR at 256M; 7265: 8K). A wrong size changes which BAR bits are writable, nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."
D=tests/data
OUT=fuzzcore/devices
imp() { python3 -m fuzzcore.cli device import "$@"; }

imp $D/pcitool-intel-cnl-rootport-dpc-ptm-l1ss.txt -o $OUT/cnl-rootport.toml
imp $D/pcitool-intel-i350-nic-sriov-tph.txt --bar 0=1M --bar 3=16K --rom-size 512K \
    --upstream-port cnl-rootport -o $OUT/i350.toml
imp $D/pciutils-intel-dsa-0b25-tph-ats-pasid-pri.txt --bar 0=64K --bar 2=128K -o $OUT/dsa.toml
imp $D/pciutils-intel-7265-wifi-l1ss-ltr.txt --bar 0=8K --upstream-port cnl-rootport -o $OUT/wifi-7265.toml
imp $D/pciutils-amd-fiji-gpu-rebar-ats-pri-pasid.txt --bar 0=256M --bar 2=2M --bar 4=256 --bar 5=256K \
    --rom-size 128K --upstream-port cnl-rootport -o $OUT/fiji.toml
# The 82576's VF 0 is derived from its SR-IOV capability (VF BAR sizes 16K each are a choice: the
# PF's dump cannot tell them; check them against lspci -vv of a VF where one is at hand).
imp $D/pciutils-intel-82576-10c9-nic-sriov.txt --bar 0=128K --bar 1=4M --bar 2=32 --bar 3=16K \
    --rom-size 4M --upstream-port cnl-rootport -o $OUT/nic-82576.toml \
    --vf-output $OUT/nic-82576-vf.toml --vf-bar 0=16K --vf-bar 3=16K
imp $D/pcitool-intel-cnvi-wifi-null-ecap.txt --bar 0=16K -o $OUT/cnvi-wifi.toml
imp $D/pciutils-plx-8532-switch-vc-pat.txt --upstream-port cnl-rootport -o $OUT/plx-8532.toml
