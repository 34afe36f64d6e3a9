/*
 * fzguest: the guest side of `fuzzcore validate`, a static binary run by the initramfs /init.
 *
 * Reads a script (one command a line) and runs it, printing one result line per command to
 * stdout (the serial console). The host writes the script (fuzzcore/validate/actors.py) and
 * reads QEMU's config-access trace; markers tie the two together: a config read of the host
 * bridge 00:00.0 at MARK_BEGIN (a program starts), MARK_OP (an op starts) or MARK_END (an op
 * ends), registers nothing else touches.
 *
 * Commands:
 *   dev BDF / port BDF        the device and its upstream port (dumps, vfio)
 *   begin NAME                program start marker; prints "BEGIN NAME"
 *   op N                      op start marker; prints "OP N"
 *   end                       op end marker; prints "END"
 *   dump                      prints "IMG dev|port OFF HEX" for every dword that changed since the
 *                             last dump (all of them the first time after `begin`)
 *   sysfs PATH VALUE          write VALUE to PATH
 *   proc LINE...              write LINE to /proc/fzhost, read the rc back
 *   waitrt BDF STATUS         poll power/runtime_status until it reads STATUS (<= 2 s)
 *   vfio_open / vfio_close    the device fd (open: vfio_pci_core_enable, close: _disable)
 *   vfio_cfgw OFF WIDTH VAL   a write into the config region
 *   vfio_bar BAR              a dword pread of BAR region BAR (0-5) at its last dword (offset +
 *                             size - 4; at the region's offset when its size is 0: no BAR, the upper
 *                             half of a 64-bit one, which the kernel refuses itself, -EINVAL); prints
 *                             "VFIOBAR BAR OFF VALUE" when the 4 bytes were read
 *   vfio_irqs INDEX COUNT     VFIO_DEVICE_SET_IRQS: INDEX none|intx|msi|msix
 *   vfio_reset                VFIO_DEVICE_RESET
 *   vfio_hotreset             VFIO_DEVICE_PCI_HOT_RESET over the device's own group
 *   vfio_lowpower ACTION      VFIO_DEVICE_FEATURE (SET) LOW_POWER_ENTRY (entry), LOW_POWER_ENTRY_WITH_
 *                             WAKEUP with a fresh eventfd (entry_wakeup) or LOW_POWER_EXIT (exit)
 *   reset BDF METHOD          reset_method <- METHOD, then reset <- 1 (only if the first worked),
 *                             then reset_method <- default
 *   bind BDF DRIVER           unbind, driver_override (vfio: vfio-pci, host: fzhost, none), probe
 *   cfgor BDF OFF BITS        a 16-bit config read-modify-write through sysfs (start state)
 *   sbr                       secondary bus reset of the port by config writes (between programs)
 *   aerinj BDF normal|frozen  an uncorrectable error through aer_inject: load /lib/fz/aer_inject.ko,
 *                             write a struct aer_error_inj for BDF (a non-fatal error for normal, a
 *                             fatal one for frozen, by the device's AER Severity register), wait
 *                             for the AER driver's "device recovery successful|failed", unload the
 *                             module (its simulated status registers go with it); RC 0 successful,
 *                             1 failed, -ETIMEDOUT none within 10 s; the kernel's messages meanwhile
 *                             are printed as "KMSG ..." lines
 *   pmsleep s2idle            a system sleep: "freeze" written to /sys/power/state (suspend-to-idle;
 *                             the write returns after the wake-up). Around it the PM core's debug
 *                             messages go to the console (pm_debug_messages, console loglevel 8;
 *                             the kernel runs with no_console_suspend): the host sees "PM:
 *                             suspend-to-idle" once every device is suspended and wakes the guest
 *                             with a key press (QMP send-key; the keyboard, serio0, is a wakeup
 *                             source: init.sh). Prints "FZSLEEP s2idle" first. RC: the write's
 *                             (0, or the suspend's error)
 *   pmsleep hibernate_thaw    hibernation's freeze and thaw: /sys/power/disk <- shutdown, "disk"
 *                             written to /sys/power/state. The kernel freezes every device, makes
 *                             the image, thaws them, then cannot write the image (the guest has no
 *                             swap: -ENODEV) and goes on. RC 0 when the kernel said "PM: thaw of
 *                             devices complete" and "Cannot find swap device", else the write's
 *                             error (-EIO if it succeeded)
 *   kftrace on                kprobes with stack traces on the config-write functions; after each
 *                             op's END the events are printed as "KF ..." lines
 *   sleep MS
 * Every command prints "RC <n>" (0 or -errno) after its own output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#define MARK_BEGIN 0xf8
#define MARK_OP 0xfc
#define MARK_END 0xf4
#define SYSPCI "/sys/bus/pci/devices/"

static char dev_bdf[32], port_bdf[32];
static uint8_t last_img[2][4096];
static int img_valid[2], img_len[2];
static int container = -1, group = -1, devfd = -1;
static uint64_t cfg_off;
static int irq_index = -1, irq_count;
static int efds[64];

#define TRACEFS "/sys/kernel/tracing/"
static int kftrace;

/* Kprobes on the config-write entry points, each event with a stack trace: which kernel
 * function made each write (`kftrace on`). pci_bus_write_config_* carry kernel writes,
 * pci_user_write_config_* the user's (sysfs, vfio). x86-64 argument registers. */
