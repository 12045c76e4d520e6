/* The persistent worker pool of the kernels (pool.h). */
#include "pool.h"

#if (defined(__unix__) || defined(__APPLE__)) && defined(__GNUC__)
#include <pthread.h>

/* The pool's threads never exceed this; a call asks for at most the processors it may use. */
#define FS_POOL_MAX 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER; /* a job was opened */
static pthread_cond_t done = PTHREAD_COND_INITIALIZER; /* the last participant left */
static pthread_mutex_t user = PTHREAD_MUTEX_INITIALIZER; /* held by the call using the pool */
static void (*job_body)(void *) = 0; /* the open job (NULL: none) */
static void *job_ctx = 0;
static unsigned long job_gen = 0; /* jobs opened so far (atomic: read while spinning) */
static int seats = 0;             /* workers the open job still takes */
static int running = 0;           /* workers inside a body */
static int n_workers = 0;         /* threads started */
static __thread int on_worker = 0;

/* After a job a worker polls for the next one this many times (~50 us) before it sleeps:
   back-to-back calls then find it awake, and it costs a busy machine little. */
#define FS_POOL_SPINS 1000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg) {
    unsigned long seen = (unsigned long)arg;
    on_worker = 1;
    pthread_mutex_lock(&mu);
    for (;;) {
        if (job_gen == seen) {
            int spins;
            pthread_mutex_unlock(&mu);
            for (spins = 0; spins < FS_POOL_SPINS &&
                            __atomic_load_n(&job_gen, __ATOMIC_ACQUIRE) == seen; spins++)
                cpu_relax();
            pthread_mutex_lock(&mu);
        }
        while (job_gen == seen) pthread_cond_wait(&work, &mu);
        seen = job_gen;
        if (job_body && seats > 0) {
            void (*body)(void *) = job_body;
            void *ctx = job_ctx;
            seats--;
            running++;
            pthread_mutex_unlock(&mu);
            body(ctx);
            pthread_mutex_lock(&mu);
            if (--running == 0) pthread_cond_signal(&done);
        }
    }
    return 0;
}

void fs_run_parallel(int n, void (*body)(void *), void *ctx) {
    int k;
    if (n <= 1 || on_worker || pthread_mutex_trylock(&user) != 0) {
        body(ctx);
        return;
    }
    pthread_mutex_lock(&mu);
    if (n - 1 > FS_POOL_MAX) n = FS_POOL_MAX + 1;
    while (n_workers < n - 1) {
        pthread_t th;
        pthread_attr_t attr;
        int failed;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        /* the new worker waits for the job opened below */
        failed = pthread_create(&th, &attr, worker_main, (void *)job_gen);
        pthread_attr_destroy(&attr);
        if (failed) break; /* fewer workers: the caller does more */
        n_workers++;
    }
    k = n - 1 < n_workers ? n - 1 : n_workers;
    job_body = body;
    job_ctx = ctx;
    seats = k;
    __atomic_store_n(&job_gen, job_gen + 1, __ATOMIC_RELEASE); /* spinning workers read it */
    if (k > 0) pthread_cond_broadcast(&work);
    pthread_mutex_unlock(&mu);

    body(ctx);

    pthread_mutex_lock(&mu);
    job_body = 0; /* closed: a worker waking from now on finds nothing to do */
    seats = 0;
    while (running > 0) pthread_cond_wait(&done, &mu);
    pthread_mutex_unlock(&mu);
    pthread_mutex_unlock(&user);
}

int fs_on_worker(void) { return on_worker; }

#else /* no pthreads or no atomics: the caller does everything */

void fs_run_parallel(int n, void (*body)(void *), void *ctx) {
    (void)n;
    body(ctx);
}

int fs_on_worker(void) { return 0; }

#endif
