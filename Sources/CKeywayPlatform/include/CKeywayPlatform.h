#ifndef KEYWAY_PLATFORM_H
#define KEYWAY_PLATFORM_H

// The Linux system calls Swift cannot call directly, as plain C functions (defined in platform.c, compiled with
// _GNU_SOURCE). Swift's Glibc module omits the GNU extensions (pipe2, posix_spawn_file_actions_addchdir_np,
// getrandom, mkostemp), shadows flock with the struct of the same name, and cannot call a variadic function (prctl);
// and it imports `environ` read-only, which execvp with another environment needs to set.
// No library beyond the C library; used by KeywayCore only (`internal import`).
//
// This header includes no system header, and its signatures use C's own types only (`void *` for a
// posix_spawn_file_actions_t, `unsigned long` for rlim_t, `long` for ssize_t): a system header included here would
// make its types (mode_t, rlimit, ...) belong to this module as well as to Glibc, and then a public Swift API using
// them would be refused for using an internally imported type. platform.c checks the sizes.

/// flock(2).
int keyway_flock(int fd, int operation);

/// getrandom(2): fills up to `count` bytes; returns how many were filled, or -1 with errno set.
long keyway_getrandom(void *buffer, unsigned long count, unsigned int flags);

/// pipe2(2): `fds` receives the read and the write end.
int keyway_pipe2(int fds[2], int flags);

/// posix_spawn_file_actions_addchdir_np(3) on the posix_spawn_file_actions_t at `actions`: the child changes to
/// `path` before it execs.
int keyway_spawn_file_actions_addchdir(void *actions, const char *path);

/// mkostemp(3): creates and opens (read-write, mode 0600) a new file named after `path_template`, whose last six
/// characters `XXXXXX` are replaced in place; `flags` (O_CLOEXEC) are added to the open flags.
int keyway_mkostemp(char *path_template, int flags);

/// execvp(3) with `envp` (NULL-terminated) as the new program's whole environment: `environ` is pointed at `envp`
/// for the PATH search (so the search uses `envp`'s PATH, as execvp does with the current environment) and the
/// exec. Returns only when the exec failed: -1 with errno set, and `environ` put back as it was.
int keyway_execvp_environment(const char *file, char *const argv[], char *const envp[]);

/// Turns core dumps off for the rest of the process: the soft RLIMIT_CORE to 0 (the hard limit is left as it was, so
/// the soft limit can be put back for a program Keyway execs) and PR_SET_DUMPABLE to 0 (which also keeps other
/// processes of the same user from ptrace-attaching; execve resets it). `soft_before` and `hard_before` receive the
/// limits found. Returns 0, or -1 with errno set by the call that failed.
int keyway_disable_core_dumps(unsigned long *soft_before, unsigned long *hard_before);

/// Whether the process is dumpable (PR_GET_DUMPABLE: 1 or 0, -1 on error).
int keyway_is_dumpable(void);

// Pseudo-terminals and signals for `keyway run --mask` (wrapped by KeywayCore's `PseudoTerminal` and `SignalPipe`).

/// A new pseudo-terminal: posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC), grantpt, unlockpt. The master's descriptor is
/// returned (-1 with errno set on failure) and the slave's path written to `slave_name` (`name_size` bytes).
int keyway_pty_open(char *slave_name, unsigned long name_size);

/// Copies the window size (TIOCGWINSZ, TIOCSWINSZ) of the terminal `from` to the terminal `to`.
int keyway_copy_window_size(int from, int to);

/// The window size of the terminal `fd`, or sets it.
int keyway_get_window_size(int fd, unsigned short *rows, unsigned short *columns);
int keyway_set_window_size(int fd, unsigned short rows, unsigned short columns);

/// Copies the terminal settings (tcgetattr, tcsetattr) of `from` to `to`.
int keyway_copy_terminal_settings(int from, int to);

/// Puts the terminal `fd` in raw mode (cfmakeraw), keeping its settings so that `keyway_terminal_restore` puts them
/// back (one terminal at a time).
int keyway_terminal_make_raw(int fd);
int keyway_terminal_restore(int fd);

/// The read end of a pipe (close-on-exec, non-blocking) that the handlers installed by `keyway_signal_catch` write
/// to: two bytes per signal caught, its number and 1 when the kernel sent it (a terminal's ^C, a hangup; si_code
/// SI_KERNEL) or 0 when a process did (kill). Created once; later calls return the same descriptor.
int keyway_signal_pipe(void);

/// POSIX_SPAWN_SETSID (a GNU extension Swift's Glibc module leaves out): the child leads a new session.
int keyway_spawn_setsid_flag(void);

/// Catches `signal` with that handler (SA_RESTART | SA_SIGINFO). Returns 0, or -1 with errno set.
int keyway_signal_catch(int signal);

#endif