static const char *const kprobes[] = {
	"p:fzcfg/b1 pci_bus_write_config_byte devfn=%si:u32 pos=%dx:s32 val=%cx:u8",
	"p:fzcfg/b2 pci_bus_write_config_word devfn=%si:u32 pos=%dx:s32 val=%cx:u16",
	"p:fzcfg/b4 pci_bus_write_config_dword devfn=%si:u32 pos=%dx:s32 val=%cx:u32",
	"p:fzcfg/u1 pci_user_write_config_byte pos=%si:s32 val=%dx:u8",
	"p:fzcfg/u2 pci_user_write_config_word pos=%si:s32 val=%dx:u16",
	"p:fzcfg/u4 pci_user_write_config_dword pos=%si:s32 val=%dx:u32",
};

static int append_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static int write_file(const char *path, const char *val);

static int kftrace_on(void)
{
	static const char *const names[] = { "b1", "b2", "b4", "u1", "u2", "u4" };
	char path[160];
	unsigned int i;
	int rc;

	for (i = 0; i < sizeof(kprobes) / sizeof(kprobes[0]); i++) {
		rc = append_file(TRACEFS "kprobe_events", kprobes[i]);
		if (rc)
			return rc;
		snprintf(path, sizeof(path), TRACEFS "events/fzcfg/%s/trigger", names[i]);
		rc = write_file(path, "stacktrace");
		if (rc)
			return rc;
	}
	rc = write_file(TRACEFS "events/fzcfg/enable", "1");
	if (!rc)
		rc = write_file(TRACEFS "trace", "");
	if (!rc)
		kftrace = 1;
	return rc;
}

/* Print what the kprobes caught since the last call ("KF " lines) if `print`, then clear it. */
static void kftrace_flush(int print)
{
	char line[512];
	FILE *t;
	int fd;

	if (!kftrace)
		return;
	t = print ? fopen(TRACEFS "trace", "r") : NULL;
	if (t) {
		while (fgets(line, sizeof(line), t))
			if (line[0] != '#')
				printf("KF %s", line);
		fclose(t);
	}
	fd = open(TRACEFS "trace", O_WRONLY | O_TRUNC);
	if (fd >= 0)
		close(fd);
}

static void marker(int off)
{
	uint32_t v;
	int fd = open(SYSPCI "0000:00:00.0/config", O_RDONLY);

	if (fd >= 0) {
		if (pread(fd, &v, 4, off) != 4)
			perror("marker");
		close(fd);
	}
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return (int)n;
}

