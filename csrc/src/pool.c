/* The persistent worker pool of the kernels (pool.h). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include "pool.h"

#if (defined(__unix__) || defined(__APPLE__)) && defined(__GNUC__)
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* The pool's threads never exceed this; a call asks for at most the processors it may use. */
#define FS_POOL_MAX 256
/* How long a worker polls for the next job before it sleeps (seconds). */
#define FS_POOL_POLL_SECONDS 500e-6
/* A pause this long between two looks at the clock while polling means the scheduler ran
   another thread on this core (a spinning OpenMP worker of torch, say): then the worker
   sleeps at once, because a sleeping thread that is woken preempts such a spinner, while a
   polling one only shares the core with it. */
#define FS_POOL_GAP_SECONDS 50e-6

/* The open job, published without a lock: `slot` packs the job's number (high 32 bits) and
   the seats it still offers (low 32 bits); a worker takes a seat by compare-and-swap. A
   worker counts itself in `running` before it tries, so the caller, which closes the job
   (seats 0) and then waits for running == 0, never returns while a seated worker may still
   read the job. Only sleeping and waking go through the mutex: a woken thread is placed
   next to its waker, and a lock taken on every call put the worker on the caller's core. */
static uint64_t slot __attribute__((aligned(64))) = 0;
static char pad_slot[64 - sizeof(uint64_t)] __attribute__((unused));
static int running __attribute__((aligned(64))) = 0;
static char pad_running[64 - sizeof(int)] __attribute__((unused));
static void (*job_body)(void *) = 0;
static void *job_ctx = 0;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;   /* sleeping workers */
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static int sleepers = 0;
static pthread_mutex_t user = PTHREAD_MUTEX_INITIALIZER; /* held by the call using the pool */
static int n_workers = 0;
static __thread int on_worker = 0;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline uint32_t gen_of(uint64_t s) { return (uint32_t)(s >> 32); }

