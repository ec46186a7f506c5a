#include "idp/render.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define RENDER_MAX_FILE ((size_t)256 * 1024)
#define RENDER_MAX_DEPTH 8

/* Supported languages: tag, name in that language, right-to-left. English first: it is
 * the source catalog and the fallback for any missing key. */
static const struct {
    const char *tag;
    const char *name;
    int rtl;
} LANGS[] = {
    {"en", "English", 0},  {"nl", "Nederlands", 0},    {"de", "Deutsch", 0},
    {"fr", "Français", 0}, {"es", "Español", 0},       {"tr", "Türkçe", 0},
    {"ar", "العربية", 1},  {"zh-Hans", "简体中文", 0}, {"pap", "Papiamentu", 0},
};
#define NLANGS (sizeof LANGS / sizeof LANGS[0])

typedef struct {
    char *name; /* "login" or "wereldpas.js" */
    char *body;
    size_t len;
    unsigned char *gz; /* gzip copy of an asset, or NULL */
    size_t gz_len;
    char url[96];
    const char *ctype;
} file_t;

struct render {
    file_t *pages;
    size_t npages;
    file_t *assets;
    size_t nassets;
    json_t *catalogs[NLANGS];
    char source_url[256];
};

/* Reads a whole file of at most RENDER_MAX_FILE bytes; NUL-terminated. NULL on error. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f)
        return NULL;
    buf = malloc(RENDER_MAX_FILE + 1);
    if (!buf)
        goto out;
    *len = fread(buf, 1, RENDER_MAX_FILE + 1, f);
    if (*len > RENDER_MAX_FILE || ferror(f)) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[*len] = '\0';
out:
    fclose(f);
    return buf;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && strcmp(s + n - m, suf) == 0;
}

/* Loads every file of dir with the suffix into *files. Returns 0 or -1. */
static int load_dir(const char *dir, const char *suffix, file_t **files, size_t *n, char *err,
                    size_t err_size)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d) {
        snprintf(err, err_size, "cannot open template folder %s", dir);
        return -1;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, suffix))
            continue;
        char path[1024];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *body = read_file(path, &len);
        file_t *nf = realloc(*files, (*n + 1) * sizeof **files);
        if (!body || !nf) {
            free(body);
            if (nf)
                *files = nf;
            closedir(d);
            snprintf(err, err_size, "cannot read %s", path);
            return -1;
        }
        *files = nf;
        file_t *f = &nf[(*n)++];
        memset(f, 0, sizeof *f);
        f->name = strdup(e->d_name);
        f->body = body;
        f->len = len;
    }
    closedir(d);
    return 0;
}

/* Merges every *.json of a language's folder into one catalog; a key defined twice is an
 * error. Returns a new object or NULL with err. */
static json_t *load_catalog(const char *dir, char *err, size_t err_size)
{
    DIR *d = opendir(dir);
    json_t *all = json_object();
    struct dirent *e;
    if (!d || !all) {
        snprintf(err, err_size, "cannot open message catalog folder %s", dir);
        goto fail;
    }
    while ((e = readdir(d))) {
        char path[1024];
        json_error_t jerr;
        const char *key;
        json_t *v;
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".json"))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        json_t *part = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(part)) {
            snprintf(err, err_size, "%s:%d: %s", path, jerr.line, jerr.text);
            json_decref(part);
            goto fail;
        }
        json_object_foreach(part, key, v)
        {
            if (json_object_get(all, key) || !json_is_string(v)) {
                snprintf(err, err_size, "%s: key %s is defined twice or not a string", path, key);
                json_decref(part);
                goto fail;
            }
            json_object_set(all, key, v);
        }
        json_decref(part);
    }
    closedir(d);
    return all;
fail:
    if (d)
        closedir(d);
    json_decref(all);
    return NULL;
}

/* Compresses an asset once at start (gzip, best compression), so that it is served
 * precompressed. Leaves f->gz NULL when it would not be smaller. */