static void dump_one(int which, const char *bdf)
{
	char path[128];
	uint8_t img[4096];
	int fd, n, len, i;

	if (!bdf[0])
		return;
	snprintf(path, sizeof(path), SYSPCI "%s/config", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	/* The first dump reads it all; later ones up to the last non-zero dword of the first. */
	len = img_valid[which] ? img_len[which] : 4096;
	n = pread(fd, img, len, 0);
	close(fd);
	if (n <= 0)
		return;
	if (!img_valid[which]) {
		img_len[which] = 256;
		for (i = n - 4; i >= 256; i -= 4)
			if (img[i] | img[i + 1] | img[i + 2] | img[i + 3]) {
				img_len[which] = i + 4;
				break;
			}
	}
	if (!img_valid[which])
		printf("IMGSIZE %s %d\n", which ? "port" : "dev", n);
	for (i = 0; i + 4 <= n; i += 4) {
		/* deltas after the first dump; the first one leaves out zero dwords (IMGSIZE says
		 * how far it reaches), which keeps the console, and QEMU's trace of it, short */
		if (img_valid[which] && !memcmp(&last_img[which][i], &img[i], 4))
			continue;
		if (!img_valid[which] && !(img[i] | img[i + 1] | img[i + 2] | img[i + 3]))
			continue;
		printf("IMG %s %03x %02x%02x%02x%02x\n", which ? "port" : "dev", i,
		       img[i + 3], img[i + 2], img[i + 1], img[i]);
	}
	memcpy(last_img[which], img, n);
	img_valid[which] = 1;
}

static void print_resources(void)
{
	char path[128], line[128];
	FILE *r;

	snprintf(path, sizeof(path), SYSPCI "%s/resource", dev_bdf);
	r = fopen(path, "r");
	if (!r)
		return;
	while (fgets(line, sizeof(line), r)) {
		unsigned long long s, e, fl;

		if (sscanf(line, "%llx %llx %llx", &s, &e, &fl) == 3)
			printf("RES %llx %llx %llx\n", s, e, fl);
	}
	fclose(r);
}

static int vfio_open_dev(void)
{
	char path[160], link[160], *p;
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	ssize_t n;

	if (devfd >= 0)
		return -EBUSY;
	snprintf(path, sizeof(path), SYSPCI "%s/iommu_group", dev_bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	p = strrchr(link, '/');
	if (container < 0) {
		container = open("/dev/vfio/vfio", O_RDWR);
		if (container < 0)
			return -errno;
		snprintf(path, sizeof(path), "/dev/vfio/%s", p + 1);
		group = open(path, O_RDWR);
		if (group < 0)
			return -errno;
		if (ioctl(group, VFIO_GROUP_GET_STATUS, &gs) < 0)
			return -errno;
		if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
			return -errno;
		if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
			return -errno;
	}
	devfd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, dev_bdf);
	if (devfd < 0) {
		devfd = -1;
		return -errno;
	}
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		return -errno;
	cfg_off = ri.offset;
	irq_index = -1;
	return 0;
}

/* A user's read of a BAR region through the device fd (vfio_pci_rw -> vfio_pci_bar_rw): 4 bytes
 * at the BAR's last dword. A region of size 0 is read anyway: the kernel says -EINVAL, not us. */
static int vfio_bar_read(int bar)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri) };
	uint64_t off;
	uint32_t v;
	ssize_t n;

	if (devfd < 0)
		return -ENODEV;
	if (bar < 0 || bar > 5)
		return -EINVAL;
	ri.index = VFIO_PCI_BAR0_REGION_INDEX + bar;
	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		return -errno;
	off = ri.size ? ri.size - 4 : 0;
	n = pread(devfd, &v, 4, ri.offset + off);
	if (n != 4)
		return n < 0 ? -errno : -EIO;	/* a short read: vfio_pci_bar_rw never gives one here */
	printf("VFIOBAR %d %llx %08x\n", bar, (unsigned long long)off, v);
	return 0;
}

static void vfio_release_all(void)
{
	int i;

	if (devfd >= 0)
		close(devfd);
	devfd = -1;
	for (i = 0; i < 64; i++)
		if (efds[i] > 0) {
			close(efds[i]);
			efds[i] = 0;
		}
	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
	group = container = -1;
	irq_index = -1;
}

