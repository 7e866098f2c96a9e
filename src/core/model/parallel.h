/* A parallel-for hook, so the core can split work across threads without knowing about
 * threads: the native layer installs a pthread pool (src/native/threads.c), the core's
 * default (and the WebAssembly build's) runs the tasks one after another on the caller.
 *
 * affect_parallel_for(n, fn, ctx) calls fn(ctx, i, n) once for every i in [0, n) and returns
 * when all have finished. Callers make task i's work depend on i alone (never on which
 * thread runs it), which is what keeps results identical for every thread count. */
#ifndef AFFECT_CORE_PARALLEL_H
#define AFFECT_CORE_PARALLEL_H

typedef void (*affect_task_fn)(void *ctx, int i, int n);
typedef void (*affect_parallel_for_fn)(int n, affect_task_fn fn, void *ctx);

/* Installs a parallel-for (NULL restores the serial default) and the number of threads it
 * runs, which callers use to decide how many tasks to cut (>= 1). */
void affect_set_parallel_for(affect_parallel_for_fn fn, int threads);
void affect_parallel_for(int n, affect_task_fn fn, void *ctx);
/* Threads the installed parallel-for uses (1 for the serial default). */
int affect_parallel_threads(void);

#endif
