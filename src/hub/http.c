/* The two HTTP requests a hub download needs, on libcurl's easy API: a HEAD that reads the
 * hub's metadata headers (commit, etag, size, where the bytes live) and a resumable GET. */
#define _POSIX_C_SOURCE 200809L
#include "hub/hub_internal.h"
#include "util/error.h"
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HUB_USER_AGENT "affect/0.1"

void hub_file_meta_free(hub_file_meta *m) {
    free(m->location);
    m->location = NULL;
}

/* The token huggingface_hub would use: HF_TOKEN, else the file `huggingface-cli login`
 * wrote (HF_TOKEN_PATH, else $HF_HOME/token, else ~/.cache/huggingface/token). A token
 * that would break the header (control characters) is refused rather than sent. */
static int load_token(char **out, affect_error *err) {
    *out = NULL;
    const char *v = getenv("HF_TOKEN");
    char buf[1024];
    if (!v || !*v) {
        char path[HUB_PATH_MAX];
        const char *p = getenv("HF_TOKEN_PATH"), *home = getenv("HF_HOME"), *h = getenv("HOME");
        if (p && *p) snprintf(path, sizeof path, "%s", p);
        else if (home && *home) snprintf(path, sizeof path, "%s/token", home);
        else if (h && *h) snprintf(path, sizeof path, "%s/.cache/huggingface/token", h);
        else return 0;
        FILE *f = fopen(path, "rb");
        if (!f) return 0;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        v = buf;
    }
    size_t a = 0, b = strlen(v);
    while (a < b && isspace((unsigned char)v[a])) a++;
    while (b > a && isspace((unsigned char)v[b - 1])) b--;
    if (a == b) return 0;
    for (size_t i = a; i < b; i++)
        if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
            return affect_fail(err, AFFECT_EARG, "the Hugging Face token has a character that cannot go in an HTTP header");
    const char *prefix = "Authorization: Bearer ";
    size_t pl = strlen(prefix);
    char *h = malloc(pl + (b - a) + 1);
    if (!h) return affect_fail(err, AFFECT_ENOMEM, "out of memory for the token");
    memcpy(h, prefix, pl);
    memcpy(h + pl, v + a, b - a);
    h[pl + (b - a)] = 0;
    *out = h;
    return 0;
}

int hub_http_open(hub_http *h, affect_error *err) {
    memset(h, 0, sizeof *h);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return affect_fail(err, AFFECT_ENET, "libcurl failed to initialise");
    h->curl = curl_easy_init();
    if (!h->curl) {
        curl_global_cleanup();
        return affect_fail(err, AFFECT_ENET, "libcurl failed to create a handle");
    }
    int rc = load_token(&h->auth_header, err);
    if (rc) {
        hub_http_close(h);
        return rc;
    }
    return 0;
}

void hub_http_close(hub_http *h) {
    if (h->curl) {
        curl_easy_cleanup(h->curl);
        curl_global_cleanup();
    }
    free(h->auth_header);
    memset(h, 0, sizeof *h);
}

/* Options every request shares. Proxies come from libcurl's defaults (https_proxy, ...). */
typedef struct req_common {
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
} req_common;

static int set_common(hub_http *h, const char *url, req_common *rq, affect_error *err) {
    CURL *c = h->curl;
    curl_easy_reset(c);
    rq->errbuf[0] = 0;
    rq->headers = NULL;
    if (h->auth_header) {
        rq->headers = curl_slist_append(NULL, h->auth_header);
        if (!rq->headers) return affect_fail(err, AFFECT_ENOMEM, "out of memory for HTTP headers");
    }
    CURLcode e = CURLE_OK;
#define SET(opt, val) if (e == CURLE_OK) e = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_ERRORBUFFER, rq->errbuf);
    SET(CURLOPT_USERAGENT, HUB_USER_AGENT);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT, 30L);
    /* Less than 1 kB/s for a whole minute is a dead transfer; it is resumed, not waited on. */
    SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
    SET(CURLOPT_LOW_SPEED_TIME, 60L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    if (rq->headers) SET(CURLOPT_HTTPHEADER, rq->headers);
#undef SET
    if (e != CURLE_OK) {
        curl_slist_free_all(rq->headers);
        rq->headers = NULL;
        return affect_fail(err, AFFECT_ENET, "libcurl rejected an option: %s", curl_easy_strerror(e));
    }
    return 0;
}

