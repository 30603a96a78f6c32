/* The floor for pool-run's per-job cost: fork+exec /bin/true N times,
 * keeping J children running, no output handling at all.
 * Usage: spawn_floor N J */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000;
    int j = argc > 2 ? atoi(argv[2]) : 2;
    char *args[] = {"true", NULL};
    long started = 0, running = 0;
    while (started < n || running > 0) {
        while (running < j && started < n) {
            pid_t pid = fork();
            if (pid == 0) { execv("/bin/true", args); _exit(127); }
            started++; running++;
        }
        if (wait(NULL) > 0) running--;
    }
    return 0;
}
