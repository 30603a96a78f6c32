/* The anchor for fork-demo bench: the same operations in C, timed the same
 * way (10 untimed warm-up runs, then one CLOCK_MONOTONIC sample per run,
 * nearest-rank percentiles). Usage: fork_bench ITERATIONS
 * Prints one line per operation: name<TAB>p50_us<TAB>p99_us */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *true_argv[] = {"true", NULL};
static char *sh_argv[] = {"sh", "-c", "true", NULL};
static char *no_env[] = {NULL};

static void fork_exit(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, NULL, 0);
}

static void fork_exec_true(void) {
    pid_t pid = fork();
    if (pid == 0) { execve("/bin/true", true_argv, no_env); _exit(127); }
    waitpid(pid, NULL, 0);
}

static void spawn_true(void) {
    pid_t pid;
    posix_spawn(&pid, "/bin/true", NULL, NULL, true_argv, no_env);
    waitpid(pid, NULL, 0);
}

static void spawn_sh(void) {
    pid_t pid;
    posix_spawn(&pid, "/bin/sh", NULL, NULL, sh_argv, no_env);
    waitpid(pid, NULL, 0);
}

static void *nothing(void *arg) { return arg; }

static void thread_spawn_join(void) {
    pthread_t t;
    pthread_create(&t, NULL, nothing, NULL);
    pthread_join(t, NULL);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double rank(double *sorted, int n, int per_mille) {
    int r = (n * per_mille + 999) / 1000;
    if (r < 1) r = 1;
    return sorted[r - 1];
}

static void measure(const char *name, void (*op)(void), int n) {
    double *samples = malloc(sizeof(double) * n);
    for (int i = 0; i < 10 && i < n; i++) op();
    for (int i = 0; i < n; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        op();
        clock_gettime(CLOCK_MONOTONIC, &b);
        samples[i] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
    }
    qsort(samples, n, sizeof(double), cmp);
    printf("%s\t%.1f\t%.1f\n", name, rank(samples, n, 500), rank(samples, n, 990));
    free(samples);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    measure("fork+_exit+wait", fork_exit, n);
    measure("fork+exec true+wait", fork_exec_true, n);
    measure("posix_spawn true+wait", spawn_true, n);
    measure("posix_spawn sh -c true+wait", spawn_sh, n);
    measure("thread spawn+join", thread_spawn_join, n);
    return 0;
}