/* ---- HEAD ------------------------------------------------------------------------------ */

typedef struct head_state {
    hub_file_meta *meta;
    char linked_etag[256], etag[256], error_code[64], location[16];
    uint64_t linked_size, length;
    int have_linked_size, have_length;
} head_state;

/* Copies a header value if `line` is that header (names compare case-insensitively); a
 * value that does not fit is read as empty, never cut short. */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t outlen) {
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':') return 0;
    size_t a = k + 1, b = n;
    while (a < b && (line[a] == ' ' || line[a] == '\t')) a++;
    while (b > a && isspace((unsigned char)line[b - 1])) b--;
    if (b - a >= outlen) b = a; /* too long to be a value we use: read as empty */
    memcpy(out, line + a, b - a);
    out[b - a] = 0;
    return 1;
}

/* An etag as the cache names its blob: W/"abc" and "abc" are both abc. */
static void strip_etag(char *s) {
    char *p = s;
    if (p[0] == 'W' && p[1] == '/') p += 2;
    size_t n = strlen(p);
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        p++;
        n -= 2;
    }
    memmove(s, p, n);
    s[n] = 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!*s) return 0;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        if (v > (UINT64_MAX - 9) / 10) return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

static size_t on_head_header(char *buf, size_t size, size_t nitems, void *user) {
    head_state *st = user;
    size_t n = size * nitems;
    char v[64];
    if (n >= 5 && !strncmp(buf, "HTTP/", 5)) { /* a new response: forget the previous one's */
        hub_file_meta *m = st->meta;
        memset(st, 0, sizeof *st);
        st->meta = m;
        m->commit[0] = 0;
    } else if (header_value(buf, n, "X-Repo-Commit", st->meta->commit, sizeof st->meta->commit) ||
               header_value(buf, n, "X-Linked-Etag", st->linked_etag, sizeof st->linked_etag) ||
               header_value(buf, n, "ETag", st->etag, sizeof st->etag) ||
               header_value(buf, n, "X-Error-Code", st->error_code, sizeof st->error_code)) {
        /* stored by header_value */
    } else if (n > 9 && !strncasecmp(buf, "Location:", 9)) {
        /* only whether it is absolute matters: keep its start */
        size_t a = 9;
        while (a < n && (buf[a] == ' ' || buf[a] == '\t')) a++;
        size_t k = n - a < sizeof st->location - 1 ? n - a : sizeof st->location - 1;
        memcpy(st->location, buf + a, k);
        st->location[k] = 0;
    } else if (header_value(buf, n, "X-Linked-Size", v, sizeof v)) {
        st->have_linked_size = parse_u64(v, &st->linked_size);
    } else if (header_value(buf, n, "Content-Length", v, sizeof v)) {
        st->have_length = parse_u64(v, &st->length);
    }
    return n;
}

/* Why an HTTP status failed, in words a user can act on. */
static const char *status_hint(long status, const char *error_code) {
    if (!strcmp(error_code, "RepoNotFound")) return " (repository not found, or private/gated: set HF_TOKEN)";
    if (!strcmp(error_code, "RevisionNotFound")) return " (revision not found)";
    if (!strcmp(error_code, "EntryNotFound")) return " (no such file in the repository)";
    if (!strcmp(error_code, "GatedRepo")) return " (gated repository: accept its terms on the hub and set HF_TOKEN)";
    if (status == 401) return " (unauthorized: the repository may be private or gated; set HF_TOKEN)";
    if (status == 403) return " (forbidden: check HF_TOKEN's access)";
    if (status == 404) return " (not found)";
    return "";
}

/* Redirects inside the hub (relative: a renamed repository) are followed here; an absolute
 * redirect points at the bytes, typically a CDN for LFS files, carries the hub's metadata
 * (X-Repo-Commit, X-Linked-Etag, X-Linked-Size) and is where the GET will go. */
