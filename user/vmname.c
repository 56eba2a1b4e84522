// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vmname.c - a human name for a VM, from its VMM's command line.
 *
 * The kernel only knows a VM as "<pid>-<fd>"; operators know it by the
 * name they gave the VMM.  Recognised, in the VMMs' own syntax:
 *
 *   QEMU      -name NAME[,process=P][,debug-threads=on]
 *             -name guest=NAME,debug-threads=on       (what libvirt passes)
 *             --name ...   (QEMU takes "--opt" for "-opt" everywhere)
 *   kvmtool   --name NAME, --name=NAME                 (git-style options)
 *
 * "-name=NAME" is not accepted: QEMU looks options up by their whole text
 * and exits on "-name=...", so no running QEMU has it in its argv.
 * When the option appears more than once the last one wins, as it does in
 * both VMMs (QEMU merges repeated -name into one option set, last key wins).
 *
 * Names are copied byte for byte (quotes, newlines, whatever the VMM was
 * given); whoever prints them escapes them.  Truncation never splits a
 * UTF-8 sequence, so a truncated valid name stays valid (JSON needs that).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libkvmcmo.h"

/* /proc/<pid>/cmdline is read up to this much; libvirt lines are ~10 KiB */
#define CMDLINE_MAX (1U << 20)

/* bounded output: keeps room for the NUL, remembers if bytes were lost */
struct out {
	char *buf;
	size_t len, pos;
	bool truncated;
};

static void out_putc(struct out *o, char c)
{
	if (o->pos + 1 < o->len)
		o->buf[o->pos++] = c;
	else
		o->truncated = true;
}

/*
 * Terminate; after a truncation drop a trailing incomplete UTF-8 sequence.
 * Only a cut we made is repaired: bytes that were already invalid in the
 * argv are the process's, and the JSON renderer deals with those.
 */
static void out_finish(struct out *o)
{
	if (o->truncated && o->pos) {
		size_t start = o->pos, need;
		unsigned char lead;

		/* back over at most 3 continuation bytes to the lead byte */
		while (start > 0 && o->pos - start < 3 &&
		       ((unsigned char)o->buf[start - 1] & 0xc0) == 0x80)
			start--;
		if (start > 0) {
			lead = (unsigned char)o->buf[start - 1];
			if (lead >= 0xf0)
				need = 4;
			else if (lead >= 0xe0)
				need = 3;
			else if (lead >= 0xc0)
				need = 2;
			else
				need = 1;
			if (o->pos - (start - 1) < need)
				o->pos = start - 1;
		}
	}
	o->buf[o->pos] = '\0';
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && memcmp(s, prefix, p) == 0;
}

/* basename of argv[0] starts with "qemu": qemu-system-aarch64, qemu-kvm */
static bool argv0_is_qemu(const char *a, size_t n)
{
	const char *slash = memrchr(a, '/', n);

	if (slash) {
		n -= (size_t)(slash + 1 - a);
		a = slash + 1;
	}
	return has_prefix(a, n, "qemu");
}

/*
 * One QemuOpts value, as util/qemu-option.c get_opt_value() reads it:
 * up to the next single ',' with ",," standing for ','.  Returns the
 * offset of the terminating ',' (or n).  out may be NULL to only skip.
 */
static size_t qemu_opt_value(const char *s, size_t n, size_t i, struct out *o)
{
	while (i < n) {
		if (s[i] == ',') {
			if (i + 1 < n && s[i + 1] == ',') {
				if (o)
					out_putc(o, ',');
				i += 2;
				continue;
			}
			break;
		}
		if (o)
			out_putc(o, s[i]);
		i++;
	}
	return i;
}

/*
 * Find the guest name in a QEMU -name argument, following opts_do_parse():
 * the first element without '=' (before any ',') is the implied "guest"
 * key; later elements without '=' are flags and carry no name.  Sets
 * *at to the offset of the last guest value.
 */
static bool qemu_find_guest(const char *s, size_t n, size_t *at)
{
	bool found = false, first = true;
	size_t i = 0;

	while (i < n) {
		size_t k = i;

		while (k < n && s[k] != '=' && s[k] != ',')
			k++;
		if (k == n || s[k] == ',') {
			if (first) {
				*at = i;
				found = true;
				i = qemu_opt_value(s, n, i, NULL);
			} else {
				i = k;          /* a flag: "foo" or "nofoo" */
			}
		} else {
			if (k - i == 5 && memcmp(s + i, "guest", 5) == 0) {
				*at = k + 1;
				found = true;
			}
			i = qemu_opt_value(s, n, k + 1, NULL);
		}
		first = false;
		if (i < n)
			i++;            /* the separating ',' */
	}
	return found;
}

