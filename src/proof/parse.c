/* Reading a Work Proof file (docs/proofs.md "File format"): one proof object or an array of
 * them, straight into struct gtee_proof, with the same strictness as the format asks (every
 * field once, no other, hex of the exact length, integers from 0 to 2^63-1).
 *
 * Written here rather than through jansson's json_loadb: a verifier reads files of up to
 * 65,536 proofs, and building a general tree (an allocation per value, a hash table per
 * object) and then looking each field up cost more than a third of `gtee proof verify`'s
 * time beside the signature recovery it exists for (docs/proofs.md "Performance"). The
 * schema is fixed and flat, so one pass over the bytes fills the fields directly, with no
 * allocation but the array of proofs. It accepts exactly what a strict JSON parser would
 * accept for this schema (RFC 8259 grammar, escapes included; fuzz/fuzz_proof.c checks it
 * against jansson on every input), and its errors name the proof, the field and where in
 * the file (line, column, byte). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/guard.h"
#include "gtee/crypto.h"
#include "gtee/proof.h"

#define PROOF_FORMAT "gtee-work-proof-1"
/* No valid string value is longer (a signature: 0x and 130 hex digits). */
#define STR_MAX 136
/* A byte no valid value holds: stands for any non-ASCII character in a string. */
#define NON_ASCII 0x80

enum field {
    F_FORMAT, F_DOMAIN, F_ENCLAVE, F_JOB_ID, F_JOB_KIND, F_MODEL, F_INPUT, F_OUTPUT, F_UNITS, F_RECEIPT,
    F_START, F_END, F_SEQ, F_PREV, F_EVIDENCE, F_GPU, F_SIG, F_COUNT,
    /* the domain's */
    D_CHAIN_ID = 0, D_CONTRACT, D_COUNT,
};

static const char *const proof_keys[F_COUNT] = {
    "format", "domain", "enclave_id", "job_id", "job_kind", "model_cid", "input_cid", "output_cid", "units",
    "receipt_hash", "start_time", "end_time", "seq", "prev_hash", "evidence_hash", "gpu_evidence_hash",
    "signature",
};
static const char *const domain_keys[D_COUNT] = { "chain_id", "contract" };

struct rd {
    const unsigned char *s;
    size_t len, pos;
    size_t at;              /* where the failing token starts */
    struct gtee_err *err;
};

struct str {
    char b[STR_MAX + 1];
    size_t n;               /* decoded length; more than STR_MAX when it did not fit */
};

static int fail(struct rd *r, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct rd *r, size_t at, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    r->at = at;
    return GTEE_FAIL(r->err, GTEE_EFORMAT, "%s", msg);
}

static void skip_ws(struct rd *r)
{
    while (r->pos < r->len &&
           (r->s[r->pos] == ' ' || r->s[r->pos] == '\n' || r->s[r->pos] == '\r' || r->s[r->pos] == '\t'))
        r->pos++;
}

/* The next non-blank byte, or -1 at the end. */
static int peek(struct rd *r)
{
    skip_ws(r);
    return r->pos < r->len ? r->s[r->pos] : -1;
}

static int expect(struct rd *r, char c)
{
    if (peek(r) != c)
        return r->pos < r->len ? fail(r, r->pos, "not JSON: expected '%c'", c)
                               : fail(r, r->pos, "not JSON: the file ends where '%c' was expected", c);
    r->pos++;
    return 0;
}

/* A JSON string (RFC 8259 §7) into s: escapes decoded; any character outside ASCII becomes
 * NON_ASCII (no key or value has one), after its UTF-8 or \u escape has been checked as a
 * strict parser checks it, so that what this accepts is valid JSON. */
