/*
 * A real SMTP receiver for the outbox tests: tests/unit/outbox/smtp_receiver.py
 * (aiosmtpd, Debian's python3-aiosmtpd), started and stopped by the test.
 * Included by the test files of this folder only.
 */
#ifndef CAREID_TESTS_OUTBOX_RECEIVER_H
#define CAREID_TESTS_OUTBOX_RECEIVER_H

#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Starts smtp_receiver.py writing into `dir` on `port` (0: any); returns its
 * pid once it accepts connections, and the port. */
static pid_t receiver_start(const char *dir, int port, int *port_out)
{
	const char *src = getenv("CAREID_SOURCE_DIR"), *py = getenv("CAREID_PYTHON");
	char script[PATH_MAX], portarg[16], line[16] = "";
	struct pollfd pfd;
	size_t got = 0;
	int fds[2];
	pid_t pid;

	snprintf(script, sizeof(script), "%s/tests/unit/outbox/smtp_receiver.py",
	         src && *src ? src : ".");
	snprintf(portarg, sizeof(portarg), "%d", port);
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		/* Debian's python3 has python3-aiosmtpd, whatever PATH prefers. */
		execl(py && *py ? py : "/usr/bin/python3", "python3", script, dir, portarg,
		      (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (pid > 0 && got < sizeof(line) - 1 && !memchr(line, '\n', got) &&
	       poll(&pfd, 1, 10000) == 1) {
		ssize_t n = read(fds[0], line + got, sizeof(line) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		line[got] = '\0';
	}
	close(fds[0]);
	*port_out = (int)strtol(line, NULL, 10);
	if (pid > 0 && *port_out <= 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static void receiver_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

#endif
