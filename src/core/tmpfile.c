/* Temporary files beside their final name, removed if a signal ends the
 * process first: an interrupted `bag pack` leaves no OUT.kist-tmp-* behind. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kist/path.h>

/* The files a signal removes: fixed slots, so the handler needs neither a
 * lock nor malloc. A name is written before its slot is marked used. */
#define SLOTS 16
static char slot_path[SLOTS][PATH_MAX];
static atomic_int slot_used[SLOTS];

static void remember(const char *path)
{
	if (strlen(path) >= PATH_MAX)
		return;
	for (int i = 0; i < SLOTS; i++) {
		int expected = 0;

		/* 2: being written, not yet for the handler */
		if (atomic_compare_exchange_strong(&slot_used[i], &expected, 2)) {
			strcpy(slot_path[i], path);
			atomic_store(&slot_used[i], 1);
			return;
		}
	}
	/* more than SLOTS at once: this one is not removed by a signal */
}

void kist_path_tmp_done(const char *tmp)
{
	for (int i = 0; tmp && i < SLOTS; i++)
		if (atomic_load(&slot_used[i]) == 1 && strcmp(slot_path[i], tmp) == 0) {
			atomic_store(&slot_used[i], 0);
			return;
		}
}

int kist_path_tmp_beside(const char *final, char **tmp)
{
	int fd;

	if (asprintf(tmp, "%s.kist-tmp-XXXXXX", final) < 0) {
		*tmp = NULL;
		errno = ENOMEM;
		return -1;
	}
	if ((fd = mkostemp(*tmp, O_CLOEXEC)) < 0) {
		int saved = errno;

		free(*tmp);
		*tmp = NULL;
		errno = saved;
		return -1;
	}
	fchmod(fd, 0644);
	remember(*tmp);
	return fd;
}

static void on_signal(int sig)
{
	int saved = errno;

	for (int i = 0; i < SLOTS; i++)
		if (atomic_load(&slot_used[i]) == 1)
			unlink(slot_path[i]);
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

void kist_path_tmp_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa, old;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		/* a signal ignored by whoever started us (nohup) stays ignored */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}
