/* Pages from templates/ with automatic HTML escaping, message catalogs per language,
 * and the static assets (CSS, the WebAuthn JS), all loaded once at start.
 *
 * Template syntax: {{a.b}} inserts a value HTML-escaped; {{{a}}} inserts it raw (only
 * the layout uses it, for the already-rendered page); {{#a}}...{{/a}} renders the inner
 * part when a is truthy (once per item for an array, with the item's members in scope);
 * {{^a}}...{{/a}} when it is falsy. "t.KEY" looks KEY up in the language's catalog.
 * {{%a}} inserts the string a (e.g. {{%t.KEY}}) with each "{name}" in it replaced by the
 * value name of the current scope, so a sentence around a value is one catalog message. */
#ifndef IDP_RENDER_H
#define IDP_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "idp/app.h"

/* Loads every template, catalog and asset under dir. NULL with err on failure. */
render_t *render_open(const char *dir, char *err, size_t err_size);
void render_free(render_t *r);

/* Chooses the language: the first supported tag of ui_locales (space separated), then of
 * Accept-Language (quality ordered), else "en". Returns a static string. */
const char *render_lang(const render_t *r, const char *ui_locales, const char *accept_language);

/* The first supported tag of a space-separated list (ui_locales), or NULL. Static string. */
const char *render_lang_list(const char *tags);

/* The supported tag for a language tag ("nl-BE" -> "nl"), or NULL. Static string. */
const char *render_lang_supported(const char *tag);

/* A message of the catalog of lang (falls back to English, then to the key). */
const char *render_msg(const render_t *r, const char *lang, const char *key);

/* A point in time for a template: {"unix_time": t}, which {{value}} shows as
 * <time datetime="2026-11-28T16:44:00Z" data-local>28 November 2026, 16:44 UTC</time>,
 * the text in the page's language (catalog keys date_format, date_month_1..12).
 * Returns a new reference (json_decref); json_null() for t <= 0. */
json_t *render_time(int64_t t);

/* tpl with every "{names[i]}" replaced by values[i] (n pairs; other braces stay).
 * Returns malloc'd text (free()) or NULL when out of memory. */
char *render_fill(const char *tpl, const char *const *names, const char *const *values, size_t n);

/* Renders template `name` (without .html) inside the layout. ctx is borrowed; the keys
 * "t", "lang", "dir", "asset_css", "asset_js", "source_url" are added. Returns malloc'd
 * HTML (free()) and its length, or NULL. */
char *render_page(const render_t *r, const char *name, const char *lang, json_t *ctx, size_t *len);

/* A static asset by request path ("/static/NAME"). Returns 0 and borrowed pointers, or -1. */
int render_static(const render_t *r, const char *path, const char **body, size_t *len,
                  const char **ctype);

/* The gzip-compressed copy of the same asset, made once at start. 0 and borrowed
 * pointers, or -1 when there is none. */
int render_static_gzip(const render_t *r, const char *path, const unsigned char **body,
                       size_t *len);

/* The versioned URL of an asset, e.g. "/static/wereldpas.js?v=1a2b3c4d". */
const char *render_asset_url(const render_t *r, const char *name);

#endif
