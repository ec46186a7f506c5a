/* Fuzzes the template renderer with hostile context values: the input (a JSON object, or
 * else text put into every value the templates use) fills the context of each page in
 * turn; the language comes from the input as ui_locales and Accept-Language. A value can
 * never bring markup into the page: "<wpfuzz" must not appear in the output. */
#include <jansson.h>

#include "idp/render.h"
#include "tests/fuzz/fuzz_util.h"

static render_t *render;

static const char *const pages[] = {"account", "enrol",     "enrol_code", "enrol_diploma",
                                    "error",   "form_post", "login",      "logout",
                                    "recover", "signed_out"};
static const char *const keys[] = {"action", "content", "created", "csrf",      "dir",
                                   "error",  "flow",    "lang",    "last_used", "message",
                                   "name",   "title",   "value",   "source_url"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512];
    (void)argc;
    (void)argv;
    render = render_open(WP_TEMPLATE_DIR, err, sizeof err);
    if (!render) {
        fprintf(stderr, "fuzz_render: %s\n", err);
        abort();
    }
    return 0;
}

/* Builds a context from text: every key gets "<wpfuzz>" + text; params and passkeys get
 * arrays of objects with the same values; proofed/synced a truthy string. */
static json_t *context_of(const char *text)
{
    json_t *ctx = json_object();
    char *v = NULL;
    if (!ctx || asprintf(&v, "<wpfuzz>%s\"'&", text) < 0)
        abort();
    json_t *s = json_string(v); /* NULL for invalid UTF-8, which http.c refuses too */
    if (!s)
        s = json_string("<wpfuzz>\"'&");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        json_object_set(ctx, keys[i], s);
    json_t *item = json_deep_copy(ctx);
    json_object_set_new(ctx, "params", json_pack("[O,O]", item, item));
    json_object_set_new(ctx, "passkeys", json_pack("[O]", item));
    json_object_set(ctx, "proofed", s);
    json_object_set_new(ctx, "synced", json_true());
    json_decref(item);
    json_decref(s);
    free(v);
    return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    json_error_t err;
    char *text = fuzz_strndup(data, len);
    json_t *ctx = json_loadb((const char *)data, len, 0, &err);
    int from_json = json_is_object(ctx);

    if (len > 16384)
        goto out;
    if (!from_json) {
        json_decref(ctx);
        ctx = context_of(text);
    }
    const char *lang = render_lang(render, text, text);
    FUZZ_CHECK(lang != NULL);
    (void)render_msg(render, lang, text);
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        size_t out_len = 0;
        char *html = render_page(render, pages[i], lang, ctx, &out_len);
        if (html) {
            FUZZ_CHECK(strlen(html) == out_len);
            FUZZ_CHECK(strstr(html, "<wpfuzz") == NULL);
            free(html);
        }
    }
    const char *body, *ctype;
    size_t body_len;
    (void)render_static(render, text, &body, &body_len, &ctype);
out:
    json_decref(ctx);
    free(text);
    return 0;
}