static int read_string(struct rd *r, struct str *out)
{
    size_t start;

    out->n = 0;
    if (peek(r) != '"')
        return fail(r, r->pos, "not JSON: expected a string");
    start = r->pos++;
    for (;;) {
        unsigned c;

        if (r->pos >= r->len)
            return fail(r, start, "not JSON: a string that does not end");
        c = r->s[r->pos++];
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(r, r->pos - 1, "not JSON: a control character in a string");
        if (c == '\\') {
            unsigned e = r->pos < r->len ? r->s[r->pos++] : 0;

            switch (e) {
            case '"': case '\\': case '/': break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                unsigned u = 0;

                for (int i = 0; i < 4; i++) {
                    int h = r->pos < r->len ? gtee_hex_digit(r->s[r->pos]) : -1;

                    if (h < 0)
                        return fail(r, r->pos, "not JSON: a \\u escape without four hex digits");
                    u = u << 4 | (unsigned)h;
                    r->pos++;
                }
                /* A surrogate must come in a pair (RFC 8259 §7), as jansson insists. */
                if (u >= 0xdc00 && u <= 0xdfff)
                    return fail(r, r->pos - 6, "not JSON: a lone low surrogate in a \\u escape");
                if (u >= 0xd800 && u <= 0xdbff) {
                    unsigned lo = 0;

                    if (r->pos + 6 > r->len || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u')
                        return fail(r, r->pos - 6, "not JSON: a lone high surrogate in a \\u escape");
                    for (int i = 2; i < 6; i++) {
                        int h = gtee_hex_digit(r->s[r->pos + i]);

                        if (h < 0)
                            return fail(r, r->pos, "not JSON: a \\u escape without four hex digits");
                        lo = lo << 4 | (unsigned)h;
                    }
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return fail(r, r->pos - 6, "not JSON: a lone high surrogate in a \\u escape");
                    r->pos += 6;
                }
                /* U+0000 is refused, as jansson does without JSON_ALLOW_NUL. */
                if (u == 0)
                    return fail(r, r->pos - 6, "not JSON: \\u0000 in a string");
                c = u < 0x80 ? u : NON_ASCII;
                break;
            }
            default:
                return fail(r, r->pos - 1, "not JSON: an invalid escape in a string");
            }
        }
        else if (c >= 0x80) {
            /* UTF-8 (RFC 3629 §4): the lead byte says how many continuation bytes follow;
             * no overlong form, no surrogate, nothing above U+10FFFF. */
            unsigned need, cp, min;

            if (c >= 0xc2 && c <= 0xdf)
                need = 1, cp = c & 0x1f, min = 0x80;
            else if (c >= 0xe0 && c <= 0xef)
                need = 2, cp = c & 0x0f, min = 0x800;
            else if (c >= 0xf0 && c <= 0xf4)
                need = 3, cp = c & 0x07, min = 0x10000;
            else
                return fail(r, r->pos - 1, "not JSON: invalid UTF-8 in a string");
            for (unsigned i = 0; i < need; i++) {
                if (r->pos >= r->len || (r->s[r->pos] & 0xc0) != 0x80)
                    return fail(r, r->pos, "not JSON: invalid UTF-8 in a string");
                cp = cp << 6 | (r->s[r->pos++] & 0x3f);
            }
            if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return fail(r, r->pos - need - 1, "not JSON: invalid UTF-8 in a string");
            c = NON_ASCII;
        }
        if (out->n < STR_MAX)
            out->b[out->n] = (char)c;
        out->n++;
    }
    out->b[out->n < STR_MAX ? out->n : STR_MAX] = '\0';
    return 0;
}

/* (A decoded string holds no NUL: raw control bytes and \u0000 are refused.) */
static int str_is(const struct str *s, const char *want)
{
    return s->n <= STR_MAX && !strcmp(s->b, want);
}

/* A JSON integer from 0 to 2^63-1 (what the file format's integers are; json_int_t's
 * range). Any other number, or another type, is named as such. */
static int read_u64(struct rd *r, const char *field, uint64_t *out)
{
    size_t start;
    uint64_t v = 0;
    int neg = 0, c = peek(r);

    start = r->pos;
    if (c != '-' && (c < '0' || c > '9'))
        return fail(r, start, "field '%s' must be an integer from 0 to 2^63-1", field);
    if (c == '-') {
        neg = 1;
        r->pos++;
    }
    if (r->pos >= r->len || r->s[r->pos] < '0' || r->s[r->pos] > '9')
        return fail(r, start, "not JSON: a '-' without digits");
    if (r->s[r->pos] == '0') {
        r->pos++;
        if (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
            return fail(r, start, "not JSON: a number with a leading zero");
    }
    else
        while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') {
            unsigned d = r->s[r->pos++] - '0';

            if (v > (UINT64_C(0x7fffffffffffffff) - d) / 10)
                return fail(r, start, "field '%s' must be an integer from 0 to 2^63-1", field);
            v = v * 10 + d;
        }
    if (r->pos < r->len && (r->s[r->pos] == '.' || r->s[r->pos] == 'e' || r->s[r->pos] == 'E'))
        return fail(r, start, "field '%s' must be an integer from 0 to 2^63-1", field);
    if (neg && v != 0)
        return fail(r, start, "field '%s' must be an integer from 0 to 2^63-1", field);
    *out = v;
    return 0;
}