/* Takes a seat in job `gen` if it still offers one; 1 on success. */
static int take_seat(uint32_t gen) {
    uint64_t s = __atomic_load_n(&slot, __ATOMIC_SEQ_CST);
    while (gen_of(s) == gen && (uint32_t)s > 0)
        if (__atomic_compare_exchange_n(&slot, &s, s - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return 1;
    return 0;
}

static void *worker_main(void *arg) {
    uint32_t seen = (uint32_t)(uintptr_t)arg;
    on_worker = 1;
    for (;;) {
        double last = now_seconds();
        const double until = last + FS_POOL_POLL_SECONDS;
        long spins = 0;
        uint32_t gen;
        while ((gen = gen_of(__atomic_load_n(&slot, __ATOMIC_ACQUIRE))) == seen) {
            double t;
            cpu_relax();
            if ((++spins & 63) != 0) continue;
            t = now_seconds();
            if (t > until || t - last > FS_POOL_GAP_SECONDS) {
                pthread_mutex_lock(&mu);
                __atomic_add_fetch(&sleepers, 1, __ATOMIC_SEQ_CST);
                while (gen_of(__atomic_load_n(&slot, __ATOMIC_SEQ_CST)) == seen)
                    pthread_cond_wait(&work, &mu);
                __atomic_sub_fetch(&sleepers, 1, __ATOMIC_SEQ_CST);
                pthread_mutex_unlock(&mu);
            }
            last = t;
        }
        seen = gen;
        __atomic_add_fetch(&running, 1, __ATOMIC_SEQ_CST);
        if (take_seat(gen)) job_body(job_ctx); /* published before the slot: acquire above */
        __atomic_sub_fetch(&running, 1, __ATOMIC_SEQ_CST);
    }
    return 0;
}

#ifdef _OPENMP
/* Another library's OpenMP team in this process's OpenMP runtime (torch's intra-op threads:
   both link libgomp.so.1, and one copy is loaded). After a parallel region its threads spin
   for a few ms (libgomp's default wait policy) on the cores our workers would use, and a
   call made then runs best on that team, whose threads take it at once. Once they sleep, a
   region pays their wake-up and waits at its join for every one of them (~5.7 ms after a
   50 ms pause on a 2-core VM, for torch's own ops too), so a call then goes to the pool. */
#define FS_TEAM_MAX 64
/* How long the members' CPU clocks are watched: a spinning member's advances by as much. */
#define FS_TEAM_WATCH_SECONDS 2e-6
static int team_enabled = 0;
static pthread_t team_master; /* the thread whose team may be used (it enabled it) */
/* The CPU clocks of the calling thread's team, members 1.. (learnt in a region it ran), and
   how many members are known: 0 none yet, -1 the runtime gave a team of another size. */
static __thread clockid_t team_clock[FS_TEAM_MAX];
static __thread int team_known = 0;

struct team_call {
    void (*body)(void *);
    void *ctx;
    clockid_t *clocks;
    int failed;
};

static void run_on_team(int n, void (*body)(void *), void *ctx) {
    struct team_call call = {body, ctx, team_clock, 0};
#pragma omp parallel num_threads(n)
    {
        const int i = omp_get_thread_num(), was_worker = on_worker;
        if (omp_get_num_threads() != n ||
            (i > 0 && pthread_getcpuclockid(pthread_self(), &call.clocks[i]) != 0))
            __atomic_store_n(&call.failed, 1, __ATOMIC_RELAXED);
        on_worker = i > 0; /* the team's other threads are workers of this call */
        call.body(call.ctx);
        on_worker = was_worker;
    }
    team_known = call.failed ? -1 : n;
}

static double cpu_seconds(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) return -1.0; /* the thread is gone */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 1 if members 1..n-1 of the calling thread's team are all on a CPU now. */
static int team_spinning(int n) {
    double before[FS_TEAM_MAX], t0;
    int i;
    for (i = 1; i < n; i++)
        if ((before[i] = cpu_seconds(team_clock[i])) < 0) return team_known = 0;
    t0 = now_seconds();
    while (now_seconds() - t0 < FS_TEAM_WATCH_SECONDS) cpu_relax();
    for (i = 1; i < n; i++)
        if (cpu_seconds(team_clock[i]) - before[i] < 0.5 * FS_TEAM_WATCH_SECONDS) return 0;
    return 1;
}

void fs_set_openmp_team(int on) {
    if (on) team_master = pthread_self();
    __atomic_store_n(&team_enabled, on != 0, __ATOMIC_RELEASE);
}

/* 1 when the call ran on the OpenMP team. */
static int try_team(int n, void (*body)(void *), void *ctx) {
    if (!__atomic_load_n(&team_enabled, __ATOMIC_ACQUIRE) || n > FS_TEAM_MAX ||
        team_known < 0 || !pthread_equal(pthread_self(), team_master) || omp_in_parallel())
        return 0;
    if (team_known < n || team_spinning(n)) { /* a team is learnt in the first call */
        run_on_team(n, body, ctx);
        return 1;
    }
    return 0;
}
#else
void fs_set_openmp_team(int on) { (void)on; }
static int try_team(int n, void (*body)(void *), void *ctx) {
    (void)n, (void)body, (void)ctx;
    return 0;
}
#endif

void fs_run_parallel(int n, void (*body)(void *), void *ctx) {
    int k;
    uint32_t gen;
    if (n <= 1 || on_worker) {
        body(ctx);
        return;
    }
    if (try_team(n, body, ctx)) return;
    if (pthread_mutex_trylock(&user) != 0) {
        body(ctx);
        return;
    }
    if (n - 1 > FS_POOL_MAX) n = FS_POOL_MAX + 1;
    gen = gen_of(__atomic_load_n(&slot, __ATOMIC_SEQ_CST)) + 1;
    while (n_workers < n - 1) {
        pthread_t th;
        pthread_attr_t attr;
        int failed;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* a new worker waits for the job opened below */
        failed = pthread_create(&th, &attr, worker_main, (void *)(uintptr_t)(gen - 1));
        pthread_attr_destroy(&attr);
        if (failed) break; /* fewer workers: the caller does more */
#ifdef __linux__
        pthread_setname_np(th, "fastseq-pool"); /* for top -H, py-spy, debuggers */
#endif
        n_workers++;
    }
    k = n - 1 < n_workers ? n - 1 : n_workers;
    job_body = body;
    job_ctx = ctx;
    /* seq_cst: this store and the load of `sleepers` pair with a sleeper's increment and
       its load of `slot`, so that one of the two sees the other */
    __atomic_store_n(&slot, ((uint64_t)gen << 32) | (uint32_t)k, __ATOMIC_SEQ_CST);
    if (k > 0 && __atomic_load_n(&sleepers, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&mu);
        pthread_cond_broadcast(&work);
        pthread_mutex_unlock(&mu);
    }

    body(ctx);

    /* close the job, then wait for the workers inside it (one group each at most) */
    __atomic_store_n(&slot, (uint64_t)gen << 32, __ATOMIC_SEQ_CST);
    {
        long spins = 0;
        while (__atomic_load_n(&running, __ATOMIC_SEQ_CST) > 0)
            if ((++spins & 1023) == 0) sched_yield();
            else cpu_relax();
    }
    pthread_mutex_unlock(&user);
}

int fs_on_worker(void) { return on_worker; }

#else /* no pthreads or no atomics: the caller does everything */

void fs_run_parallel(int n, void (*body)(void *), void *ctx) {
    (void)n;
    body(ctx);
}

int fs_on_worker(void) { return 0; }

void fs_set_openmp_team(int on) { (void)on; }

#endif
