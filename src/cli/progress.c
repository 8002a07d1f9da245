/* A progress bar on stderr for long seal/open runs: percent, bytes and MB/s, redrawn at
 * most ten times a second; drawn only on a terminal for large inputs unless forced. */
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define REDRAW_INTERVAL 0.1
#define BAR_WIDTH 30

void cli_progress_init(struct cli_progress *p, int mode, uint64_t total, const char *label)
{
    memset(p, 0, sizeof(*p));
    p->total = total;
    p->label = label;
    if (mode == CLI_PROGRESS_ON)
        p->enabled = 1;
    else if (mode == CLI_PROGRESS_AUTO)
        p->enabled = isatty(STDERR_FILENO) && total >= CLI_PROGRESS_MIN_BYTES && !cli_json();
    p->start = cli_now();
    p->last = p->start;
}

static void draw(struct cli_progress *p, double now)
{
    double secs = now - p->start;
    double mbs = secs > 0 ? (double)p->done / 1e6 / secs : 0.0;

    if (p->total) {
        double frac = (double)p->done / (double)p->total;
        int fill;
        char bar[BAR_WIDTH + 1];

        if (frac > 1.0)
            frac = 1.0;
        fill = (int)(frac * BAR_WIDTH);
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r%s [%s] %3d%% %llu/%llu MiB %.1f MB/s ", p->label, bar, (int)(frac * 100.0),
                (unsigned long long)(p->done >> 20), (unsigned long long)(p->total >> 20), mbs);
    } else {
        fprintf(stderr, "\r%s %llu MiB %.1f MB/s ", p->label, (unsigned long long)(p->done >> 20), mbs);
    }
    fflush(stderr);
}

void cli_progress_update(uint64_t done, void *arg)
{
    struct cli_progress *p = arg;
    double now;

    if (!p || !p->enabled)
        return;
    p->done = done;
    now = cli_now();
    if (now - p->last < REDRAW_INTERVAL)
        return;
    p->last = now;
    draw(p, now);
}

void cli_progress_finish(struct cli_progress *p)
{
    if (!p->enabled)
        return;
    draw(p, cli_now());
    fputc('\n', stderr);
}
