#ifndef KEYWAY_CSODIUM_SHIM_H
#define KEYWAY_CSODIUM_SHIM_H

#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/// Turns core dumps off for the rest of the process: the soft RLIMIT_CORE to 0 (the hard limit is left as it was, so
/// the soft limit can be put back for a program Keyway execs) and PR_SET_DUMPABLE to 0 (which also keeps other
/// processes of the same user from ptrace-attaching; execve resets it). `before` receives the limits found. Written
/// in C because prctl is variadic, which Swift cannot call. Returns 0, or -1 with errno set by the call that failed.
static inline int keyway_disable_core_dumps(struct rlimit *before) {
    if (getrlimit(RLIMIT_CORE, before) != 0) return -1;
    struct rlimit lowered = { 0, before->rlim_max };
    if (setrlimit(RLIMIT_CORE, &lowered) != 0) return -1;
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return -1;
    return 0;
}

/// Whether the process is dumpable (PR_GET_DUMPABLE: 1 or 0, -1 on error), for tests.
static inline int keyway_is_dumpable(void) {
    return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
}

#endif
