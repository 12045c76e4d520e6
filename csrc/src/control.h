/*
 * The control of one kernel call, shared by its threads: how many threads it may use, and
 * its stop flag. A caller-supplied batch->interrupt is asked now and then (by the calling
 * thread only, at most every FS_POLL_SECONDS) whether to stop; when it says so, every loop
 * over positions or groups winds down and the kernel returns FS_ERR_INTERRUPTED.
 */
#ifndef FASTSEQ_CONTROL_H
#define FASTSEQ_CONTROL_H

#include <time.h>

#include "fastseq/fastseq.h"
#include "pool.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define FS_POLL_SECONDS 0.05

typedef struct {
    int stop;                    /* set once; read and written atomically */
    int (*interrupt)(void *ctx); /* batch->interrupt (NULL: never stop) */
    void *ctx;
    double next;                 /* when to ask next (calling thread only) */
} fs_ctl;

static inline int ctl_load(const int *p) {
#if defined(__GNUC__)
    return __atomic_load_n(p, __ATOMIC_RELAXED);
#else
    return *(const volatile int *)p;
#endif
}

static inline void ctl_store(int *p, int v) {
#if defined(__GNUC__)
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
#else
    *(volatile int *)p = v;
#endif
}

static inline double ctl_now(void) {
#ifdef _OPENMP
    return omp_get_wtime();
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

static inline int ctl_is_caller(void) { return !fs_on_worker(); }

static void ctl_init(fs_ctl *c, const fs_batch *batch) {
    c->stop = 0;
    c->interrupt = batch->interrupt;
    c->ctx = batch->interrupt_ctx;
    c->next = c->interrupt ? ctl_now() + FS_POLL_SECONDS : 0.0;
}

/* 1 when the call should stop. Cheap: call it every few dozen steps of a loop. */
static inline int ctl_stopped(fs_ctl *c) {
    if (c->interrupt && ctl_is_caller()) {
        const double now = ctl_now();
        if (now >= c->next) {
            c->next = now + FS_POLL_SECONDS;
            if (c->interrupt(c->ctx)) ctl_store(&c->stop, 1);
        }
    }
    return ctl_load(&c->stop);
}

#endif /* FASTSEQ_CONTROL_H */
