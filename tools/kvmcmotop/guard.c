// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * guard.c - the terminal is given back in every way kvmcmotop can end.
 *
 *   q, SIGINT, SIGTERM, SIGHUP   main loop ends, endwin() (main.c)
 *   SIGSEGV, SIGBUS, SIGFPE,     endwin() from the handler, then the signal
 *   SIGILL, SIGABRT, SIGQUIT,    kills as it would have (core dump kept)
 *   SIGTRAP, SIGSYS
 *   SIGKILL, and any other       nothing runs in the process, so a small
 *   signal that kills            guard process does it: forked before the
 *                                screen is set up, it holds a pipe whose
 *                                other end only kvmcmotop has.  EOF without
 *                                the "clean exit" byte means kvmcmotop died:
 *                                the guard puts back the terminal modes
 *                                saved at start and sends the terminal's
 *                                own reset strings (leave the alternate
 *                                screen, show the cursor, plain attributes,
 *                                keypad off), then exits.
 *
 * The guard is forked before the probes are loaded and closes every other
 * descriptor, so it never holds a BPF link: a killed kvmcmotop leaves no
 * probe attached whether the guard is still there or not.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>
#include <curses.h>
#include <sys/prctl.h>

#include "top.h"

#define CLEAN_EXIT 'x'

static int guard_fd = -1;

static void put_cap(int fd, const char *name)
{
	char *s = tigetstr((char *)name);

	if (s && s != (char *)-1)
		(void)!write(fd, s, strlen(s));
}

static void restore(int tty, const struct termios *saved)
{
	int out = isatty(STDOUT_FILENO) ? STDOUT_FILENO : tty, err;

	tcsetattr(tty, TCSANOW, saved);
	if (setupterm(NULL, out, &err) == OK) {
		put_cap(out, "rmcup");
		put_cap(out, "rmkx");
		put_cap(out, "cnorm");
		put_cap(out, "sgr0");
	}
	(void)!write(out, "\r\n", 2);
}

static void guard_main(int rfd, int tty, const struct termios *saved)
{
	char c = 0;
	ssize_t n;

	/* Ctrl-C / Ctrl-\ / a hangup reach the whole process group: they are
	 * kvmcmotop's to handle, the guard waits for the outcome.  SIGTTOU
	 * ignored: once kvmcmotop is dead the shell takes the terminal back,
	 * and the guard's process group, now orphaned and in the background,
	 * would get EIO from tcsetattr() (the kernel's rule for background
	 * writers of terminal modes) unless SIGTTOU is ignored */
	signal(SIGTTOU, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	prctl(PR_SET_NAME, "kvmcmotop-guard");
	do
		n = read(rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == CLEAN_EXIT)
		_exit(0);
	restore(tty, saved);
	_exit(0);
}

int top_guard_start(void)
{
	struct termios saved;
	int p[2], tty = STDIN_FILENO;
	pid_t pid;

	if (!isatty(tty) || tcgetattr(tty, &saved))
		return 0;               /* nothing to guard */
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!pid) {
		long max = sysconf(_SC_OPEN_MAX);

		/* keep only the tty (0, 1, 2) and the read end */
		for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			if (fd != p[0])
				close(fd);
		guard_main(p[0], tty, &saved);
	}
	close(p[0]);
	guard_fd = p[1];
	return 0;
}

void top_guard_stop(void)
{
	char c = CLEAN_EXIT;

	if (guard_fd < 0)
		return;
	(void)!write(guard_fd, &c, 1);
	close(guard_fd);
	guard_fd = -1;
}

static void on_crash(int sig)
{
	/* not async-signal-safe, but the process is dying anyway and a
	 * terminal left in raw mode is worse; the guard is the fallback */
	endwin();
	top_guard_stop();
	signal(sig, SIG_DFL);
	raise(sig);
}

void top_guard_crash_handlers(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT, SIGTRAP,
				    SIGSYS };
	struct sigaction sa = { .sa_handler = on_crash, .sa_flags = SA_RESETHAND };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}
