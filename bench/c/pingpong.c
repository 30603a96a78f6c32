/* The anchors for pingpong bench: a minimal two-pipe ping-pong and a minimal
 * shared-memory spin ping-pong, each round trip timed on its own, nearest-
 * rank p50. Usage: pingpong pipe|shm same|split|none ROUNDS; prints p50 us. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct shm { _Atomic unsigned turn; _Atomic unsigned long value; };

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s pipe|shm same|split|none ROUNDS\n", argv[0]); return 2; }
    int shm_mode = strcmp(argv[1], "shm") == 0;
    int parent_cpu = -1, child_cpu = -1;
    if (strcmp(argv[2], "same") == 0) parent_cpu = child_cpu = 0;
    if (strcmp(argv[2], "split") == 0) { parent_cpu = 0; child_cpu = 1; }
    long rounds = atol(argv[3]), warmup = 1000, total = rounds + warmup;
    double *samples = malloc(sizeof(double) * rounds);
    int to_child[2], to_parent[2];
    struct shm *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pipe(to_child) || pipe(to_parent) || s == MAP_FAILED) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        pin(child_cpu);
        unsigned long v;
        for (long i = 0; i < total; i++) {
            if (shm_mode) {
                while (atomic_load_explicit(&s->turn, memory_order_acquire) != 1) ;
                v = atomic_load_explicit(&s->value, memory_order_relaxed);
                atomic_store_explicit(&s->value, v, memory_order_relaxed);
                atomic_store_explicit(&s->turn, 0, memory_order_release);
            } else {
                if (read(to_child[0], &v, sizeof v) != sizeof v) _exit(1);
                if (write(to_parent[1], &v, sizeof v) != sizeof v) _exit(1);
            }
        }
        _exit(0);
    }
    pin(parent_cpu);
    for (long i = 0; i < total; i++) {
        unsigned long v = i;
        double t0 = now_us();
        if (shm_mode) {
            atomic_store_explicit(&s->value, v, memory_order_relaxed);
            atomic_store_explicit(&s->turn, 1, memory_order_release);
            while (atomic_load_explicit(&s->turn, memory_order_acquire) != 0) ;
            v = atomic_load_explicit(&s->value, memory_order_relaxed);
        } else {
            if (write(to_child[1], &v, sizeof v) != sizeof v) return 1;
            if (read(to_parent[0], &v, sizeof v) != sizeof v) return 1;
        }
        if (i >= warmup) samples[i - warmup] = now_us() - t0;
    }
    waitpid(pid, NULL, 0);
    qsort(samples, rounds, sizeof(double), cmp);
    long rank = (rounds * 500 + 999) / 1000;
    printf("%.3f\n", samples[rank < 1 ? 0 : rank - 1]);
    return 0;
}