static void asset_gzip(file_t *f)
{
    z_stream z = {0};
    size_t cap = compressBound((uLong)f->len) + 64;
    unsigned char *out = malloc(cap);
    if (!out ||
        deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return;
    }
    z.next_in = (Bytef *)f->body;
    z.avail_in = (uInt)f->len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < f->len) {
        f->gz = out;
        f->gz_len = z.total_out;
        out = NULL;
    }
    deflateEnd(&z);
    free(out);
}

static void asset_url(file_t *f)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(f->body, f->len, md, &mdlen, EVP_sha256(), NULL);
    snprintf(f->url, sizeof f->url, "/static/%s?v=%02x%02x%02x%02x%02x%02x", f->name, md[0], md[1],
             md[2], md[3], md[4], md[5]);
    f->ctype = has_suffix(f->name, ".js")    ? "text/javascript; charset=utf-8"
               : has_suffix(f->name, ".css") ? "text/css; charset=utf-8"
               : has_suffix(f->name, ".svg") ? "image/svg+xml"
                                             : "application/octet-stream";
}

render_t *render_open(const char *dir, char *err, size_t err_size)
{
    render_t *r = calloc(1, sizeof *r);
    char path[1024];
    if (!r)
        return NULL;
    if (load_dir(dir, ".html", &r->pages, &r->npages, err, err_size) != 0)
        goto fail;
    for (size_t i = 0; i < r->npages; i++)
        r->pages[i].name[strlen(r->pages[i].name) - 5] = '\0';
    snprintf(path, sizeof path, "%s/static", dir);
    if (load_dir(path, ".js", &r->assets, &r->nassets, err, err_size) != 0 ||
        load_dir(path, ".css", &r->assets, &r->nassets, err, err_size) != 0)
        goto fail;
    for (size_t i = 0; i < r->nassets; i++) {
        asset_url(&r->assets[i]);
        asset_gzip(&r->assets[i]);
    }
    for (size_t i = 0; i < NLANGS; i++) {
        snprintf(path, sizeof path, "%s/i18n/%s", dir, LANGS[i].tag);
        if (i > 0 && access(path, R_OK) != 0) { /* not translated yet: English */
            r->catalogs[i] = json_incref(r->catalogs[0]);
            continue;
        }
        json_t *own = load_catalog(path, err, err_size);
        if (!own)
            goto fail;
        /* Every language starts as English, so a missing key never shows as empty. */
        r->catalogs[i] = i == 0 ? own : json_deep_copy(r->catalogs[0]);
        if (i > 0) {
            json_object_update(r->catalogs[i], own);
            json_decref(own);
        }
    }
    return r;
fail:
    render_free(r);
    return NULL;
}

static void files_free(file_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].name);
        free(f[i].body);
        free(f[i].gz);
    }
    free(f);
}

void render_free(render_t *r)
{
    if (!r)
        return;
    files_free(r->pages, r->npages);
    files_free(r->assets, r->nassets);
    for (size_t i = 0; i < NLANGS; i++)
        json_decref(r->catalogs[i]);
    free(r);
}

static int lang_index(const char *tag, size_t len)
{
    /* Chinese: only the simplified script (zh, zh-Hans, zh-CN, zh-SG). */
    if (len >= 2 && strncasecmp(tag, "zh", 2) == 0 && (len == 2 || tag[2] == '-')) {
        char t[32];
        snprintf(t, sizeof t, "%.*s", (int)(len < 31 ? len : 31), tag);
        if (strcasestr(t, "hant") || strcasestr(t, "-tw") || strcasestr(t, "-hk") ||
            strcasestr(t, "-mo"))
            return -1;
        for (size_t i = 0; i < NLANGS; i++)
            if (strcmp(LANGS[i].tag, "zh-Hans") == 0)
                return (int)i;
    }
    for (size_t i = 0; i < NLANGS; i++) {
        size_t l = strlen(LANGS[i].tag);
        if (len >= l && strncasecmp(tag, LANGS[i].tag, l) == 0 && (len == l || tag[l] == '-'))
            return (int)i;
    }
    return -1;
}

const char *render_lang_supported(const char *tag)
{
    int i = tag ? lang_index(tag, strlen(tag)) : -1;
    return i >= 0 ? LANGS[i].tag : NULL;
}

