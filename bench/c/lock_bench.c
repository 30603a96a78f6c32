/* The anchor for lock-demo bench: the same loops in C, the same shape of
 * measurement (threads start at a barrier; from the first start to the last
 * end). Usage: lock_bench mutex|atomic THREADS ITERATIONS; prints ops/s. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;
static long long iterations;
static int use_mutex;

struct span { struct timespec start, end; };

static void *work(void *arg) {
    struct span *span = arg;
    pthread_barrier_wait(&barrier);
    clock_gettime(CLOCK_MONOTONIC, &span->start);
    if (use_mutex) {
        for (long long i = 0; i < iterations; i++) {
            pthread_mutex_lock(&lock);
            counter += 1;
            pthread_mutex_unlock(&lock);
        }
    } else {
        for (long long i = 0; i < iterations; i++)
            __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
    }
    clock_gettime(CLOCK_MONOTONIC, &span->end);
    return NULL;
}

static double seconds(struct timespec t) { return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s mutex|atomic THREADS ITERATIONS\n", argv[0]); return 2; }
    use_mutex = strcmp(argv[1], "mutex") == 0;
    int threads = atoi(argv[2]);
    iterations = atoll(argv[3]);
    pthread_t ids[threads];
    struct span spans[threads];
    pthread_barrier_init(&barrier, NULL, threads);
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, work, &spans[i]);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    double first = seconds(spans[0].start), last = seconds(spans[0].end);
    for (int i = 1; i < threads; i++) {
        if (seconds(spans[i].start) < first) first = seconds(spans[i].start);
        if (seconds(spans[i].end) > last) last = seconds(spans[i].end);
    }
    if (counter != (long long)threads * iterations) { fprintf(stderr, "wrong total %lld\n", counter); return 1; }
    printf("%.0f\n", threads * (double)iterations / (last - first));
    return 0;
}
