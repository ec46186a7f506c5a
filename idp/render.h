/* Pages from templates/ with automatic HTML escaping, message catalogs per language,
 * and the static assets (CSS, the WebAuthn JS), all loaded once at start.
 *
 * Template syntax: {{a.b}} inserts a value HTML-escaped; {{{a}}} inserts it raw (only
 * the layout uses it, for the already-rendered page); {{#a}}...{{/a}} renders the inner
 * part when a is truthy (once per item for an array, with the item's members in scope);
 * {{^a}}...{{/a}} when it is falsy. "t.KEY" looks KEY up in the language's catalog. */
#ifndef IDP_RENDER_H
#define IDP_RENDER_H

#include <jansson.h>
#include <stddef.h>

#include "idp/app.h"

/* Loads every template, catalog and asset under dir. NULL with err on failure. */
render_t *render_open(const char *dir, char *err, size_t err_size);
void render_free(render_t *r);

/* Chooses the language: the first supported tag of ui_locales (space separated), then of
 * Accept-Language (quality ordered), else "en". Returns a static string. */
const char *render_lang(const render_t *r, const char *ui_locales, const char *accept_language);

/* The supported tag for a language tag ("nl-BE" -> "nl"), or NULL. Static string. */
const char *render_lang_supported(const char *tag);

/* A message of the catalog of lang (falls back to English, then to the key). */
const char *render_msg(const render_t *r, const char *lang, const char *key);

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
