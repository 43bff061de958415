/* runstat: run a command and report what it cost, for make bench (bench/rss_bench.lua, bench/require_bench.lua).
 *   runstat OUTFILE CMD [ARGS...]
 * Runs CMD (PATH lookup) with this process's stdin/stdout/stderr and environment, waits for it and writes one line to
 * OUTFILE:
 *   wall_us=<monotonic microseconds from fork to exit> cpu_us=<user+system of the child> maxrss_kb=<peak RSS>
 *   status=<exit status, or 128+signal>
 * Peak RSS is the kernel's ru_maxrss of the child (what /usr/bin/time -f %M prints); the times have microsecond
 * resolution (GNU time's %e has 10 ms). Exits with the child's status. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: runstat OUTFILE CMD [ARGS...]\n");
        return 2;
    }
    double t0 = mono_us();
    pid_t pid = fork();
    if (pid < 0) {
        perror("runstat: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "runstat: %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int st = 0;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("runstat: wait4");
            return 2;
        }
    }
    double wall = mono_us() - t0;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    double cpu = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec * 1e6 +
                 (double)ru.ru_stime.tv_usec;
    FILE *f = fopen(argv[1], "w");
    if (!f) {
        perror("runstat: output file");
        return 2;
    }
    fprintf(f, "wall_us=%.0f cpu_us=%.0f maxrss_kb=%ld status=%d\n", wall, cpu, ru.ru_maxrss, code);
    fclose(f);
    return code;
}
