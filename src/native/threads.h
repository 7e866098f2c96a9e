/* The native thread pool behind the core's parallel-for hook (threads.c). */
#ifndef AFFECT_NATIVE_THREADS_H
#define AFFECT_NATIVE_THREADS_H

/* Installs a pool of `threads` threads (the caller counts as one; <= 1: serial) as the
 * core's parallel-for and returns the thread count in effect. */
int affect_native_threads_init(int threads);

#endif