const char *render_lang_list(const char *tags)
{
    const char *p = tags ? tags : "";
    p += strspn(p, " ");
    while (*p) {
        size_t n = strcspn(p, " ");
        int i = lang_index(p, n);
        if (i >= 0)
            return LANGS[i].tag;
        p += n;
        p += strspn(p, " ");
    }
    return NULL;
}

const char *render_lang(const render_t *r, const char *ui_locales, const char *accept_language)
{
    (void)r;
    const char *listed = render_lang_list(ui_locales);
    if (listed)
        return listed;
    if (accept_language) {
        /* Pick the supported tag with the highest q (first wins on a tie). */
        int best = -1;
        double best_q = 0.0;
        const char *p = accept_language;
        while (*p) {
            p += strspn(p, " ,");
            size_t n = strcspn(p, ",");
            size_t tag = strcspn(p, ";,");
            double q = 1.0;
            const char *qs = memchr(p, ';', n);
            if (qs) {
                const char *eq = strstr(qs, "q=");
                if (eq && eq < p + n)
                    q = strtod(eq + 2, NULL);
            }
            while (tag > 0 && p[tag - 1] == ' ')
                tag--;
            int i = lang_index(p, tag);
            if (i >= 0 && q > best_q) {
                best = i;
                best_q = q;
            }
            p += n;
        }
        if (best >= 0)
            return LANGS[best].tag;
    }
    return "en";
}

static json_t *catalog(const render_t *r, const char *lang)
{
    for (size_t i = 0; i < NLANGS; i++)
        if (strcmp(LANGS[i].tag, lang) == 0)
            return r->catalogs[i];
    return r->catalogs[0];
}

const char *render_msg(const render_t *r, const char *lang, const char *key)
{
    const char *s = json_string_value(json_object_get(catalog(r, lang), key));
    if (!s)
        s = json_string_value(json_object_get(r->catalogs[0], key));
    return s ? s : key;
}

json_t *render_time(int64_t t)
{
    return t > 0 ? json_pack("{s:I}", "unix_time", (json_int_t)t) : json_null();
}

/* Writes the ISO 8601 form (UTC) and the text of t in lang (catalog keys date_format
 * and date_month_1..12). 0, or -1 when t cannot be converted. text is malloc'd. */
static int date_text(const render_t *r, const char *lang, int64_t t, char iso[32], char **text)
{
    char day[16], year[16], clock[32], key[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return -1;
    strftime(iso, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(day, sizeof day, "%d", tm.tm_mday);
    snprintf(year, sizeof year, "%d", tm.tm_year + 1900);
    snprintf(clock, sizeof clock, "%02d:%02d", tm.tm_hour, tm.tm_min);
    snprintf(key, sizeof key, "date_month_%d", tm.tm_mon + 1);
    const char *const names[] = {"day", "month", "year", "time"};
    const char *const values[] = {day, render_msg(r, lang, key), year, clock};
    *text = render_fill(render_msg(r, lang, "date_format"), names, values, 4);
    return *text ? 0 : -1;
}

char *render_fill(const char *tpl, const char *const *names, const char *const *values, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    while (*tpl) {
        size_t i = n;
        if (*tpl == '{')
            for (i = 0; i < n; i++) {
                size_t l = strlen(names[i]);
                if (strncmp(tpl + 1, names[i], l) == 0 && tpl[l + 1] == '}')
                    break;
            }
        if (i < n) {
            fputs(values[i], f);
            tpl += strlen(names[i]) + 2;
        } else {
            fputc(*tpl++, f);
        }
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- the template engine ---- */

typedef struct {
    json_t *scopes[RENDER_MAX_DEPTH + 1];
    int nscopes;
    FILE *out;
    const render_t *r;
    const char *lang;
} tpl_t;

/* Resolves a dotted name through the scopes, innermost first. Borrowed or NULL. */
static json_t *lookup(const tpl_t *t, const char *name, size_t len)
{
    for (int s = t->nscopes - 1; s >= 0; s--) {
        json_t *v = t->scopes[s];
        const char *p = name, *end = name + len;
        while (v && p < end) {
            const char *dot = memchr(p, '.', (size_t)(end - p));
            size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
            char key[128];
            if (n >= sizeof key)
                return NULL;
            memcpy(key, p, n);
            key[n] = '\0';
            v = json_is_object(v) ? json_object_get(v, key) : NULL;
            p += n + (dot ? 1 : 0);
        }
        if (v)
            return v;
    }
    return NULL;
}

static int truthy(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    return 1;
}

static void put_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*s, out);
        }
    }
}

