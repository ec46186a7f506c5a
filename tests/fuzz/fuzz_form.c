/* Fuzzes form and query parsing as http.c does it: liboauth2's
 * oauth2_parse_form_encoded_params, then every name/value pair into a JSON object (first
 * value wins, a repeat is remembered, invalid UTF-8 refused by json_string). The steps
 * mirror http.c's static parse_form/params_add; exporting those would let this target
 * call them directly (proposed in the report). */
#include <jansson.h>
#include <oauth2/util.h>

#include "tests/fuzz/fuzz_util.h"

typedef struct {
    json_t *obj;
    int count;
    int dups;
    int bad;
} params_t;

static bool add(oauth2_log_t *log, void *rec, const char *key, const char *value)
{
    params_t *p = rec;
    (void)log;
    FUZZ_CHECK(key != NULL);
    if (++p->count > 64) {
        p->bad = 1;
        return true;
    }
    if (json_object_get(p->obj, key)) {
        p->dups++;
        return true;
    }
    json_t *v = json_string(value ? value : "");
    if (!v) {
        p->bad = 1;
        return true;
    }
    /* jansson refuses a name that is not UTF-8; http.c ignores the return and so drops
     * such a parameter silently (reported; regressions/fuzz_form/invalid-utf8-name). */
    if (json_object_set_new(p->obj, key, v) != 0)
        p->bad = 1;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char *body = fuzz_strndup(data, len);
    oauth2_nv_list_t *list = NULL;
    params_t p = {.obj = json_object()};

    if (*body && oauth2_parse_form_encoded_params(NULL, body, &list) && list) {
        oauth2_nv_list_loop(NULL, list, add, &p);
        oauth2_nv_list_free(NULL, list);
        if (!p.bad)
            FUZZ_CHECK(json_object_size(p.obj) + (size_t)p.dups == (size_t)p.count);
    }
    json_decref(p.obj);
    free(body);
    return 0;
}
