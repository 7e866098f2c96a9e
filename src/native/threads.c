/* The native parallel-for behind the core's hook (core/model/parallel.h): a small pool of
 * pthreads that spin briefly between jobs (a forward pass issues a job every few tens of
 * microseconds, so waking a sleeping thread each time would cost more than the split saves)
 * and then sleep on a condition variable. The calling thread works too. Tasks are handed out
 * by an atomic counter; since a task's result never depends on the thread that runs it, the
 * outputs are the same for every thread count. One job at a time: a second caller (another
 * application thread, or a task calling in again) runs its tasks serially instead of waiting. */
#define _POSIX_C_SOURCE 200809L
#include "core/model/parallel.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define POOL_MAX 64
#define SPIN_ITERS 200000 /* ~100 µs of polling before a worker sleeps */

static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER; /* held while a job runs */
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;  /* sleeping workers' wake-up */
static pthread_cond_t wake_cv = PTHREAD_COND_INITIALIZER;

static struct {
    atomic_uint gen;          /* bumped for each job */
    atomic_ullong work;       /* (job's gen << 32) | next task: a late worker from an earlier
                                 job sees a different gen and takes nothing */
    atomic_int done;
    int n;
    affect_task_fn fn;
    void *ctx;
    int workers;              /* threads beside the caller */
    pthread_t tid[POOL_MAX];
} P;

/* Takes tasks of job `gen` until none are left; returns how many it ran. */
static int drain(unsigned gen) {
    int ran = 0;
    unsigned long long v = atomic_load(&P.work);
    for (;;) {
        if ((unsigned)(v >> 32) != gen || (long long)(v & 0xFFFFFFFFu) >= P.n) break;
        if (!atomic_compare_exchange_weak(&P.work, &v, v + 1)) continue;
        P.fn(P.ctx, (int)(v & 0xFFFFFFFFu), P.n);
        ran++;
        v = atomic_load(&P.work);
    }
    return ran;
}

static void *worker_main(void *arg) {
    (void)arg;
    unsigned seen = atomic_load(&P.gen);
    for (;;) {
        unsigned g;
        long spins = 0;
        while ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ITERS) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
                continue;
            }
            pthread_mutex_lock(&wake_mu);
            while ((g = atomic_load(&P.gen)) == seen) pthread_cond_wait(&wake_cv, &wake_mu);
            pthread_mutex_unlock(&wake_mu);
            break;
        }
        seen = g;
        int ran = drain(g);
        if (ran) atomic_fetch_add_explicit(&P.done, ran, memory_order_release);
    }
    return NULL;
}

static void parallel_for_pool(int n, affect_task_fn fn, void *ctx) {
    if (pthread_mutex_trylock(&run_lock) != 0) {
        for (int i = 0; i < n; i++) fn(ctx, i, n);
        return;
    }
    P.n = n;
    P.fn = fn;
    P.ctx = ctx;
    atomic_store(&P.done, 0);
    unsigned gen = atomic_load(&P.gen) + 1;
    atomic_store(&P.work, (unsigned long long)gen << 32);
    pthread_mutex_lock(&wake_mu);
    atomic_store(&P.gen, gen);
    pthread_cond_broadcast(&wake_cv);
    pthread_mutex_unlock(&wake_mu);
    int ran = drain(gen);
    atomic_fetch_add(&P.done, ran);
    /* the last tasks run on other threads: poll, and once that takes long (their thread was
     * preempted on a busy machine) give the core away instead of burning it */
    for (long spins = 0; atomic_load_explicit(&P.done, memory_order_acquire) < n; spins++) {
        if (spins > SPIN_ITERS / 4) sched_yield();
#if defined(__x86_64__) || defined(__i386__)
        else __builtin_ia32_pause();
#endif
    }
    pthread_mutex_unlock(&run_lock);
}

/* Starts threads-1 workers once (later calls can only add workers, never stop them: a
 * process picks its thread count at start-up) and installs the pool; threads <= 1 installs
 * the serial default. Returns the thread count in effect. */
int affect_native_threads_init(int threads) {
    if (threads > POOL_MAX) threads = POOL_MAX;
    if (threads <= 1) {
        affect_set_parallel_for(NULL, 1);
        return 1;
    }
    pthread_mutex_lock(&run_lock);
    while (P.workers < threads - 1) {
        if (pthread_create(&P.tid[P.workers], NULL, worker_main, NULL) != 0) break;
        pthread_detach(P.tid[P.workers]);
        P.workers++;
    }
    pthread_mutex_unlock(&run_lock);
    affect_set_parallel_for(parallel_for_pool, P.workers + 1);
    return P.workers + 1;
}