static void put_value(const tpl_t *t, const json_t *v, int raw)
{
    FILE *out = t->out;
    char num[32], iso[32];
    const char *s = NULL;
    const json_t *unix_time = json_object_get(v, "unix_time");
    if (json_is_integer(unix_time) && json_object_size(v) == 1) {
        /* A date from render_time(): the text in the page's language (UTC), which
         * wereldpas.js may show in the device's time zone; datetime keeps the instant. */
        char *text = NULL;
        if (date_text(t->r, t->lang, json_integer_value(unix_time), iso, &text) == 0) {
            fprintf(out, "<time datetime=\"%s\" data-local>", iso);
            put_escaped(out, text);
            fputs("</time>", out);
        }
        free(text);
        return;
    }
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        s = num;
    }
    if (!s)
        return;
    if (raw)
        fputs(s, out);
    else
        put_escaped(out, s);
}

/* Finds the {{/name}} closing the section opened just before p, honouring nesting. */
static const char *section_end(const char *p, const char *end, const char *name, size_t len,
                               const char **after)
{
    int depth = 1;
    while (p < end) {
        const char *o = strstr(p, "{{");
        if (!o || o >= end)
            return NULL;
        const char *c = strstr(o, "}}");
        if (!c)
            return NULL;
        if ((o[2] == '#' || o[2] == '^') && (size_t)(c - o - 3) == len &&
            memcmp(o + 3, name, len) == 0)
            depth++;
        else if (o[2] == '/' && (size_t)(c - o - 3) == len && memcmp(o + 3, name, len) == 0) {
            if (--depth == 0) {
                *after = c + 2;
                return o;
            }
        }
        p = c + 2;
    }
    return NULL;
}

/* {{%name}}: the string name (usually a catalog message, t.KEY) with each "{member}"
 * replaced by that member of the current scope, HTML-escaped (a date as a <time>
 * element). The literal text is escaped too; an unknown placeholder stays visible. */
static void put_filled(tpl_t *t, const json_t *msg)
{
    const char *s = json_string_value(msg);
    if (!s)
        return;
    while (*s) {
        const char *o = strchr(s, '{');
        const char *c = o ? strchr(o + 1, '}') : NULL;
        size_t n = c ? (size_t)(c - o - 1) : 0;
        if (!o || !c || n == 0 || n > 64 || strcspn(o + 1, "{} ") != n) {
            size_t lit = o ? (size_t)(o - s) + 1 : strlen(s);
            char *part = strndup(s, lit);
            if (part)
                put_escaped(t->out, part);
            free(part);
            s += lit;
            continue;
        }
        char *part = strndup(s, (size_t)(o - s));
        if (part)
            put_escaped(t->out, part);
        free(part);
        const json_t *v = lookup(t, o + 1, n);
        if (v)
            put_value(t, v, 0);
        else
            fwrite(o, 1, n + 2, t->out);
        s = c + 1;
    }
}