/* A string of 0x and exactly 2 * len hex digits, either case. */
static int read_hex(struct rd *r, const char *field, uint8_t *out, size_t len)
{
    size_t start;
    struct str s;
    int rc;

    skip_ws(r);
    start = r->pos;
    if (peek(r) != '"')
        return fail(r, start, "field '%s' must be 0x and %zu hex digits", field, 2 * len);
    /* The common spelling, "0x" and the digits with no escape, decoded in place; anything
     * else goes through the string reader below. */
    if (r->len - start >= 4 + 2 * len && r->s[start + 1] == '0' && r->s[start + 2] == 'x' &&
        r->s[start + 3 + 2 * len] == '"' && gtee_hex_bytes((const char *)r->s + start + 3, len, out) == 0) {
        r->pos = start + 4 + 2 * len;
        return 0;
    }
    if ((rc = read_string(r, &s)) < 0)
        return rc;
    if (s.n != 2 + 2 * len || s.b[0] != '0' || s.b[1] != 'x' || gtee_hex_bytes(s.b + 2, len, out) < 0)
        return fail(r, start, "field '%s' must be 0x and %zu hex digits", field, 2 * len);
    return 0;
}

/* Whether the key expected next is there spelled plainly (quotes, its name, no escape), as
 * files write it: then it is taken without decoding, since read_string would decode it to
 * itself; any other spelling goes through read_string and key_index. */
static int plain_key(struct rd *r, const char *key)
{
    const unsigned char *s = r->s + r->pos, *end = r->s + r->len;

    /* byte by byte: the keys are short, and a call to strlen and memcmp each cost more */
    if (s == end || *s++ != '"')
        return 0;
    for (; *key; key++, s++)
        if (s == end || *s != (unsigned char)*key)
            return 0;
    if (s == end || *s != '"')
        return 0;
    r->pos = (size_t)(s + 1 - r->s);
    return 1;
}

/* Which of keys s is, or -1; tried from hint on, since files list the keys in order. */
static int key_index(const struct str *s, const char *const *keys, int n, int hint)
{
    for (int j = 0; j < n; j++) {
        int i = (hint + j) % n;

        if (str_is(s, keys[i]))
            return i;
    }
    return -1;
}

/* The members of an object, each key once and known: calls member(r, which, arg) with the
 * reader at the value. missing receives the first key never seen, or -1. */
static int read_object(struct rd *r, const char *const *keys, int nkeys, const char *where,
                       int (*member)(struct rd *, int, void *), void *arg, int *missing)
{
    unsigned seen = 0;
    struct str k;
    int rc, next = 0;

    TRY(expect(r, '{'));
    if (peek(r) == '}')
        r->pos++;
    else
        for (;;) {
            size_t at;
            int i;

            skip_ws(r);
            at = r->pos;
            if (plain_key(r, keys[next]))
                i = next;
            else {
                TRY(read_string(r, &k));
                i = key_index(&k, keys, nkeys, next);
            }
            if (i < 0) {
                /* the name as given, printable */
                for (char *c = k.b; *c; c++)
                    if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                        *c = '?';
                rc = fail(r, at, "unknown field '%.64s' in %s", k.b, where);
                goto out;
            }
            if (seen & 1u << i) {
                rc = fail(r, at, "field '%s' appears twice in %s", keys[i], where);
                goto out;
            }
            seen |= 1u << i;
            next = (i + 1) % nkeys;
            TRY(expect(r, ':'));
            TRY(member(r, i, arg));
            if (peek(r) == ',') {
                r->pos++;
                continue;
            }
            TRY(expect(r, '}'));
            break;
        }
    *missing = -1;
    for (int i = 0; i < nkeys && *missing < 0; i++)
        if (!(seen & 1u << i))
            *missing = i;
    rc = 0;
out:
    return rc;
}

