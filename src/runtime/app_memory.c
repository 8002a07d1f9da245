/* The runtime's memory: locked, dump-excluded pages for secrets, and the application's
 * memory budget (gtee_app_options.memory_limit), checked before a plaintext is allocated. */
#include <sys/mman.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/sdk.h"
#include "runtime/internal.h"

int sdk_memory_lock_optional;

void *gtee_app_secret_alloc(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    if ((mlock(p, len) != 0 || madvise(p, len, MADV_DONTDUMP) != 0) && !sdk_memory_lock_optional) {
        munmap(p, len);
        return NULL;
    }
    return p;
}

void gtee_app_secret_free(void *p, size_t len)
{
    if (!p)
        return;
    gtee_wipe(p, len);
    munlock(p, len);
    munmap(p, len);
}

int gtee_app_reserve(struct gtee_app *app, uint64_t bytes, const char *what, struct gtee_err *err)
{
    uint64_t cur = atomic_load(&app->memory_used);

    do {
        if (bytes > app->memory_limit - cur)
            return GTEE_FAIL(err, GTEE_ELIMIT,
                             "sdk: %s needs %llu bytes, but only %llu of the enclave's %llu-byte memory limit are free",
                             what, (unsigned long long)bytes, (unsigned long long)(app->memory_limit - cur),
                             (unsigned long long)app->memory_limit);
    } while (!atomic_compare_exchange_weak(&app->memory_used, &cur, cur + bytes));
    return 0;
}

void gtee_app_release(struct gtee_app *app, uint64_t bytes)
{
    atomic_fetch_sub(&app->memory_used, bytes);
}

uint64_t gtee_app_memory_free(const struct gtee_app *app)
{
    return app->memory_limit - atomic_load(&app->memory_used);
}