static int set_irqs(int index, int count)
{
	size_t sz = sizeof(struct vfio_irq_set) + 4 * (count > 0 ? count : 0);
	struct vfio_irq_set *s = calloc(1, sz);
	int i, rc = 0;

	s->argsz = sz;
	s->index = index;
	s->start = 0;
	s->count = count;
	if (count == 0) {
		s->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	} else {
		s->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		for (i = 0; i < count; i++) {
			if (efds[i] <= 0)
				efds[i] = eventfd(0, 0);
			((int32_t *)s->data)[i] = efds[i];
		}
	}
	if (ioctl(devfd, VFIO_DEVICE_SET_IRQS, s) < 0)
		rc = -errno;
	free(s);
	return rc;
}

static int vfio_irqs(const char *kind, int count)
{
	int index, rc;

	if (devfd < 0)
		return -ENODEV;
	if (irq_index >= 0) {
		rc = set_irqs(irq_index, 0);
		if (rc)
			return rc;
		irq_index = -1;
	}
	if (!strcmp(kind, "none"))
		return 0;
	if (!strcmp(kind, "intx")) {
		index = VFIO_PCI_INTX_IRQ_INDEX;
		count = 1;
	} else if (!strcmp(kind, "msi")) {
		index = VFIO_PCI_MSI_IRQ_INDEX;
	} else if (!strcmp(kind, "msix")) {
		index = VFIO_PCI_MSIX_IRQ_INDEX;
	} else {
		return -EINVAL;
	}
	rc = set_irqs(index, count);
	if (!rc) {
		irq_index = index;
		irq_count = count;
	}
	return rc;
}

/* The user's low-power entry as this client last asked for it: while it holds, the kernel
 * runtime-suspends the device after each access asynchronously (the ioctl's or vfio_pci_rw's
 * pm_runtime_put queues the idle check), so every vfio command waits for that suspend before it
 * reports (settle_low_power), as the model takes it within the op. wake_fd: the wake-up eventfd,
 * which the kernel signals when a resume ends the low-power state itself. */
static int lp_engaged, wake_fd = -1;

/* VFIO_DEVICE_FEATURE_LOW_POWER_*: the feature header, then for the wake-up variant its eventfd
 * (kept open until the next entry: the kernel holds its own reference to the context). */
static int vfio_low_power(const char *action)
{
	int rc;
	struct {
		struct vfio_device_feature hdr;
		struct vfio_device_low_power_entry_with_wakeup wake;
	} f;

	if (devfd < 0)
		return -ENODEV;
	memset(&f, 0, sizeof(f));
	f.hdr.argsz = sizeof(f.hdr);
	f.hdr.flags = VFIO_DEVICE_FEATURE_SET;
	if (!strcmp(action, "entry")) {
		f.hdr.flags |= VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY;
	} else if (!strcmp(action, "entry_wakeup")) {
		if (wake_fd >= 0)
			close(wake_fd);
		wake_fd = eventfd(0, EFD_CLOEXEC);
		if (wake_fd < 0)
			return -errno;
		f.hdr.argsz = sizeof(f);
		f.hdr.flags |= VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
		f.wake.wakeup_eventfd = wake_fd;
	} else if (!strcmp(action, "exit")) {
		f.hdr.flags |= VFIO_DEVICE_FEATURE_LOW_POWER_EXIT;
	} else {
		return -EINVAL;
	}
	rc = ioctl(devfd, VFIO_DEVICE_FEATURE, &f) < 0 ? -errno : 0;
	if (!rc)
		lp_engaged = strcmp(action, "exit") != 0;
	return rc;
}

static int wait_runtime(const char *bdf, const char *want);

/* After a vfio command: a wake-up signalled means the kernel ended the low-power state; while it
 * holds, wait (<= 2 s) for the device's asynchronous runtime suspend. */
static void settle_low_power(void)
{
	struct pollfd p = { .fd = wake_fd, .events = POLLIN };
	uint64_t n;

	if (!lp_engaged || devfd < 0)
		return;
	if (wake_fd >= 0 && poll(&p, 1, 0) == 1 && read(wake_fd, &n, sizeof(n)) == sizeof(n)) {
		lp_engaged = 0;
		return;
	}
	wait_runtime(dev_bdf, "suspended");
}

