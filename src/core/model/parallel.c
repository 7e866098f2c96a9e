#include "parallel.h"

/* The default: the tasks in order, on the calling thread. */
static void parallel_for_serial(int n, affect_task_fn fn, void *ctx) {
    for (int i = 0; i < n; i++) fn(ctx, i, n);
}

static affect_parallel_for_fn g_parallel_for = parallel_for_serial;
static int g_threads = 1;

/* Swapping the hook while a parallel-for runs is the caller's bug; the hook is set once at
 * start-up (affect_native_init). */
void affect_set_parallel_for(affect_parallel_for_fn fn, int threads) {
    g_parallel_for = fn ? fn : parallel_for_serial;
    g_threads = fn && threads > 1 ? threads : 1;
}

/* n <= 1 never wakes a thread: small work stays on the caller. */
void affect_parallel_for(int n, affect_task_fn fn, void *ctx) {
    if (n <= 0) return;
    if (n == 1) fn(ctx, 0, 1);
    else g_parallel_for(n, fn, ctx);
}

int affect_parallel_threads(void) { return g_threads; }
