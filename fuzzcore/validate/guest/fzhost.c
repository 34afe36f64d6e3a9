// SPDX-License-Identifier: GPL-2.0
/*
 * fzhost: the test host driver of `fuzzcore validate`.
 *
 * A PCI driver that binds only through driver_override, and a /proc/fzhost file through which the
 * guest runner calls the kernel functions a driver calls and userspace cannot reach:
 *
 *   echo "OP DDDD:BB:DD.F [ARG]" > /proc/fzhost ; cat /proc/fzhost   -> "rc\n"
 *
 *   save          pci_save_state()                 (device bound to fzhost, else -EPERM)
 *   restore       pci_restore_state()              (bound, else -EPERM)
 *   msix N        pci_alloc_irq_vectors(1, N, MSIX) + request_irq() per vector (bound, else -EINVAL)
 *   msi           pci_alloc_irq_vectors(1, 1, MSI) + request_irq()
 *   nomsix/nomsi  free_irq() per vector + pci_free_irq_vectors()
 *   power S       pci_set_power_state(S), S = d0 | d3hot | d3cold
 *   resetbus      pci_reset_bus()
 *   ats STU       pci_enable_ats(12 + STU)          noats  pci_disable_ats()   (bound, else -EPERM:
 *                 the IOMMU code does it for a bound driver)
 *   vote V        the vote of the next AER recovery: error_detected returns V = can_recover |
 *                 need_reset | disconnect; V = no_aer_driver takes the driver's err_handler away
 *                 (report_error_detected then votes PCI_ERS_RESULT_NO_AER_DRIVER itself)
 *
 * probe: pci_enable_device() + pci_set_master(), as the model's "host driver probe" step;
 * remove: the vectors freed, pci_disable_device().
 *
 * Error recovery (pci_error_handlers), what the policy's [driver.*] callbacks do (a well-behaved
 * driver, as igb does): error_detected disables the device when it asks for a reset (not on
 * pci_channel_io_perm_failure) and returns the vote set by `vote`; no mmio_enabled; slot_reset
 * re-enables the device (pci_enable_device, pci_set_master), restores the saved state and returns
 * RECOVERED; resume does nothing.
 *
 * Runtime PM: empty runtime_suspend/runtime_resume callbacks, and probe drops the usage count
 * the PCI core holds for it (pm_runtime_put_noidle), so `power/control` = auto lets the PCI
 * core's pci_pm_runtime_suspend run (save, D3hot) and `on` its pci_pm_runtime_resume.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-ats.h>
#include <linux/proc_fs.h>
#include <linux/interrupt.h>
#include <linux/uaccess.h>
#include <linux/mutex.h>
#include <linux/pm_runtime.h>

#define FZ_MAX_VEC 32

struct fz_dev {
	struct pci_dev *pdev;
	int nvec;
	int kind;		/* 0 none, 1 msi, 2 msix */
};

static DEFINE_MUTEX(fz_lock);
static long fz_last_rc;
static struct pci_driver fzhost_driver;

static irqreturn_t fz_irq(int irq, void *data)
{
	return IRQ_NONE;
}

static void fz_free_vectors(struct fz_dev *fd)
{
	int i;

	if (!fd->kind)
		return;
	for (i = 0; i < fd->nvec; i++)
		free_irq(pci_irq_vector(fd->pdev, i), fd);
	pci_free_irq_vectors(fd->pdev);
	fd->kind = 0;
	fd->nvec = 0;
}

static int fz_alloc_vectors(struct fz_dev *fd, int n, unsigned int flags, int kind)
{
	int i, rc;

	if (fd->kind)
		return -EINVAL;
	/* a driver's usual call: at least one, at most n (the model's op takes as many as the
	 * table has, up to n) */
	rc = pci_alloc_irq_vectors(fd->pdev, 1, n, flags);
	if (rc < 0)
		return rc;
	fd->nvec = rc;
	fd->kind = kind;
	for (i = 0; i < fd->nvec; i++) {
		rc = request_irq(pci_irq_vector(fd->pdev, i), fz_irq, 0, "fzhost", fd);
		if (rc) {
			while (--i >= 0)
				free_irq(pci_irq_vector(fd->pdev, i), fd);
			pci_free_irq_vectors(fd->pdev);
			fd->kind = 0;
			fd->nvec = 0;
			return rc;
		}
	}
	return 0;
}

static int fz_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct fz_dev *fd;
	int rc;

	fd = kzalloc(sizeof(*fd), GFP_KERNEL);
	if (!fd)
		return -ENOMEM;
	fd->pdev = pdev;
	rc = pci_enable_device(pdev);
	if (rc) {
		kfree(fd);
		return rc;
	}
	pci_set_master(pdev);
	pci_set_drvdata(pdev, fd);
	pm_runtime_put_noidle(&pdev->dev);
	return 0;
}

static void fz_remove(struct pci_dev *pdev)
{
	struct fz_dev *fd = pci_get_drvdata(pdev);

	pm_runtime_get_noresume(&pdev->dev);
	pci_disable_sriov(pdev);	/* a PF driver's VFs off first, as the model's remove (igb_remove) */
	fz_free_vectors(fd);
	pci_disable_device(pdev);
	pci_set_drvdata(pdev, NULL);
	kfree(fd);
}

static int fz_runtime_suspend(struct device *dev)
{
	return 0;
}

static int fz_runtime_resume(struct device *dev)
{
	return 0;
}

static pci_ers_result_t fz_vote = PCI_ERS_RESULT_CAN_RECOVER;

static pci_ers_result_t fz_error_detected(struct pci_dev *pdev, pci_channel_state_t state)
{
	/* [driver.error_detected]: igb_io_error_detected disables before asking for a reset */
	if (fz_vote == PCI_ERS_RESULT_NEED_RESET && state != pci_channel_io_perm_failure)
		pci_disable_device(pdev);
	return fz_vote;			/* the op's vote */
}

