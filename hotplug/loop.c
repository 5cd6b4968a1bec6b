/*
 * Loop devices for file-backed disks: a free device from loop-control,
 * then the file configured on it in one LOOP_CONFIGURE (Linux 5.8), or
 * SET_FD + SET_STATUS64 where the kernel lacks it.  Autoclear: the device
 * lets go of the file when its last opener closes it, so a backend that
 * dies leaves no device bound; the kernel clears it at that last close,
 * so an autoclear device is handed over open (*fdp) or it would be gone
 * before the caller could use it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hotplug/hotplug.h"
#include "hotplug/private.h"

/* Tries a few times: another process may take the free device first. */
#define LOOP_TRIES 5

static int configure(int lfd, int ffd, const char *file, bool ro,
		     bool autoclear)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned)ffd;
	cfg.info.lo_flags = (autoclear ? LO_FLAGS_AUTOCLEAR : 0) |
			    (ro ? LO_FLAGS_READ_ONLY : 0);
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name),
		 "%s", file);
	if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
	/* An older kernel: the two-step way (read-only comes from ffd). */
	if (ioctl(lfd, LOOP_SET_FD, ffd) < 0)
		return -errno;
	if (ioctl(lfd, LOOP_SET_STATUS64, &cfg.info) < 0) {
		int rc = -errno;

		ioctl(lfd, LOOP_CLR_FD, 0);
		return rc;
	}
	return 0;
}

int hp_loop_attach(const char *file, unsigned flags, char *dev, size_t devlen,
		   int *fdp, char *msg, size_t msglen)
{
	bool ro = flags & HP_LOOP_READONLY;
	bool autoclear = flags & HP_LOOP_AUTOCLEAR;
	int ctl = -1, ffd = -1, lfd = -1, rc = 0;

	if (fdp)
		*fdp = -1;
	if ((flags & ~(HP_LOOP_READONLY | HP_LOOP_AUTOCLEAR)) ||
	    (autoclear && !fdp))
		return hp_fail(msg, msglen, -EINVAL, "loop: flags %#x%s", flags,
			       fdp ? "" : " (autoclear needs the device kept open)");
	ffd = open(file, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (ffd < 0) {
		rc = hp_fail(msg, msglen, -errno, "loop: %s", file);
		goto out;
	}
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		rc = hp_fail(msg, msglen, -errno, "loop: /dev/loop-control");
		goto out;
	}
	for (int i = 0; i < LOOP_TRIES; i++) {
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (n < 0) {
			rc = hp_fail(msg, msglen, -errno,
				     "loop: no free loop device");
			goto out;
		}
		if (snprintf(dev, devlen, "/dev/loop%d", n) >= (int)devlen) {
			rc = hp_fail(msg, msglen, -ENAMETOOLONG, "loop%d", n);
			goto out;
		}
		lfd = open(dev, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (lfd < 0) {
			rc = hp_fail(msg, msglen, -errno, "loop: %s", dev);
			goto out;
		}
		rc = configure(lfd, ffd, file, ro, autoclear);
		/* EBUSY: taken between GET_FREE and now; another one. */
		if (rc != -EBUSY)
			break;
		close(lfd);
		lfd = -1;
	}
	if (rc)
		hp_fail(msg, msglen, rc, "loop: %s on %s", file, dev);
	if (!rc && fdp) {
		*fdp = lfd;
		lfd = -1;
	}
out:
	if (lfd >= 0)
		close(lfd);
	if (ctl >= 0)
		close(ctl);
	if (ffd >= 0)
		close(ffd);
	return rc;
}

int hp_loop_detach(const char *dev, char *msg, size_t msglen)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return hp_fail(msg, msglen, -errno, "loop: %s", dev);
	if (ioctl(fd, LOOP_CLR_FD, 0) < 0)
		rc = hp_fail(msg, msglen, -errno, "loop: detaching %s", dev);
	close(fd);
	return rc;
}
