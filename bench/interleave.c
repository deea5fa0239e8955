// Times several commands run alternately: iteration i runs every command once, starting with command i mod N, so
// a machine whose speed drifts (other tenants of a virtual machine, CPU frequency, a daemon's caches) affects all
// commands alike instead of whichever hyperfine happened to time last. Each run is posix_spawnp + waitpid, wall time
// by CLOCK_MONOTONIC, output to /dev/null. A run that exits non-zero is not timed but counted (KWallet fails about 1% of
// the reads of clients that do not retry); more than 10% failures of one command stops the benchmark.
//
//   interleave RUNS WARMUP -- NAME ARG0 ARG1... -- NAME ARG0 ARG1...
//
// (An argument that is exactly `--` cannot be passed to a command.)
//
// Prints, per command: median, mean and min in milliseconds of the successful runs, the median's ratio to the first
// command's, and how many runs failed when any did.
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct {
    const char *name;
    char **argv;
    double *times;
    int timed;
    int failed;
} Command;

static double run(Command *command, int devnull) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, devnull, 1);
    posix_spawn_file_actions_adddup2(&actions, devnull, 2);
    struct timespec start, end;
    pid_t pid;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int error = posix_spawnp(&pid, command->argv[0], &actions, NULL, command->argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) {
        fprintf(stderr, "interleave: cannot run %s: %s\n", command->argv[0], strerror(error));
        exit(2);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("interleave: waitpid");
            exit(2);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    return (double)(end.tv_sec - start.tv_sec) * 1e3 + (double)(end.tv_nsec - start.tv_nsec) / 1e6;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int count) {
    qsort(values, (size_t)count, sizeof(double), compare);
    return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

int main(int argc, char **argv) {
    if (argc < 6 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: interleave RUNS WARMUP -- NAME ARG0 ARGS... [-- NAME ARG0 ARGS...]...\n");
        return 64;
    }
    int runs = atoi(argv[1]), warmup = atoi(argv[2]);
    if (runs < 1 || warmup < 0) {
        fprintf(stderr, "interleave: RUNS must be positive and WARMUP not negative\n");
        return 64;
    }
    Command commands[16];
    int count = 0;
    for (int i = 3; i < argc;) {
        // argv[i] is "--": a name and at least the program follow.
        if (i + 2 >= argc || count == 16) {
            fprintf(stderr, "interleave: each -- needs a name and a program (at most 16 commands)\n");
            return 64;
        }
        commands[count].name = argv[i + 1];
        commands[count].argv = &argv[i + 2];
        int end = i + 2;
        while (end < argc && strcmp(argv[end], "--") != 0) end++;
        if (end == i + 2) {
            fprintf(stderr, "interleave: the command named %s has no program\n", argv[i + 1]);
            return 64;
        }
        argv[end < argc ? end : argc] = NULL;  // terminates this command's argv (argv[argc] is NULL already)
        commands[count].times = calloc((size_t)runs, sizeof(double));
        commands[count].timed = 0;
        commands[count].failed = 0;
        if (commands[count].times == NULL) {
            perror("interleave");
            return 2;
        }
        count++;
        i = end;
    }
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0) {
        perror("interleave: /dev/null");
        return 2;
    }
    for (int i = 0; i < warmup; i++)
        for (int c = 0; c < count; c++) run(&commands[c], devnull);
    for (int i = 0; i < runs; i++)
        for (int k = 0; k < count; k++) {
            int c = (i + k) % count;
            double time = run(&commands[c], devnull);
            if (time >= 0) {
                commands[c].times[commands[c].timed++] = time;
            } else if (++commands[c].failed * 10 > runs) {
                fprintf(stderr, "interleave: %s failed %d times: stopped\n", commands[c].name, commands[c].failed);
                return 2;
            }
        }
    double first = 0;
    printf("%-34s %10s %10s %10s   %s\n", "command", "median", "mean", "min", "ratio to first");
    for (int c = 0; c < count; c++) {
        int timed = commands[c].timed;
        double sum = 0, least = commands[c].times[0];
        for (int i = 0; i < timed; i++) {
            sum += commands[c].times[i];
            if (commands[c].times[i] < least) least = commands[c].times[i];
        }
        double middle = median(commands[c].times, timed);
        if (c == 0) first = middle;
        printf("%-34s %8.2fms %8.2fms %8.2fms   %6.3fx", commands[c].name, middle, sum / timed, least, middle / first);
        if (commands[c].failed) printf("   (%d of %d runs failed)", commands[c].failed, runs);
        printf("\n");
    }
    return 0;
}
