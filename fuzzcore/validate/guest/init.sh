#!/bin/busybox sh
# /init of the fuzzcore validate guest: mount, load the vfio modules and fzhost, bind each
# device named in /fz/devices to vfio-pci (the model's starting point), run /fz/script, power off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tracefs nodev /sys/kernel/tracing
while read -r m args; do
    insmod "/lib/fz/$m" $args || echo "FZERR insmod $m"
done < /lib/fz/order
if [ -f /fz/devices ]; then
    for d in $(cat /fz/devices); do
        echo vfio-pci > "/sys/bus/pci/devices/$d/driver_override"
        echo "$d" > /sys/bus/pci/drivers_probe
    done
fi
# No runtime suspend of anything but what a program asks for (a port's runtime PM would write
# its PMCSR at times no marker brackets).
for d in /sys/bus/pci/devices/*; do
    echo on > "$d/power/control" 2>/dev/null
done
# The keyboard (i8042 port serio0) is the wakeup source of a suspend-to-idle (fzguest pmsleep): the
# host presses a key through QMP once the guest sleeps. QEMU's RTC alarm cannot wake it (no ACPI
# RTC_STS while the machine runs), the power button needs button.ko.
echo enabled > /sys/devices/platform/i8042/serio0/power/wakeup 2>/dev/null || echo "FZERR keyboard wakeup"
echo FZREADY
if [ -f /fz/script ]; then
    /bin/fzguest /fz/script
fi
echo FZEXIT
poweroff -f
