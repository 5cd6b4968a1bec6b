/*
 * blkback/disk.c: the backing store a device's `params` names, opened at
 * probe: a regular file or a block device, read-only when `mode` is r.
 *
 * O_DIRECT where the file system takes it (a probe read of one sector,
 * 512-aligned, as the frontend's segments are), else the page cache, said
 * once in the log.  Discard is offered where a hole can be punched, unless
 * the toolstack wrote discard-enable=0.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blkback/private.h"

/* Reads one sector through O_DIRECT at the alignment the rings give. */
static bool direct_works(int fd, uint64_t bytes)
{
	char *buf;
	bool ok;

	if (bytes < 2 * BLK_SECTOR)
		return false;
	buf = aligned_alloc(XENBUS_PAGE_SIZE, XENBUS_PAGE_SIZE);
	if (!buf)
		return false;
	ok = pread(fd, buf + BLK_SECTOR, BLK_SECTOR, BLK_SECTOR) ==
	     (ssize_t)BLK_SECTOR;
	free(buf);
	return ok;
}

/* A hole punched past the end of a file changes nothing and says whether
 * the file system can; a block device says so in sysfs. */
static bool can_punch(int fd, const struct stat *st, uint64_t bytes)
{
	char path[96], *v = NULL;
	unsigned long long max = 0;
	FILE *f;
	size_t n = 0;

	if (S_ISREG(st->st_mode))
		return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				 (off_t)bytes + XENBUS_PAGE_SIZE,
				 XENBUS_PAGE_SIZE) == 0;
	snprintf(path, sizeof(path),
		 "/sys/dev/block/%u:%u/queue/discard_max_bytes",
		 major(st->st_rdev), minor(st->st_rdev));
	f = fopen(path, "re");
	if (!f)
		return false;
	if (getline(&v, &n, f) > 0) {
		v[strcspn(v, "\n")] = '\0';
		parse_uint(v, UINT64_MAX, &max);
	}
	free(v);
	fclose(f);
	return max > 0;
}

static int open_store(struct xenbus_dev *dev, const char *params, bool rw,
		      struct blk_disk *d)
{
	int flags = (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	struct stat st;
	uint64_t bytes;
	int fd;

	fd = open(params, flags | O_DIRECT);
	if (fd < 0 && errno == EINVAL)	/* no O_DIRECT here at all */
		fd = open(params, flags);
	if (fd < 0)
		return xenbus_dev_error(dev, -errno, "params %s: %s", params,
					strerror(errno));
	if (fstat(fd, &st) < 0 ||
	    (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		close(fd);
		return xenbus_dev_error(dev, -EINVAL,
					"params %s: not a file or block device",
					params);
	}
	bytes = (uint64_t)st.st_size;
	d->physical_sector_size = BLK_SECTOR;
	if (S_ISBLK(st.st_mode)) {
		unsigned pbs = 0;

		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
			int rc = -errno;

			close(fd);
			return xenbus_dev_error(dev, rc, "params %s: size: %s",
						params, strerror(-rc));
		}
		if (ioctl(fd, BLKPBSZGET, &pbs) == 0 && pbs >= BLK_SECTOR &&
		    !(pbs & (pbs - 1)))
			d->physical_sector_size = pbs;
	} else if (bytes % XENBUS_PAGE_SIZE == 0) {
		d->physical_sector_size = XENBUS_PAGE_SIZE;
	}
	d->direct = direct_works(fd, bytes);
	if (!d->direct) {
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0 && (fl & O_DIRECT))
			fcntl(fd, F_SETFL, fl & ~O_DIRECT);
		elog(ELOG_INFO, "vbd %u/%s: %s: no O_DIRECT here, through the page cache",
		     xenbus_dev_domid(dev), xenbus_dev_id(dev), params);
	}
	d->fd = fd;
	d->lim.sectors = bytes / BLK_SECTOR;
	d->discard_granularity = st.st_blksize >= BLK_SECTOR &&
					 !(st.st_blksize & (st.st_blksize - 1))
				 ? (unsigned)st.st_blksize
				 : BLK_SECTOR;
	d->lim.discard = rw && can_punch(fd, &st, bytes);
	return 0;
}

int blk_disk_open(struct xenbus_dev *dev, struct blk_disk *d)
{
	char *params = NULL, *mode = NULL, *type = NULL;
	unsigned long long v;
	int rc;

	*d = (struct blk_disk){ .fd = -1 };
	rc = xenbus_dev_read(dev, XENBUS_BACKEND, "params", &params);
	if (rc < 0 || !params[0]) {
		rc = xenbus_dev_error(dev, rc < 0 ? rc : -EINVAL, "params: %s",
				      rc == -ENOENT || rc == 0 ? "missing"
							       : strerror(-rc));
		goto out;
	}
	rc = xenbus_dev_read(dev, XENBUS_BACKEND, "mode", &mode);
	if (rc == -ENOENT) {
		mode = strdup("w");
		rc = mode ? 0 : -ENOMEM;
	}
	if (rc < 0)
		goto out;
	if (strcmp(mode, "r") && strcmp(mode, "w")) {
		rc = xenbus_dev_error(dev, -EINVAL, "mode %.16s: not r or w",
				      mode);
		goto out;
	}
	d->lim.readonly = mode[0] == 'r';
	if (xenbus_dev_read(dev, XENBUS_BACKEND, "device-type", &type) == 0 &&
	    !strcmp(type, "cdrom"))
		d->cdrom = true;
	if (xenbus_dev_read_uint(dev, XENBUS_BACKEND, "removable", 1, &v) == 0)
		d->removable = v == 1;
	rc = open_store(dev, params, !d->lim.readonly, d);
	if (rc < 0)
		goto out;
	if (xenbus_dev_read_uint(dev, XENBUS_BACKEND, "discard-enable", 1,
				 &v) == 0 &&
	    v == 0)
		d->lim.discard = false;
	d->lim.max_segments = BLKBACK_MAX_INDIRECT_SEGMENTS;
	elog(ELOG_INFO, "vbd %u/%s: %s, %llu sectors, %s%s%s",
	     xenbus_dev_domid(dev), xenbus_dev_id(dev), params,
	     (unsigned long long)d->lim.sectors,
	     d->lim.readonly ? "read-only" : "read-write",
	     d->direct ? ", O_DIRECT" : "", d->lim.discard ? ", discard" : "");
out:
	free(params);
	free(mode);
	free(type);
	return rc;
}

void blk_disk_close(struct blk_disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}