static int vfio_hot_reset(void)
{
	struct vfio_pci_hot_reset_info *info;
	struct vfio_pci_hot_reset *hr;
	int rc = 0;

	if (devfd < 0)
		return -ENODEV;
	info = calloc(1, sizeof(*info) + 8 * sizeof(struct vfio_pci_dependent_device));
	info->argsz = sizeof(*info) + 8 * sizeof(struct vfio_pci_dependent_device);
	if (ioctl(devfd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) < 0) {
		rc = -errno;
		free(info);
		return rc;
	}
	free(info);
	settle_low_power();		/* the INFO ioctl's put, as the model takes it */
	hr = calloc(1, sizeof(*hr) + sizeof(int32_t));
	hr->argsz = sizeof(*hr) + sizeof(int32_t);
	hr->count = 1;
	hr->group_fds[0] = group;
	if (ioctl(devfd, VFIO_DEVICE_PCI_HOT_RESET, hr) < 0)
		rc = -errno;
	free(hr);
	return rc;
}

/* struct aer_error_inj of drivers/pci/pcie/aer_inject.c (not in a uapi header): three u8, then
 * naturally aligned u32s, 32 bytes; aer_inject_write takes it whole. */
struct aer_error_inj {
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
	uint32_t uncor_status;
	uint32_t cor_status;
	uint32_t header_log0;
	uint32_t header_log1;
	uint32_t header_log2;
	uint32_t header_log3;
	uint32_t domain;
};
_Static_assert(sizeof(struct aer_error_inj) == 32, "aer_error_inj layout");

#define PCI_EXT_CAP_ID_ERR 0x01
#define PCI_ERR_UNCOR_MASK 0x08
#define PCI_ERR_UNCOR_SEVER 0x0c
/* Candidates, in order: fatal by default (Data Link Protocol, Surprise Down, Flow Control,
 * Receiver Overflow, Malformed TLP) and non-fatal by default (Completion Timeout, Completer
 * Abort, Unexpected Completion, Poisoned TLP); the one used must have the severity the device's
 * AER Severity register gives it, since that is what aer_inject and the AER driver read. */
static const int fatal_bits[] = { 4, 5, 13, 17, 18 };
static const int nonfatal_bits[] = { 14, 15, 16, 12 };

static int aer_cap(int fd)
{
	uint32_t h;
	int pos = 0x100, n;

	for (n = 0; n < 64 && pos >= 0x100; n++) {
		if (pread(fd, &h, 4, pos) != 4 || h == 0 || h == 0xffffffff)
			return 0;
		if ((h & 0xffff) == PCI_EXT_CAP_ID_ERR)
			return pos;
		pos = (h >> 20) & 0xffc;
	}
	return 0;
}

static void msleep(int ms);

/* Fill `einj` for BDF with one uncorrectable error of the severity `fatal` asks for. */
static int aer_error_for(const char *bdf, int fatal, struct aer_error_inj *einj)
{
	char path[128];
	unsigned int dom, bus, slot, fn;
	uint32_t sever, mask;
	const int *bits = fatal ? fatal_bits : nonfatal_bits;
	int nbits = fatal ? 5 : 4, fd, pos, i;

	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
		return -EINVAL;
	snprintf(path, sizeof(path), SYSPCI "%s/config", bdf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	pos = aer_cap(fd);
	if (!pos || pread(fd, &sever, 4, pos + PCI_ERR_UNCOR_SEVER) != 4 ||
	    pread(fd, &mask, 4, pos + PCI_ERR_UNCOR_MASK) != 4) {
		close(fd);
		return -EPROTONOSUPPORT;	/* no AER capability: aer_inject refuses it too */
	}
	close(fd);
	memset(einj, 0, sizeof(*einj));
	einj->domain = dom;
	einj->bus = bus;
	einj->dev = slot;
	einj->fn = fn;
	for (i = 0; i < nbits; i++) {
		uint32_t b = 1u << bits[i];

		if (!(mask & b) && !!(sever & b) == !!fatal) {
			einj->uncor_status = b;
			return 0;
		}
	}
	return -ERANGE;
}

static int aer_inject_error(const char *bdf, const char *channel)
{
	struct aer_error_inj einj;
	char rec[1024];
	int kmsg, fd, rc, i, fatal;
	ssize_t n;

	if (!strcmp(channel, "frozen"))
		fatal = 1;
	else if (!strcmp(channel, "normal"))
		fatal = 0;
	else
		return -EINVAL;
	rc = aer_error_for(bdf, fatal, &einj);
	if (rc)
		return rc;
	/* the kernel log from here on: the AER driver says how recovery ended */
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg < 0)
		return -errno;
	lseek(kmsg, 0, SEEK_END);
	fd = open("/lib/fz/aer_inject.ko", O_RDONLY);
	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		close(kmsg);
		return rc;
	}
	close(fd);
	fd = open("/dev/aer_inject", O_WRONLY);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (write(fd, &einj, sizeof(einj)) != (ssize_t)sizeof(einj))
		rc = -errno;
	close(fd);
	if (rc)
		goto out;
	/* Recovery runs in the AER IRQ thread: wait for its last word (pcie_do_recovery's
	 * "device recovery successful" or "... failed"). */
	rc = -ETIMEDOUT;
	for (i = 0; i < 1000 && rc == -ETIMEDOUT; ) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE)
				continue;	/* overwritten records: read on */
			msleep(10);
			i++;
			continue;
		}
		rec[n] = 0;
		/* the kernel's own account of the recovery, on the console (the log level keeps it
		 * off there otherwise): "KMSG <record>" */
		if (n && rec[n - 1] == '\n')
			rec[n - 1] = 0;
		printf("KMSG %s\n", rec);
		if (strstr(rec, "AER: device recovery successful"))
			rc = 0;
		else if (strstr(rec, "AER: device recovery failed"))
			rc = 1;
	}
	printf("AERINJ %08x %s\n", einj.uncor_status, rc == 0 ? "successful" : rc == 1 ? "failed" : "timeout");
