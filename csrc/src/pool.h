/*
 * The threads of a kernel call: a small persistent pool. The calling thread always works;
 * pool workers join it if they are free and get to run in time. Work is shared by claiming
 * (an atomic counter of groups), never by assignment, so a worker that joins late -- or
 * never, on a machine whose cores are busy -- costs the call nothing: the caller does the
 * rest, and waits only for the work a worker has already claimed. (An OpenMP team waits at
 * its join for every member, and a member the scheduler left waiting for a time slice made
 * a 0.3 ms call take 10-25 ms on a busy 2-core machine.) Idle workers poll for the next job
 * for 0.5 ms, then sleep on a condition variable: nothing spins long after a call, next to
 * another library's threads.
 */
#ifndef FASTSEQ_POOL_H
#define FASTSEQ_POOL_H

/* Runs body(ctx) on the calling thread and on up to n - 1 pool workers that join in time;
   returns once every participant has returned. One call uses the pool at a time: a call
   made while another thread's call holds it (or from inside a body) runs on its caller
   alone. */
void fs_run_parallel(int n, void (*body)(void *ctx), void *ctx);

/* 1 on a pool worker thread, 0 on any other thread. */
int fs_on_worker(void);

/* Atomic helpers for the bodies' shared counters. */
static inline long long fs_claim(long long *counter) {
#if defined(__GNUC__)
    return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
#else
    return (*counter)++; /* without atomics fs_run_parallel runs the caller only */
#endif
}

#endif /* FASTSEQ_POOL_H */
