#define _GNU_SOURCE
#include "CKeywayPlatform.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

_Static_assert(sizeof(rlim_t) == sizeof(unsigned long), "rlim_t is unsigned long");
_Static_assert(sizeof(ssize_t) == sizeof(long), "ssize_t is long");
_Static_assert(sizeof(size_t) == sizeof(unsigned long), "size_t is unsigned long");

int keyway_flock(int fd, int operation) {
    return flock(fd, operation);
}

long keyway_getrandom(void *buffer, unsigned long count, unsigned int flags) {
    return getrandom(buffer, count, flags);
}

int keyway_pipe2(int fds[2], int flags) {
    return pipe2(fds, flags);
}

int keyway_spawn_file_actions_addchdir(void *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, path);
}

int keyway_mkostemp(char *path_template, int flags) {
    return mkostemp(path_template, flags);
}

int keyway_execvp_environment(const char *file, char *const argv[], char *const envp[]) {
    char **before = environ;
    environ = (char **)envp;
    execvp(file, argv);
    int error = errno;
    environ = before;
    errno = error;
    return -1;
}

int keyway_disable_core_dumps(unsigned long *soft_before, unsigned long *hard_before) {
    struct rlimit before;
    if (getrlimit(RLIMIT_CORE, &before) != 0) return -1;
    *soft_before = before.rlim_cur;
    *hard_before = before.rlim_max;
    struct rlimit lowered = { 0, before.rlim_max };
    if (setrlimit(RLIMIT_CORE, &lowered) != 0) return -1;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return -1;
    return 0;
}

int keyway_is_dumpable(void) {
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}