out:
	/* unloading drops aer_inject's simulated AER registers and puts the buses' pci_ops back */
	if (syscall(SYS_delete_module, "aer_inject", O_NONBLOCK) < 0 && !rc)
		rc = -errno;
	close(kmsg);
	return rc;
}

/* A system sleep and the wake-up: see "pmsleep" in the header. */
static int system_sleep(const char *transition)
{
	char printk[64] = "", dbg[8] = "", disk[128] = "", rec[1024];
	int hibernate, rc, kmsg = -1, thawed = 0, noswap = 0;
	ssize_t n;

	if (!strcmp(transition, "hibernate_thaw"))
		hibernate = 1;
	else if (!strcmp(transition, "s2idle"))
		hibernate = 0;
	else
		return -EINVAL;
	if (read_file("/proc/sys/kernel/printk", printk, sizeof(printk)) < 0 ||
	    read_file("/sys/power/pm_debug_messages", dbg, sizeof(dbg)) < 0)
		return -ENOENT;
	printk[strcspn(printk, " \t\n")] = 0;	/* the console loglevel, the first field */
	dbg[strcspn(dbg, "\n")] = 0;
	if (hibernate) {
		/* the mode in brackets, to put back: "[platform] shutdown reboot ..." */
		if (read_file("/sys/power/disk", disk, sizeof(disk)) < 0)
			return -ENOENT;
		if (strchr(disk, '['))
			memmove(disk, strchr(disk, '[') + 1, strlen(strchr(disk, '[')));
		disk[strcspn(disk, "]")] = 0;
		/* shutdown: no platform (ACPI S4) callbacks around the image */
		rc = write_file("/sys/power/disk", "shutdown");
		if (rc)
			return rc;
		kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
		if (kmsg < 0)
			return -errno;
		lseek(kmsg, 0, SEEK_END);
	}
	rc = write_file("/sys/power/pm_debug_messages", "1");
	if (!rc)
		rc = write_file("/proc/sys/kernel/printk", "8");
	if (rc)
		goto out;
	printf("FZSLEEP %s\n", transition);
	fflush(stdout);
	rc = write_file("/sys/power/state", hibernate ? "disk" : "freeze");
	write_file("/proc/sys/kernel/printk", printk);
	write_file("/sys/power/pm_debug_messages", dbg);
	if (!hibernate)
		return rc;
	/* the kernel's account: the devices were thawed, and the image had nowhere to go */
	while ((n = read(kmsg, rec, sizeof(rec) - 1)) != 0) {
		if (n < 0) {
			if (errno == EPIPE)
				continue;
			break;		/* EAGAIN: all read */
		}
		rec[n] = 0;
		if (strstr(rec, "PM: thaw of devices complete"))
			thawed = 1;
		if (strstr(rec, "Cannot find swap device"))
			noswap = 1;
	}
	printf("HIBERNATE thawed=%d noswap=%d rc=%d\n", thawed, noswap, rc);
	if (rc == -ENODEV && thawed && noswap)
		rc = 0;
	else if (!rc)
		rc = -EIO;	/* an image was written: not what the op means */
out:
	if (hibernate) {
		write_file("/sys/power/disk", disk);
		close(kmsg);
	}
	return rc;
}