int hub_http_head(hub_http *h, const char *url, hub_file_meta *meta, affect_error *err) {
    memset(meta, 0, sizeof *meta);
    char *cur = strdup(url);
    if (!cur) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    int rc = 0;
    for (int hop = 0;; hop++) {
        if (hop > 10) {
            rc = affect_fail(err, AFFECT_ENET, "too many redirects from %s", url);
            break;
        }
        req_common rq;
        if ((rc = set_common(h, cur, &rq, err))) break;
        head_state st;
        memset(&st, 0, sizeof st);
        st.meta = meta;
        CURLcode e = curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
        if (e == CURLE_OK) e = curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
        if (e == CURLE_OK) e = curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_head_header);
        if (e == CURLE_OK) e = curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &st);
        if (e == CURLE_OK) e = curl_easy_perform(h->curl);
        long status = 0;
        char *redirect = NULL;
        if (e == CURLE_OK) e = curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
        if (e == CURLE_OK) e = curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_URL, &redirect);
        curl_slist_free_all(rq.headers);
        if (e != CURLE_OK) {
            rc = affect_fail(err, AFFECT_ENET, "request to %s failed: %s", cur,
                             rq.errbuf[0] ? rq.errbuf : curl_easy_strerror(e));
            break;
        }
        meta->status = status;
        if (status >= 400) {
            rc = affect_fail(err, (status == 404 || status == 401 || status == 403) ? AFFECT_ENOTFOUND : AFFECT_ENET,
                             "HTTP %ld for %s%s", status, cur, status_hint(status, st.error_code));
            break;
        }
        int is_redirect = status >= 300 && status < 400;
        if (is_redirect && !redirect) {
            rc = affect_fail(err, AFFECT_ENET, "HTTP %ld without a Location for %s", status, cur);
            break;
        }
        /* As huggingface_hub does: a relative Location stays on the hub (a renamed repository)
         * and is followed; an absolute one is where the bytes are (the LFS/CDN redirect). */
        int absolute = !strncasecmp(st.location, "http://", 7) || !strncasecmp(st.location, "https://", 8);
        if (is_redirect && !absolute) {
            char *next = strdup(redirect);
            if (!next) { rc = affect_fail(err, AFFECT_ENOMEM, "out of memory"); break; }
            free(cur);
            cur = next;
            continue;
        }
        snprintf(meta->etag, sizeof meta->etag, "%s", st.linked_etag[0] ? st.linked_etag : st.etag);
        strip_etag(meta->etag);
        if (st.have_linked_size) { meta->size = st.linked_size; meta->have_size = 1; }
        else if (st.have_length && !is_redirect) { meta->size = st.length; meta->have_size = 1; }
        if (is_redirect) {
            meta->location = strdup(redirect);
            if (!meta->location) { rc = affect_fail(err, AFFECT_ENOMEM, "out of memory"); break; }
        } else {
            meta->location = cur;
            cur = NULL;
        }
        break;
    }
    free(cur);
    if (rc) hub_file_meta_free(meta);
    return rc;
}

/* ---- GET ------------------------------------------------------------------------------- */

typedef struct get_state {
    CURL *curl;
    int fd;
    uint64_t offset;      /* bytes in the file */
    uint64_t received;    /* bytes this request wrote */
    uint64_t range_start; /* from Content-Range; valid when have_range */
    int have_range;
    int checked;          /* the first body bytes have been vetted */
    int io_errno;
    const char *why;      /* why the write callback stopped the transfer */
    hub_bytes_fn fn;
    void *user;
} get_state;

static size_t on_get_header(char *buf, size_t size, size_t nitems, void *user) {
    get_state *st = user;
    size_t n = size * nitems;
    char v[128];
    if (n >= 5 && !strncmp(buf, "HTTP/", 5)) st->have_range = 0;
    else if (header_value(buf, n, "Content-Range", v, sizeof v)) {
        /* bytes START-END/TOTAL */
        char *p = v;
        if (!strncasecmp(p, "bytes ", 6)) {
            p += 6;
            char *dash = strchr(p, '-');
            if (dash) {
                *dash = 0;
                st->have_range = parse_u64(p, &st->range_start);
            }
        }
    }
    return n;
}

/* Before the first byte is written we know which response we got: 206 must continue exactly
 * where the file ends; 200 means the server ignored Range and the file starts over. */
static int vet_first_bytes(get_state *st) {
    long status = 0;
    if (curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) {
        st->why = "cannot read the HTTP status";
        return -1;
    }
    if (status == 206) {
        if (!st->have_range || st->range_start != st->offset) {
            st->why = "the server answered the Range request with another range";
            return -1;
        }
    } else if (st->offset > 0) {
        if (ftruncate(st->fd, 0) != 0) { st->io_errno = errno; st->why = "truncate failed"; return -1; }
        st->offset = 0;
    }
    if (lseek(st->fd, (off_t)st->offset, SEEK_SET) < 0) { st->io_errno = errno; st->why = "seek failed"; return -1; }
    return 0;
}