enum syntax { SYN_QEMU, SYN_PLAIN };

int kvmcmo_vm_name_from_cmdline(const char *cmdline, size_t n, char *buf, size_t len)
{
	const char *val = NULL, *a, *end = cmdline + n;
	size_t vlen = 0, alen;
	enum syntax syn = SYN_PLAIN;
	bool qemu = false, first = true;
	struct out o = { .buf = buf, .len = len };

	if (!buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	if (!cmdline)
		return -ENOENT;

	/* argv elements are NUL-separated; the last may lack its NUL */
	for (a = cmdline; a < end; a += alen + 1) {
		const char *next;
		size_t nlen;

		alen = strnlen(a, (size_t)(end - a));
		if (first) {
			qemu = argv0_is_qemu(a, alen);
			first = false;
			continue;
		}
		/* the value is the next argv element, which must exist */
		next = a + alen + 1;
		nlen = next < end ? strnlen(next, (size_t)(end - next)) : 0;

		if (alen == 5 && memcmp(a, "-name", 5) == 0) {
			if (next >= end) {
				val = NULL;     /* the VMM refuses this line */
				break;
			}
			val = next, vlen = nlen, syn = SYN_QEMU;
			alen += nlen + 1;       /* consume the value */
		} else if (alen == 6 && memcmp(a, "--name", 6) == 0) {
			if (next >= end) {
				val = NULL;
				break;
			}
			val = next, vlen = nlen, syn = qemu ? SYN_QEMU : SYN_PLAIN;
			alen += nlen + 1;
		} else if (!qemu && has_prefix(a, alen, "--name=")) {
			val = a + 7, vlen = alen - 7, syn = SYN_PLAIN;
		} else if (alen == 2 && memcmp(a, "--", 2) == 0 && !qemu) {
			break;                  /* kvmtool: end of options */
		}
	}
	if (!val)
		return -ENOENT;

	if (syn == SYN_QEMU) {
		size_t at;

		if (!qemu_find_guest(val, vlen, &at))
			return -ENOENT;
		qemu_opt_value(val, vlen, at, &o);
	} else {
		for (size_t i = 0; i < vlen; i++)
			out_putc(&o, val[i]);
	}
	out_finish(&o);
	/* an empty name names nothing: let the caller fall back to comm */
	return buf[0] ? 0 : -ENOENT;
}

/* the whole of a /proc file; 0 or -errno, *data malloc'ed (NUL-padded) */
static int read_proc(pid_t pid, const char *what, char **data, size_t *n, size_t max)
{
	char path[64];
	size_t cap = 4096, len = 0;
	char *p = NULL, *q;
	ssize_t r;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (len + 1 >= cap || !p) {
			if (p)
				cap *= 2;
			q = realloc(p, cap);
			if (!q) {
				err = -ENOMEM;
				break;
			}
			p = q;
		}
		r = read(fd, p + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;   /* ESRCH: it exited while we read */
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len >= max)
			break;          /* the name option is near the front */
	}
	close(fd);
	if (err) {
		free(p);
		return err;
	}
	p[len] = '\0';
	*data = p;
	*n = len;
	return 0;
}

int kvmcmo_vm_name(pid_t pid, char *buf, size_t len)
{
	struct out o = { .buf = buf, .len = len };
	char *data;
	size_t n;
	int err;

	if (!buf || !len)
		return -EINVAL;
	buf[0] = '\0';

	/* empty for kernel threads and zombies: then comm is all there is */
	err = read_proc(pid, "cmdline", &data, &n, CMDLINE_MAX);
	if (err)
		return err;
	err = kvmcmo_vm_name_from_cmdline(data, n, buf, len);
	free(data);
	if (!err)
		return 0;

	err = read_proc(pid, "comm", &data, &n, 64);
	if (err) {
		buf[0] = '\0';
		return err;
	}
	if (n && data[n - 1] == '\n')
		n--;
	for (size_t i = 0; i < n; i++)
		out_putc(&o, data[i]);
	out_finish(&o);
	free(data);
	return 0;
}