static pci_ers_result_t fz_slot_reset(struct pci_dev *pdev)
{
	/* [driver.slot_reset]: igb_io_slot_reset's order */
	if (pci_enable_device(pdev))
		return PCI_ERS_RESULT_DISCONNECT;
	pci_set_master(pdev);
	pci_restore_state(pdev);
	return PCI_ERS_RESULT_RECOVERED;
}

static void fz_resume(struct pci_dev *pdev)
{
}

static const struct pci_error_handlers fz_err_handlers = {
	.error_detected = fz_error_detected,
	.slot_reset = fz_slot_reset,
	.resume = fz_resume,
};

static const struct dev_pm_ops fz_pm_ops = {
	SET_RUNTIME_PM_OPS(fz_runtime_suspend, fz_runtime_resume, NULL)
};

static struct pci_driver fzhost_driver = {
	.name = "fzhost",
	.driver.pm = &fz_pm_ops,
	.err_handler = &fz_err_handlers,
	.id_table = NULL,
	.probe = fz_probe,
	.remove = fz_remove,
	.sriov_configure = pci_sriov_configure_simple,	/* as nvme's own driver (drivers/nvme/host/pci.c) */
};

static long fz_run(const char *op, struct pci_dev *pdev, const char *arg)
{
	struct fz_dev *fd = NULL;
	unsigned int n = 0;

	if (pdev->driver == &fzhost_driver)
		fd = pci_get_drvdata(pdev);

	if (!strcmp(op, "save"))
		return fd ? pci_save_state(pdev) : -EPERM;
	if (!strcmp(op, "restore")) {
		if (!fd)
			return -EPERM;
		pci_restore_state(pdev);
		return 0;
	}
	if (!strcmp(op, "msix")) {
		if (!fd || kstrtouint(arg, 0, &n) || !n || n > FZ_MAX_VEC)
			return -EINVAL;
		return fz_alloc_vectors(fd, n, PCI_IRQ_MSIX, 2);
	}
	if (!strcmp(op, "msi"))
		return fd ? fz_alloc_vectors(fd, 1, PCI_IRQ_MSI, 1) : -EINVAL;
	if (!strcmp(op, "nomsix") || !strcmp(op, "nomsi")) {
		if (!fd)
			return -EINVAL;
		if (fd->kind == (strcmp(op, "nomsix") ? 1 : 2))
			fz_free_vectors(fd);
		return 0;
	}
	if (!strcmp(op, "power")) {
		if (!strcmp(arg, "d0"))
			return pci_set_power_state(pdev, PCI_D0);
		if (!strcmp(arg, "d3hot"))
			return pci_set_power_state(pdev, PCI_D3hot);
		if (!strcmp(arg, "d3cold"))
			return pci_set_power_state(pdev, PCI_D3cold);
		return -EINVAL;
	}
	if (!strcmp(op, "resetbus"))
		return pci_reset_bus(pdev);
	if (!strcmp(op, "ats")) {
		if (!fd)
			return -EPERM;
		if (kstrtouint(arg, 0, &n) || n > 3)
			return -EINVAL;
		return pci_enable_ats(pdev, 12 + n);
	}
	if (!strcmp(op, "noats")) {
		if (!fd)
			return -EPERM;
		if (!pdev->ats_enabled)
			return -EINVAL;
		pci_disable_ats(pdev);
		return 0;
	}
	if (!strcmp(op, "vote")) {
		if (!strcmp(arg, "no_aer_driver")) {
			fzhost_driver.err_handler = NULL;
			return 0;
		}
		if (!strcmp(arg, "can_recover"))
			fz_vote = PCI_ERS_RESULT_CAN_RECOVER;
		else if (!strcmp(arg, "need_reset"))
			fz_vote = PCI_ERS_RESULT_NEED_RESET;
		else if (!strcmp(arg, "disconnect"))
			fz_vote = PCI_ERS_RESULT_DISCONNECT;
		else
			return -EINVAL;
		fzhost_driver.err_handler = &fz_err_handlers;
		return 0;
	}
	return -EOPNOTSUPP;
}

static ssize_t fz_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[96], op[16] = "", bdf[20] = "", arg[16] = "";
	unsigned int dom, bus, slot, fn;
	struct pci_dev *pdev;
	long rc;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (sscanf(buf, "%15s %19s %15s", op, bdf, arg) < 2)
		return -EINVAL;
	if (sscanf(bdf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
		return -EINVAL;
	pdev = pci_get_domain_bus_and_slot(dom, bus, PCI_DEVFN(slot, fn));
	if (!pdev)
		return -ENODEV;
	mutex_lock(&fz_lock);
	rc = fz_run(op, pdev, arg);
	fz_last_rc = rc;
	mutex_unlock(&fz_lock);
	pci_dev_put(pdev);
	return len;
}

static ssize_t fz_read(struct file *file, char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[24];
	int n = scnprintf(buf, sizeof(buf), "%ld\n", fz_last_rc);

	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct proc_ops fz_proc_ops = {
	.proc_write = fz_write,
	.proc_read = fz_read,
};

static int __init fz_init(void)
{
	int rc = pci_register_driver(&fzhost_driver);

	if (rc)
		return rc;
	if (!proc_create("fzhost", 0600, NULL, &fz_proc_ops)) {
		pci_unregister_driver(&fzhost_driver);
		return -ENOMEM;
	}
	return 0;
}

static void __exit fz_exit(void)
{
	remove_proc_entry("fzhost", NULL);
	pci_unregister_driver(&fzhost_driver);
}

module_init(fz_init);
module_exit(fz_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("fuzzcore validate: test host driver");