static int proc_cmd(const char *line)
{
	char buf[32];
	int rc = write_file("/proc/fzhost", line);

	if (rc)
		return rc;
	rc = read_file("/proc/fzhost", buf, sizeof(buf));
	if (rc < 0)
		return rc;
	return atoi(buf);
}

static void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int wait_runtime(const char *bdf, const char *want)
{
	char path[160], buf[64];
	int i;

	snprintf(path, sizeof(path), SYSPCI "%s/power/runtime_status", bdf);
	for (i = 0; i < 200; i++) {
		if (read_file(path, buf, sizeof(buf)) > 0 && !strncmp(buf, want, strlen(want)))
			return 0;
		msleep(10);
	}
	return -ETIMEDOUT;
}

static int reset_function(const char *bdf, const char *method)
{
	char path[160];
	int rc;

	snprintf(path, sizeof(path), SYSPCI "%s/reset_method", bdf);
	rc = write_file(path, method);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), SYSPCI "%s/reset", bdf);
	rc = write_file(path, "1");
	/* The method asked for is for this reset only: back to the device's default list. */
	snprintf(path, sizeof(path), SYSPCI "%s/reset_method", bdf);
	write_file(path, "default");
	return rc;
}

static int bind_driver(const char *bdf, const char *driver)
{
	char path[160];
	int rc;

	if (devfd >= 0)
		return -EBUSY;	/* vfio-pci's remove would wait for the open device */
	snprintf(path, sizeof(path), SYSPCI "%s/driver/unbind", bdf);
	if (access(path, F_OK) == 0) {
		rc = write_file(path, bdf);
		if (rc)
			return rc;
	}
	if (!strcmp(driver, "vfio"))
		driver = "vfio-pci";
	else if (!strcmp(driver, "host"))
		driver = "fzhost";
	else
		driver = "none";
	snprintf(path, sizeof(path), SYSPCI "%s/driver_override", bdf);
	rc = write_file(path, driver);
	if (rc || !strcmp(driver, "none"))
		return rc;
	return write_file("/sys/bus/pci/drivers_probe", bdf);
}