static void render_range(tpl_t *t, const char *p, const char *end)
{
    while (p < end) {
        const char *o = strstr(p, "{{");
        if (!o || o >= end) {
            fwrite(p, 1, (size_t)(end - p), t->out);
            return;
        }
        fwrite(p, 1, (size_t)(o - p), t->out);
        int raw = o[2] == '{';
        const char *c = strstr(o, raw ? "}}}" : "}}");
        if (!c || c >= end)
            return;
        const char *name = o + 2 + raw;
        char kind = *name;
        if (kind == '#' || kind == '^') {
            name++;
            size_t len = (size_t)(c - name);
            const char *after = NULL;
            const char *close = section_end(c + 2, end, name, len, &after);
            if (!close)
                return;
            json_t *v = lookup(t, name, len);
            if (kind == '^') {
                if (!truthy(v))
                    render_range(t, c + 2, close);
            } else if (json_is_array(v) && t->nscopes < RENDER_MAX_DEPTH) {
                size_t i;
                json_t *item;
                json_array_foreach(v, i, item)
                {
                    t->scopes[t->nscopes++] = item;
                    render_range(t, c + 2, close);
                    t->nscopes--;
                }
            } else if (json_is_object(v) && t->nscopes < RENDER_MAX_DEPTH) {
                /* An object section brings its members into scope (as in mustache). */
                t->scopes[t->nscopes++] = v;
                render_range(t, c + 2, close);
                t->nscopes--;
            } else if (truthy(v)) {
                render_range(t, c + 2, close);
            }
            p = after;
            continue;
        }
        if (kind == '%' && !raw)
            put_filled(t, lookup(t, name + 1, (size_t)(c - name - 1)));
        else
            put_value(t, lookup(t, name, (size_t)(c - name)), raw);
        p = c + (raw ? 3 : 2);
    }
}

static const file_t *find(const file_t *files, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

/* Renders one template with ctx into a malloc'd string. */
static char *render_one(const render_t *r, const char *lang, const file_t *f, json_t *ctx,
                        size_t *len)
{
    char *buf = NULL;
    tpl_t t = {.nscopes = 1, .r = r, .lang = lang};
    t.scopes[0] = ctx;
    t.out = open_memstream(&buf, len);
    if (!t.out)
        return NULL;
    render_range(&t, f->body, f->body + f->len);
    if (fclose(t.out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

const char *render_asset_url(const render_t *r, const char *name)
{
    const file_t *f = find(r->assets, r->nassets, name);
    return f ? f->url : "";
}

char *render_page(const render_t *r, const char *name, const char *lang, json_t *ctx, size_t *len)
{
    const file_t *page = find(r->pages, r->npages, name);
    const file_t *layout = find(r->pages, r->npages, "layout");
    char *inner = NULL, *html = NULL;
    size_t inner_len = 0;
    if (!page || !layout)
        return NULL;
    json_object_set(ctx, "t", catalog(r, lang));
    json_object_set_new(ctx, "lang", json_string(lang));
    int rtl = 0;
    json_t *langs = json_array();
    for (size_t i = 0; i < NLANGS; i++) {
        int current = strcmp(LANGS[i].tag, lang) == 0;
        rtl |= current && LANGS[i].rtl;
        json_array_append_new(langs, json_pack("{s:s, s:s, s:b}", "code", LANGS[i].tag, "name",
                                               LANGS[i].name, "current", current));
    }
    json_object_set_new(ctx, "languages", langs);
    json_object_set_new(ctx, "dir", json_string(rtl ? "rtl" : "ltr"));
    json_object_set_new(ctx, "asset_css", json_string(render_asset_url(r, "wereldpas.css")));
    json_object_set_new(ctx, "asset_js", json_string(render_asset_url(r, "wereldpas.js")));
    inner = render_one(r, lang, page, ctx, &inner_len);
    if (!inner)
        return NULL;
    json_object_set_new(ctx, "content", json_string(inner));
    html = render_one(r, lang, layout, ctx, len);
    free(inner);
    json_object_del(ctx, "content");
    return html;
}

int render_static_gzip(const render_t *r, const char *path, const unsigned char **body, size_t *len)
{
    if (strncmp(path, "/static/", 8) != 0)
        return -1;
    const file_t *f = find(r->assets, r->nassets, path + 8);
    if (!f || !f->gz)
        return -1;
    *body = f->gz;
    *len = f->gz_len;
    return 0;
}

int render_static(const render_t *r, const char *path, const char **body, size_t *len,
                  const char **ctype)
{
    if (strncmp(path, "/static/", 8) != 0)
        return -1;
    const file_t *f = find(r->assets, r->nassets, path + 8);
    if (!f)
        return -1;
    *body = f->body;
    *len = f->len;
    *ctype = f->ctype;
    return 0;
}
