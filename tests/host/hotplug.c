/*
 * hotplug/ on this host, in a network namespace of the test's own (links
 * made here vanish with it) and a private mount of /sys showing it.  What
 * the library did is read back from the kernel (sysfs, tc's own dump, the
 * loop device's data), not from the library.  Root only.
 *
 *   tests/host/hotplug [WORKDIR]      (TAP lines, "ok - host: hotplug: ...")
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hotplug/hotplug.h"
#include "tests/host/hotplug_test.h"

static int failed;
static char work[256];
char msg[512];

void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%sok - host: hotplug: %s", ok ? "" : "not ", name);
	if (!ok) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		failed = 1;
	}
	printf("\n");
	fflush(stdout);
}

/* The first line of a file (sysfs), "" when it cannot be read. */
const char *sys(const char *fmt, ...)
{
	static char line[256];
	char path[256];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	line[0] = '\0';
	f = fopen(path, "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		fclose(f);
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The master of dev ("" for none). */
static const char *master(const char *dev)
{
	static char buf[64];
	char path[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/master", dev);
	n = readlink(path, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
}

bool is_up(const char *dev)
{
	return strtoul(sys("/sys/class/net/%s/flags", dev), NULL, 16) & IFF_UP;
}

/* What `tc ARGS` prints: the kernel's own dump, not ours.  HOTPLUG_TEST_TC
 * names iproute2's tc where a shell would prefer another (busybox's). */
const char *tc(const char *args)
{
	static char out[4096];
	const char *bin = getenv("HOTPLUG_TEST_TC");
	char cmd[256];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", bin && *bin ? bin : "tc", args);
	p = popen(cmd, "r");

	out[0] = '\0';
	if (!p)
		return out;
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

/* A queue of tap name opened as netback and QEMU open one: fd or -errno. */
static int open_queue(const char *name, bool mq)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
			(mq ? IFF_MULTI_QUEUE : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static void links(void)
{
	int rc, q1, q2;

	rc = hp_bridge_create("hpbr0", msg, sizeof(msg));
	check(rc == 0 && exists("/sys/class/net/hpbr0/bridge"),
	      "bridge create (sysfs shows a bridge)", "rc %d: %s", rc, msg);
	rc = hp_bridge_create("hpbr0", msg, sizeof(msg));
	check(rc == -EEXIST, "bridge create of a taken name is -EEXIST",
	      "rc %d", rc);
	rc = hp_bridge_create("abcdefghijklmnopq", msg, sizeof(msg));
	check(rc == -ENAMETOOLONG, "a name over IFNAMSIZ is -ENAMETOOLONG",
	      "rc %d", rc);

	rc = hp_tap_create("vif7.0", HP_TAP_VNET_HDR | HP_TAP_MULTI_QUEUE,
			   msg, sizeof(msg));
	check(rc == 0 && exists("/sys/class/net/vif7.0"),
	      "persistent tap outlives its creator", "rc %d: %s", rc, msg);
	check(strtoul(sys("/sys/class/net/vif7.0/tun_flags"), NULL, 16) ==
		      (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE |
		       IFF_PERSIST),
	      "tap flags TAP|NO_PI|VNET_HDR|MULTI_QUEUE|PERSIST",
	      "tun_flags %s", sys("/sys/class/net/vif7.0/tun_flags"));
	q1 = open_queue("vif7.0", true);
	q2 = open_queue("vif7.0", true);
	check(q1 >= 0 && q2 >= 0, "two queues open on the multi-queue tap",
	      "%d %d", q1, q2);
	if (q1 >= 0)
		close(q1);
	if (q2 >= 0)
		close(q2);
	rc = hp_tap_create("vif7.1", HP_TAP_VNET_HDR, msg, sizeof(msg));
	q1 = open_queue("vif7.1", true);
	check(rc == 0 && q1 < 0, "a tap made without MULTI_QUEUE refuses a multi-queue open",
	      "rc %d, open %d", rc, q1);
	if (q1 >= 0)
		close(q1);
	rc = hp_tap_create("hpbr0", 0, msg, sizeof(msg));
	check(rc == -EEXIST, "tap over a bridge's name is -EEXIST", "rc %d", rc);
	rc = hp_tap_create("vif7.2", 0x80, msg, sizeof(msg));
	check(rc == -EINVAL, "unknown tap flags are -EINVAL", "rc %d", rc);

	rc = hp_link_set_mtu("hpbr0", 1400, msg, sizeof(msg));
	check(rc == 0 && !strcmp(sys("/sys/class/net/hpbr0/mtu"), "1400"),
	      "set MTU", "rc %d: %s; mtu %s", rc, msg,
	      sys("/sys/class/net/hpbr0/mtu"));
	rc = hp_link_set_mac("vif7.1", (const uint8_t[6]){ 0x02, 1, 2, 3, 4, 5 },
			     msg, sizeof(msg));
	check(rc == 0 && !strcmp(sys("/sys/class/net/vif7.1/address"),
				 "02:01:02:03:04:05"),
	      "set MAC", "rc %d: %s; %s", rc, msg,
	      sys("/sys/class/net/vif7.1/address"));
	rc = hp_link_set_master("vif7.1", "hpbr0", msg, sizeof(msg));
	check(rc == 0 && !strcmp(master("vif7.1"), "hpbr0"), "enslave to bridge",
	      "rc %d: %s; master '%s'", rc, msg, master("vif7.1"));
	rc = hp_link_set_master("vif7.1", NULL, msg, sizeof(msg));
	check(rc == 0 && !*master("vif7.1"), "release from bridge",
	      "rc %d: %s; master '%s'", rc, msg, master("vif7.1"));
	rc = hp_link_set_master("vif7.1", "vif7.0", msg, sizeof(msg));
	check(rc == -EINVAL && strstr(msg, "no bridge"),
	      "a master that is no bridge is refused, named", "rc %d: %s", rc,
	      msg);
	rc = hp_link_set_up("vif7.1", true, msg, sizeof(msg));
	check(rc == 0 && is_up("vif7.1"), "set up", "rc %d: %s", rc, msg);
	rc = hp_link_set_up("vif7.1", false, msg, sizeof(msg));
	check(rc == 0 && !is_up("vif7.1"), "set down", "rc %d: %s", rc, msg);
}

static void plumbing(void)
{
	int rc;

	rc = hp_vif_plumb("vif7.0", "hpbr0", 0, msg, sizeof(msg));
	check(rc == 0 && !strcmp(master("vif7.0"), "hpbr0") && is_up("vif7.0") &&
		      !strcmp(sys("/sys/class/net/vif7.0/address"),
			      "fe:ff:ff:ff:ff:ff") &&
		      !strcmp(sys("/sys/class/net/vif7.0/mtu"), "1400"),
	      "vif plumb: MAC fe:ff:ff:ff:ff:ff, the bridge's MTU, enslaved, up",
	      "rc %d: %s; master '%s' mtu %s", rc, msg, master("vif7.0"),
	      sys("/sys/class/net/vif7.0/mtu"));
	rc = hp_vif_unplumb("vif7.0", msg, sizeof(msg));
	check(rc == 0 && !*master("vif7.0") && !is_up("vif7.0"),
	      "vif unplumb: released and down", "rc %d: %s", rc, msg);
	rc = hp_vif_plumb("vif7.0", "hpbr0", 1300, msg, sizeof(msg));
	check(rc == 0 && !strcmp(sys("/sys/class/net/vif7.0/mtu"), "1300"),
	      "vif plumb: a given MTU wins over the bridge's", "rc %d: %s", rc,
	      msg);
	hp_vif_unplumb("vif7.0", NULL, 0);

	rc = hp_vif_plumb("vif7.0", "nobr9", 0, msg, sizeof(msg));
	check(rc == -ENODEV && strstr(msg, "nobr9") && !*master("vif7.0") &&
		      !is_up("vif7.0"),
	      "vif plumb onto a missing bridge: -ENODEV naming it, nothing done",
	      "rc %d: %s", rc, msg);
	/* Fails after the MAC: what was done is undone (down, no master). */
	rc = hp_vif_plumb("vif7.0", "hpbr0", 70000, msg, sizeof(msg));
	check(rc < 0 && !*master("vif7.0") && !is_up("vif7.0"),
	      "vif plumb failing half way leaves it released and down",
	      "rc %d: %s; master '%s'", rc, msg, master("vif7.0"));
	rc = hp_vif_unplumb("gone9", msg, sizeof(msg));
	check(rc == 0, "vif unplumb of a tap that is gone is done", "rc %d: %s",
	      rc, msg);
}

static void teardown(void)
{
	int rc = hp_link_delete("vif7.0", msg, sizeof(msg));

	check(rc == 0 && !exists("/sys/class/net/vif7.0"), "delete the tap",
	      "rc %d: %s", rc, msg);
	rc = hp_link_delete("vif7.0", msg, sizeof(msg));
	check(rc == -ENODEV, "delete of a link that is gone is -ENODEV", "rc %d",
	      rc);
	hp_link_delete("vif7.1", NULL, 0);
	rc = hp_link_delete("hpbr0", msg, sizeof(msg));
	check(rc == 0 && !exists("/sys/class/net/hpbr0"), "delete the bridge",
	      "rc %d: %s", rc, msg);
}

/* A file of 1 MiB with a pattern, its path into path. */
static int pattern_file(char *path, size_t len)
{
	char block[4096];
	int fd;

	snprintf(path, len, "%s/hp-loop.img", work);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < 256; i++) {
		memset(block, 'a' + i % 26, sizeof(block));
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block)) {
			close(fd);
			return -EIO;
		}
	}
	close(fd);
	return 0;
}

static const char *backing(const char *dev)
{
	return sys("/sys/block/%s/loop/backing_file", dev + 5);
}

static void loops(void)
{
	char file[300], dev[32], buf[4096];
	int rc, fd, lfd = -1;
	ssize_t n;

	if (pattern_file(file, sizeof(file))) {
		check(false, "loop: a test file", "%s: %s", file, strerror(errno));
		return;
	}
	rc = hp_loop_attach(file, 0, dev, sizeof(dev), NULL, msg, sizeof(msg));
	check(rc == 0 && !strncmp(dev, "/dev/loop", 9) &&
		      !strcmp(backing(dev), file),
	      "loop attach: /dev/loopN backed by the file", "rc %d: %s; %s", rc,
	      msg, rc ? "" : backing(dev));
	if (rc)
		return;
	fd = open(dev, O_RDWR | O_CLOEXEC);
	n = fd >= 0 ? pread(fd, buf, sizeof(buf), 4096 * 27) : -1;
	check(n == (ssize_t)sizeof(buf) && buf[0] == 'b' && buf[4095] == 'b',
	      "loop: the file's data read back through the device", "n %zd", n);
	memset(buf, 'Z', 512);
	n = fd >= 0 ? pwrite(fd, buf, 512, 0) : -1;
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	rc = hp_loop_detach(dev, msg, sizeof(msg));
	fd = open(file, O_RDONLY | O_CLOEXEC);
	check(n == 512 && fd >= 0 && pread(fd, buf, 1, 0) == 1 && buf[0] == 'Z',
	      "loop: a write through the device reaches the file", "n %zd", n);
	if (fd >= 0)
		close(fd);
	check(rc == 0 && !*backing(dev), "loop detach frees the device",
	      "rc %d: %s; backing '%s'", rc, msg, backing(dev));

	rc = hp_loop_attach(file, HP_LOOP_READONLY, dev, sizeof(dev), NULL, msg,
			    sizeof(msg));
	fd = rc ? -1 : open(dev, O_RDWR | O_CLOEXEC);
	n = fd >= 0 ? pwrite(fd, buf, 512, 0) : -1;
	check(rc == 0 && !strcmp(sys("/sys/block/%s/ro", dev + 5), "1") && n < 0,
	      "loop read-only: the device refuses writes", "rc %d: %s; wrote %zd",
	      rc, msg, n);
	if (fd >= 0)
		close(fd);
	if (!rc)
		hp_loop_detach(dev, NULL, 0);

	rc = hp_loop_attach(file, HP_LOOP_AUTOCLEAR, dev, sizeof(dev), NULL,
			    msg, sizeof(msg));
	check(rc == -EINVAL, "loop autoclear without a descriptor kept is refused",
	      "rc %d", rc);
	rc = hp_loop_attach(file, HP_LOOP_AUTOCLEAR, dev, sizeof(dev), &lfd, msg,
			    sizeof(msg));
	check(rc == 0 && lfd >= 0 && !strcmp(backing(dev), file),
	      "loop autoclear: bound while its descriptor is open", "rc %d: %s",
	      rc, msg);
	if (lfd >= 0)
		close(lfd);
	for (int i = 0; i < 50 && !rc && *backing(dev); i++)
		usleep(20000);
	check(rc == 0 && !*backing(dev), "loop autoclear: freed at the last close",
	      "backing '%s'", rc ? "" : backing(dev));
	rc = hp_loop_detach(dev, msg, sizeof(msg));
	check(rc == -ENXIO, "loop detach of a free device is -ENXIO", "rc %d", rc);
	unlink(file);
}

static int write_script(const char *name, const char *body, char *path,
			size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", work, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	return chmod(path, 0755) < 0 ? -errno : 0;
}

/* pid is gone, or a zombie its new parent has not reaped yet: dead. */
static bool dead(pid_t pid)
{
	const char *st = sys("/proc/%d/stat", (int)pid);
	const char *p = strrchr(st, ')');

	return kill(pid, 0) < 0 || (p && p[1] == ' ' && p[2] == 'Z');
}

static void scripts(void)
{
	char ok_sh[300], bad_sh[300], slow_sh[300], out[300], pidf[300];
	const char *env[] = { "XENBUS_TYPE=vif", "vif=vif7.0", "PATH=/usr/bin:/bin", NULL };
	char body[1024];
	long long t0;
	int rc, st = 0;
	FILE *f;
	pid_t child = 0;

	snprintf(out, sizeof(out), "%s/hp-script.out", work);
	snprintf(pidf, sizeof(pidf), "%s/hp-script.pid", work);
	snprintf(body, sizeof(body),
		 "echo \"$0 $* type=$XENBUS_TYPE vif=$vif\" > %s\n", out);
	write_script("hp-ok.sh", body, ok_sh, sizeof(ok_sh));
	write_script("hp-bad.sh",
		     "echo first line\necho to stderr >&2\necho last words\nexit 3\n",
		     bad_sh, sizeof(bad_sh));
	snprintf(body, sizeof(body), "sleep 30 &\necho $! > %s\nsleep 30\n", pidf);
	write_script("hp-slow.sh", body, slow_sh, sizeof(slow_sh));

	rc = hp_script_run((const char *[]){ ok_sh, "online", "type_if=vif", NULL },
			   env, 5000, &st, msg, sizeof(msg));
	snprintf(body, sizeof(body), "%s online type_if=vif type=vif vif=vif7.0",
		 ok_sh);
	f = fopen(out, "r");
	if (!f || !fgets(ok_sh, sizeof(ok_sh), f))
		ok_sh[0] = '\0';
	if (f)
		fclose(f);
	ok_sh[strcspn(ok_sh, "\n")] = '\0';
	check(rc == 0 && !strcmp(ok_sh, body), "script: argv and environment as given",
	      "rc %d: %s; it saw '%s'", rc, msg, ok_sh);

	rc = hp_script_run((const char *[]){ bad_sh, "online", NULL }, NULL, 5000,
			   &st, msg, sizeof(msg));
	check(rc == -EIO && WIFEXITED(st) && WEXITSTATUS(st) == 3 &&
		      strstr(msg, "exit status 3") && strstr(msg, "last words") &&
		      strstr(msg, "to stderr"),
	      "script failing: exit status and its output (stdout and stderr) in the message",
	      "rc %d: %s", rc, msg);

	t0 = time(NULL);
	rc = hp_script_run((const char *[]){ slow_sh, NULL }, NULL, 500, &st, msg,
			   sizeof(msg));
	f = fopen(pidf, "r");
	if (!f || fscanf(f, "%d", &child) != 1)
		child = 0;
	if (f)
		fclose(f);
	usleep(100000);
	check(rc == -ETIMEDOUT && time(NULL) - t0 < 10 && strstr(msg, "killed") &&
		      child > 0 && dead(child),
	      "script timeout: killed with what it started (its process group)",
	      "rc %d: %s; child %d %s", rc, msg, child,
	      child > 0 && !dead(child) ? "still alive" : "");
	rc = hp_script_run((const char *[]){ "relative.sh", NULL }, NULL, 500,
			   NULL, msg, sizeof(msg));
	check(rc == -EINVAL, "script: a relative path is refused", "rc %d", rc);
	unlink(out);
	unlink(pidf);
}

int main(int argc, char **argv)
{
	snprintf(work, sizeof(work), "%s", argc > 1 ? argv[1] : "/tmp");
	if (geteuid() != 0) {
		printf("not ok - host: hotplug: needs root (netlink, loop devices)\n");
		return 1;
	}
	/* A network of our own, and a /sys that shows it. */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL) < 0) {
		printf("not ok - host: hotplug: a network namespace of its own: %s\n",
		       strerror(errno));
		return 1;
	}
	links();
	plumbing();
	rate();
	teardown();
	loops();
	scripts();
	return failed;
}