static int domain_member(struct rd *r, int which, void *arg)
{
    struct gtee_proof_domain *d = arg;
    size_t at;
    int rc;

    skip_ws(r);
    at = r->pos;
    if (which == D_CONTRACT)
        return read_hex(r, "contract", d->contract, sizeof(d->contract));
    TRY(read_u64(r, "chain_id", &d->chain_id));
    if (d->chain_id == 0)
        rc = fail(r, at, "domain chain_id is 0");
out:
    return rc;
}

static int proof_member(struct rd *r, int which, void *arg)
{
    struct gtee_proof *p = arg;
    struct str s;
    size_t at;
    int missing, rc;

    skip_ws(r);
    at = r->pos;
    switch (which) {
    case F_FORMAT:
        if (peek(r) != '"')
            return fail(r, at, "field 'format' must be \"%s\"", PROOF_FORMAT);
        TRY(read_string(r, &s));
        if (!str_is(&s, PROOF_FORMAT))
            return fail(r, at, "field 'format' must be \"%s\"", PROOF_FORMAT);
        return 0;
    case F_DOMAIN:
        if (peek(r) != '{')
            return fail(r, at, "field 'domain' must be an object");
        TRY(read_object(r, domain_keys, D_COUNT, "'domain'", domain_member, &p->domain, &missing));
        if (missing >= 0)
            return fail(r, at, "field '%s' is missing in 'domain'", domain_keys[missing]);
        return 0;
    case F_JOB_KIND:
        if (peek(r) == '"') {
            TRY(read_string(r, &s));
            for (unsigned k = GTEE_JOB_INFERENCE; k <= GTEE_JOB_APP; k++)
                if (str_is(&s, gtee_job_kind_name(k))) {
                    p->job_kind = (uint8_t)k;
                    return 0;
                }
        }
        return fail(r, at, "field 'job_kind' must be \"inference\", \"training\" or \"app\"");
    case F_ENCLAVE: return read_hex(r, proof_keys[which], p->enclave_id, sizeof(p->enclave_id));
    case F_JOB_ID: return read_hex(r, proof_keys[which], p->job_id, sizeof(p->job_id));
    case F_MODEL: return read_hex(r, proof_keys[which], p->model_cid, sizeof(p->model_cid));
    case F_INPUT: return read_hex(r, proof_keys[which], p->input_cid, sizeof(p->input_cid));
    case F_OUTPUT: return read_hex(r, proof_keys[which], p->output_cid, sizeof(p->output_cid));
    case F_RECEIPT: return read_hex(r, proof_keys[which], p->receipt_hash, sizeof(p->receipt_hash));
    case F_PREV: return read_hex(r, proof_keys[which], p->prev_hash, sizeof(p->prev_hash));
    case F_EVIDENCE: return read_hex(r, proof_keys[which], p->evidence_hash, sizeof(p->evidence_hash));
    case F_GPU: return read_hex(r, proof_keys[which], p->gpu_evidence_hash, sizeof(p->gpu_evidence_hash));
    case F_SIG: return read_hex(r, proof_keys[which], p->sig, sizeof(p->sig));
    case F_UNITS: return read_u64(r, proof_keys[which], &p->units);
    case F_START: return read_u64(r, proof_keys[which], &p->start_time);
    case F_END: return read_u64(r, proof_keys[which], &p->end_time);
    case F_SEQ: return read_u64(r, proof_keys[which], &p->seq);
    default: return fail(r, at, "internal: field %d", which);
    }
out:
    return rc;
}

static int read_proof(struct rd *r, struct gtee_proof *p)
{
    size_t at;
    int missing, rc;

    memset(p, 0, sizeof(*p));
    skip_ws(r);
    at = r->pos;
    if (peek(r) != '{')
        return r->pos < r->len ? fail(r, at, "not a JSON object")
                               : fail(r, at, "not JSON: the file ends where a proof was expected");
    TRY(read_object(r, proof_keys, F_COUNT, "the proof", proof_member, p, &missing));
    if (missing >= 0)
        rc = fail(r, at, "field '%s' is missing", proof_keys[missing]);
out:
    return rc;
}

