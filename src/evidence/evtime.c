/* Time strings of evidence and collateral: RFC 3339 (Intel collateral dates, `--at`) or a
 * decimal unix time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/guard.h"
#include "evidence/dcap.h"

static bool digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" per RFC 3339 section 5.6. */
int dcap_time_parse(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    struct tm tm = {0};
    const char *p;
    time_t t;

    if (!s || strlen(s) < 20)
        return GTEE_EFORMAT;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' || !digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return GTEE_EFORMAT;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return GTEE_EFORMAT;
    p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return GTEE_EFORMAT;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        sign = 0;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2, &oh) && p[3] == ':' &&
               digits(p + 4, 2, &om) && oh <= 23 && om <= 59) {
        sign = *p == '+' ? 1 : -1;
    } else {
        return GTEE_EFORMAT;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1 && !(y == 1969))
        return GTEE_EFORMAT;
    *out = (int64_t)t - sign * (int64_t)(oh * 3600 + om * 60);
    return 0;
}

/* Times beyond what X.509 and RFC 3339 can write (year 9999) or before 1970 are refused
 * here, rather than overflowing into a misleading verdict later. */
static int in_range(const char *s, int64_t v, bool overflow, int64_t *out, struct gtee_err *err)
{
    if (overflow || v < 0 || v > GTEE_TIME_MAX)
        return GTEE_FAIL(err, GTEE_EFORMAT, "time: \"%.40s\" is out of range: unix seconds 0..%lld "
                         "(1970-01-01T00:00:00Z..9999-12-31T23:59:59Z)", s, (long long)GTEE_TIME_MAX);
    *out = v;
    return 0;
}

int gtee_time_parse(const char *s, int64_t *out, struct gtee_err *err)
{
    char *end = NULL;
    long long v;
    int64_t t;

    if (s && *s >= '0' && *s <= '9' && strchr(s, '-') == NULL) {
        errno = 0;
        v = strtoll(s, &end, 10);
        if (end && *end == '\0')
            return in_range(s, (int64_t)v, errno == ERANGE, out, err);
    }
    if (dcap_time_parse(s, &t) == 0)
        return in_range(s, t, false, out, err);
    return GTEE_FAIL(err, GTEE_EFORMAT, "time: \"%.40s\" is neither RFC 3339 nor a unix time", s ? s : "");
}

bool dcap_cert_window(const X509 *x, int64_t *not_before, int64_t *not_after)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) != 1)
        return false;
    *not_before = (int64_t)timegm(&tm);
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
        return false;
    *not_after = (int64_t)timegm(&tm);
    return true;
}
