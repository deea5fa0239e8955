#define _GNU_SOURCE
#include "CKeywayPlatform.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
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

int keyway_pty_open(char *slave_name, unsigned long name_size) {
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) return -1;
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, slave_name, name_size) != 0) {
        int error = errno;
        close(master);
        errno = error;
        return -1;
    }
    return master;
}

int keyway_copy_window_size(int from, int to) {
    struct winsize size;
    if (ioctl(from, TIOCGWINSZ, &size) != 0) return -1;
    return ioctl(to, TIOCSWINSZ, &size);
}

int keyway_get_window_size(int fd, unsigned short *rows, unsigned short *columns) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -1;
    *rows = size.ws_row;
    *columns = size.ws_col;
    return 0;
}

int keyway_set_window_size(int fd, unsigned short rows, unsigned short columns) {
    struct winsize size = { rows, columns, 0, 0 };
    return ioctl(fd, TIOCSWINSZ, &size);
}

int keyway_copy_terminal_settings(int from, int to) {
    struct termios settings;
    if (tcgetattr(from, &settings) != 0) return -1;
    return tcsetattr(to, TCSANOW, &settings);
}

static struct termios saved_settings;
static int saved = 0;

int keyway_terminal_make_raw(int fd) {
    struct termios settings;
    if (tcgetattr(fd, &settings) != 0) return -1;
    saved_settings = settings;
    saved = 1;
    cfmakeraw(&settings);
    return tcsetattr(fd, TCSAFLUSH, &settings);
}

int keyway_terminal_restore(int fd) {
    if (!saved) return 0;
    return tcsetattr(fd, TCSAFLUSH, &saved_settings);
}

static int signal_pipe[2] = { -1, -1 };

static void keyway_signal_handler(int signal, siginfo_t *info, void *context) {
    (void)context;
    int error = errno;
    unsigned char message[2] = { (unsigned char)signal, info != NULL && info->si_code == SI_KERNEL ? 1 : 0 };
    ssize_t written = write(signal_pipe[1], message, sizeof message);
    (void)written;  // a full pipe drops the report: the signals already reported are still waiting to be read
    errno = error;
}

int keyway_signal_pipe(void) {
    if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    return signal_pipe[0];
}

int keyway_signal_catch(int signal) {
    if (keyway_signal_pipe() < 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = keyway_signal_handler;
    action.sa_flags = SA_RESTART | SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    return sigaction(signal, &action, NULL);
}

int keyway_spawn_setsid_flag(void) {
    return POSIX_SPAWN_SETSID;
}
