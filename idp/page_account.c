/* /account: the signed-in person's passkeys. */
#include <stdio.h>
#include <time.h>

#include "idp/flow.h"
#include "idp/page.h"
#include "idp/router.h"

static json_t *date_string(int64_t t)
{
    char buf[32] = "";
    time_t tt = (time_t)t;
    struct tm tm;
    if (t > 0 && gmtime_r(&tt, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return json_string(buf);
}

void page_account_handle(http_req_t *req, http_resp_t *resp)
{
    store_session_t session = {0};
    store_credential_t *creds = NULL;
    size_t n = 0;
    const char *lang = page_lang(req, http_query(req, "ui_locales"));

    if (session_current(req, &session) != WP_OK) {
        page_error(req, resp, 401, "error_not_signed_in");
        return;
    }
    json_t *list = json_array();
    if (store_credential_list(req->app->store, session.account_id, &creds, &n) == WP_OK) {
        for (size_t i = 0; i < n; i++) {
            json_t *row =
                json_pack("{s:s, s:o, s:o, s:b}", "name", creds[i].name ? creds[i].name : "Passkey",
                          "created", date_string(creds[i].created_at), "last_used",
                          date_string(creds[i].last_used_at), "synced", creds[i].backup_state);
            json_array_append_new(list, row);
        }
    }
    json_t *ctx = json_pack("{s:o}", "passkeys", list);
    page_render(req, resp, 200, "account", lang, ctx);
    json_decref(ctx);
    store_credentials_free(creds, n);
    store_session_clear(&session);
}