/* Line and column (from 1) of byte at, for the error message: only on failure. */
static void where(const unsigned char *s, size_t at, unsigned *line, unsigned *col)
{
    const unsigned char *nl = s;

    *line = 1;
    for (const unsigned char *c = s; c < s + at; c++)
        if (*c == '\n') {
            (*line)++;
            nl = c + 1;
        }
    *col = (unsigned)(s + at - nl) + 1;
}

static int grow(struct gtee_proof **ps, size_t *cap, struct gtee_err *err)
{
    size_t n = *cap ? 2 * *cap : 16;
    struct gtee_proof *g;

    if (n > GTEE_PROOF_MAX_PROOFS)
        n = GTEE_PROOF_MAX_PROOFS;
    g = realloc(*ps, n * sizeof(**ps));
    if (!g)
        return GTEE_FAIL(err, GTEE_ENOMEM, "proof file: out of memory for %zu proofs", n);
    *ps = g;
    *cap = n;
    return 0;
}

int gtee_proof_parse(const void *buf, size_t len, struct gtee_proof **out, size_t *n, struct gtee_err *err)
{
    struct rd r = { .s = buf, .len = len, .err = err };
    struct gtee_proof *ps = NULL;
    size_t count = 0, cap = 0, at = 0;
    int rc = 0, c;

    *out = NULL;
    *n = 0;
    ENSURE(len <= GTEE_PROOF_FILE_MAX, err, GTEE_EFORMAT, "proof file: %zu bytes, more than the %u allowed", len,
           GTEE_PROOF_FILE_MAX);
    /* Room for every proof the file can hold at once: a proof is never shorter than 900
     * bytes, so large files rarely grow the array. */
    cap = len / 900 + 1;
    if (cap > GTEE_PROOF_MAX_PROOFS)
        cap = GTEE_PROOF_MAX_PROOFS;
    ps = malloc(cap * sizeof(*ps));
    ENSURE(ps, err, GTEE_ENOMEM, "proof file: out of memory for %zu proofs", cap);
    c = peek(&r);
    if (c == '{') {
        rc = read_proof(&r, &ps[0]);
        if (rc < 0)
            goto located;
        count = 1;
    }
    else if (c == '[') {
        r.pos++;
        if (peek(&r) == ']') {
            rc = fail(&r, r.pos, "no proof in the array; from 1 to %u allowed", GTEE_PROOF_MAX_PROOFS);
            goto located;
        }
        for (;;) {
            if (count == GTEE_PROOF_MAX_PROOFS) {
                rc = fail(&r, r.pos, "more than %u proofs", GTEE_PROOF_MAX_PROOFS);
                goto located;
            }
            if (count == cap)
                TRY(grow(&ps, &cap, err));
            rc = read_proof(&r, &ps[count]);
            if (rc < 0)
                goto proof_failed;
            count++;
            if (peek(&r) == ',') {
                r.pos++;
                continue;
            }
            rc = expect(&r, ']');
            if (rc < 0)
                goto located;
            break;
        }
    }
    else {
        rc = c < 0 ? fail(&r, r.pos, "not JSON: empty")
                   : fail(&r, r.pos, "neither a proof object nor an array of proofs");
        goto located;
    }
    if (peek(&r) >= 0) {
        rc = fail(&r, r.pos, "not JSON: more after the end of the proofs");
        goto located;
    }
    *out = ps;
    *n = count;
    ps = NULL;
    goto out;
proof_failed: {
        unsigned line, col;

        where(r.s, r.at, &line, &col);
        gtee_err_wrap(err, "proof %zu (line %u, column %u, byte %zu): ", count, line, col, r.at);
        goto out;
    }
located: {
        unsigned line, col;

        at = r.at;
        where(r.s, at, &line, &col);
        gtee_err_wrap(err, "proof file (line %u, column %u, byte %zu): ", line, col, at);
    }
out:
    free(ps);
    return rc;
}