static size_t on_get_body(char *buf, size_t size, size_t nitems, void *user) {
    get_state *st = user;
    size_t n = size * nitems;
    if (!st->checked) {
        if (vet_first_bytes(st)) return 0;
        st->checked = 1;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(st->fd, buf + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            st->io_errno = w < 0 ? errno : EIO;
            st->why = "write failed";
            return 0;
        }
        off += (size_t)w;
    }
    st->offset += n;
    st->received += n;
    if (st->fn) st->fn(st->user, st->received);
    return n;
}

/* Transport failures that mean "the connection broke": resuming is the cure. */
static int retryable_curl(CURLcode e) {
    return e == CURLE_PARTIAL_FILE || e == CURLE_RECV_ERROR || e == CURLE_SEND_ERROR ||
           e == CURLE_OPERATION_TIMEDOUT || e == CURLE_GOT_NOTHING || e == CURLE_COULDNT_CONNECT ||
           e == CURLE_SSL_CONNECT_ERROR;
}

int hub_http_get(hub_http *h, const char *url, int fd, uint64_t *offset, hub_bytes_fn fn,
                 void *user, int *retryable, affect_error *err) {
    *retryable = 0;
    if (*offset > (uint64_t)INT64_MAX) return affect_fail(err, AFFECT_EARG, "resume offset too large");
    req_common rq;
    int rc = set_common(h, url, &rq, err);
    if (rc) return rc;
    get_state st;
    memset(&st, 0, sizeof st);
    st.curl = h->curl;
    st.fd = fd;
    st.offset = *offset;
    st.fn = fn;
    st.user = user;
    CURLcode e = curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 1L);
    if (e == CURLE_OK) e = curl_easy_setopt(h->curl, CURLOPT_MAXREDIRS, 10L);
    if (e == CURLE_OK) e = curl_easy_setopt(h->curl, CURLOPT_FAILONERROR, 1L);
    /* CURLOPT_RANGE rather than RESUME_FROM: a server that ignores Range must not be an
     * error, the file just starts over (see vet_first_bytes). */
    char range[32];
    snprintf(range, sizeof range, "%" PRIu64 "-", *offset);
    if (e == CURLE_OK && *offset > 0) e = curl_easy_setopt(h->curl, CURLOPT_RANGE, range);
    if (e == CURLE_OK) e = curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_get_header);
    if (e == CURLE_OK) e = curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &st);
    if (e == CURLE_OK) e = curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_get_body);
    if (e == CURLE_OK) e = curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &st);
    if (e != CURLE_OK) {
        curl_slist_free_all(rq.headers);
        return affect_fail(err, AFFECT_ENET, "libcurl rejected an option: %s", curl_easy_strerror(e));
    }
    e = curl_easy_perform(h->curl);
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(rq.headers);
    *offset = st.offset;
    if (e == CURLE_OK && !st.checked) { /* an empty body: still decide what the file holds */
        if (vet_first_bytes(&st)) e = CURLE_WRITE_ERROR;
        else *offset = st.offset;
    }
    if (e == CURLE_OK) return 0;
    if (e == CURLE_WRITE_ERROR && st.why) {
        if (st.io_errno)
            return affect_fail(err, AFFECT_EIO, "download of %s: %s: %s", url, st.why, strerror(st.io_errno));
        return affect_fail(err, AFFECT_ENET, "download of %s: %s", url, st.why);
    }
    if (e == CURLE_HTTP_RETURNED_ERROR) {
        if (status == 416) { /* our partial file is not a prefix the server knows: start over */
            if (ftruncate(fd, 0) == 0) { *offset = 0; *retryable = 1; }
        }
        if (status >= 500) *retryable = 1;
        return affect_fail(err, status == 404 ? AFFECT_ENOTFOUND : AFFECT_ENET, "HTTP %ld for %s%s",
                           status, url, status_hint(status, ""));
    }
    *retryable = retryable_curl(e);
    return affect_fail(err, AFFECT_ENET, "download of %s failed after %" PRIu64 " bytes: %s", url,
                       st.received, rq.errbuf[0] ? rq.errbuf : curl_easy_strerror(e));
}