static int cfg_or(const char *bdf, const char *off_s, const char *bits_s)
{
	char path[128];
	unsigned long off = strtoul(off_s, NULL, 0), bits = strtoul(bits_s, NULL, 0);
	uint16_t v;
	int fd, rc = 0;

	snprintf(path, sizeof(path), SYSPCI "%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	if (pread(fd, &v, 2, off) != 2)
		rc = -EIO;
	else if ((v | bits) != v) {
		v |= bits;
		if (pwrite(fd, &v, 2, off) != 2)
			rc = -EIO;
	}
	close(fd);
	return rc;
}

static int port_sbr(void)
{
	char path[128];
	uint16_t ctl;
	int fd, rc = 0;

	snprintf(path, sizeof(path), SYSPCI "%s/config", port_bdf);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	if (pread(fd, &ctl, 2, 0x3e) != 2)
		rc = -EIO;
	ctl |= 0x40;
	if (!rc && pwrite(fd, &ctl, 2, 0x3e) != 2)
		rc = -EIO;
	msleep(2);
	ctl &= ~0x40;
	if (!rc && pwrite(fd, &ctl, 2, 0x3e) != 2)
		rc = -EIO;
	close(fd);
	msleep(100);
	return rc;
}

int main(int argc, char **argv)
{
	FILE *f = argc > 1 ? fopen(argv[1], "r") : stdin;
	char line[512], a[256], b[256];
	int rc, n;

	if (!f) {
		perror(argv[1]);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), f)) {
		char *cmd = strtok(line, " \n");
		char *rest = strtok(NULL, "\n");

		if (!cmd || cmd[0] == '#')
			continue;
		a[0] = b[0] = 0;
		if (rest)
			sscanf(rest, "%255s %255s", a, b);
		rc = 0;
		if (!strcmp(cmd, "dev")) {
			snprintf(dev_bdf, sizeof(dev_bdf), "%s", a);
		} else if (!strcmp(cmd, "port")) {
			snprintf(port_bdf, sizeof(port_bdf), "%s", a);
		} else if (!strcmp(cmd, "begin")) {
			img_valid[0] = img_valid[1] = 0;
			marker(MARK_BEGIN);
			printf("BEGIN %s\n", a);
			print_resources();
		} else if (!strcmp(cmd, "op")) {
			kftrace_flush(0);	/* whatever came before the op is not the op's */
			marker(MARK_OP);
			printf("OP %s\n", a);
		} else if (!strcmp(cmd, "end")) {
			marker(MARK_END);
			printf("END\n");
			kftrace_flush(1);
		} else if (!strcmp(cmd, "dump")) {
			dump_one(0, dev_bdf);
			dump_one(1, port_bdf);
		} else if (!strcmp(cmd, "sysfs")) {
			rc = write_file(a, b);
		} else if (!strcmp(cmd, "proc")) {
			rc = proc_cmd(rest ? rest : "");
		} else if (!strcmp(cmd, "waitrt")) {
			rc = wait_runtime(a, b);
		} else if (!strcmp(cmd, "vfio_open")) {
			rc = vfio_open_dev();
		} else if (!strcmp(cmd, "vfio_close")) {
			rc = devfd >= 0 ? 0 : -ENODEV;
			vfio_release_all();
			lp_engaged = 0;		/* vfio_pci_core_disable: vfio_pci_runtime_pm_exit */
		} else if (!strcmp(cmd, "vfio_cfgw")) {
			unsigned long off = strtoul(a, NULL, 0), w = 0, v = 0;
			char c[64] = "";

			if (rest)
				sscanf(rest, "%*s %lu %63s", &w, c);
			v = strtoul(c, NULL, 0);
			if (devfd < 0)
				rc = -ENODEV;
			else if (pwrite(devfd, &v, w, cfg_off + off) != (ssize_t)w)
				rc = -errno;
		} else if (!strcmp(cmd, "vfio_bar")) {
			rc = vfio_bar_read(a[0] ? atoi(a) : -1);
		} else if (!strcmp(cmd, "vfio_irqs")) {
			rc = vfio_irqs(a, atoi(b));
		} else if (!strcmp(cmd, "vfio_reset")) {
			rc = devfd < 0 ? -ENODEV : (ioctl(devfd, VFIO_DEVICE_RESET) < 0 ? -errno : 0);
		} else if (!strcmp(cmd, "vfio_hotreset")) {
			rc = vfio_hot_reset();
		} else if (!strcmp(cmd, "vfio_lowpower")) {
			rc = vfio_low_power(a);
		} else if (!strcmp(cmd, "reset")) {
			rc = reset_function(a, b);
		} else if (!strcmp(cmd, "bind")) {
			rc = bind_driver(a, b);
		} else if (!strcmp(cmd, "cfgor")) {
			char c[64] = "";

			if (rest)
				sscanf(rest, "%*s %*s %63s", c);
			rc = cfg_or(a, b, c);
		} else if (!strcmp(cmd, "sbr")) {
			rc = port_sbr();
		} else if (!strcmp(cmd, "aerinj")) {
			rc = aer_inject_error(a, b);
		} else if (!strcmp(cmd, "pmsleep")) {
			rc = system_sleep(a);
		} else if (!strcmp(cmd, "kftrace")) {
			rc = kftrace_on();
		} else if (!strcmp(cmd, "sleep")) {
			msleep(atoi(a));
		} else {
			rc = -ENOSYS;
		}
		if (!strncmp(cmd, "vfio_", 5))
			settle_low_power();
		n = printf("RC %d\n", rc);
		(void)n;
	}
	printf("DONE\n");
	return 0;
}
