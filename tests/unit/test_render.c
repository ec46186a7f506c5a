/* Unit tests for idp/render.c: filling named placeholders ({{%t.KEY}}, render_fill),
 * dates in the page's language (render_time), and picking a language from ui_locales. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "idp/render.h"

static char dir[] = "/tmp/wp-render-XXXXXX";

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void sub(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    assert_int_equal(mkdir(path, 0700), 0);
}

static int setup(void **state)
{
    char err[256] = "";
    if (!mkdtemp(dir))
        return -1;
    sub("static");
    sub("i18n");
    sub("i18n/en");
    sub("i18n/nl");
    put("layout.html", "{{{content}}}");
    put("page.html", "{{%t.valid}}|{{%t.broken}}|{{when}}|{{%msg}}");
    put("static/x.css", "body{}");
    put("i18n/en/core.json",
        "{\"valid\": \"Valid until {until} (<{hours}> hours)\", \"broken\": \"a {b c} {nope}\","
        " \"date_format\": \"{day} {month} {year}, {time} UTC\", \"date_month_3\": \"March\"}");
    put("i18n/nl/core.json", "{\"valid\": \"Geldig tot {until} ({hours} uur)\","
                             " \"date_format\": \"{day} {month} {year}, {time} uur UTC\","
                             " \"date_month_3\": \"maart\"}");
    *state = render_open(dir, err, sizeof err);
    if (!*state)
        fprintf(stderr, "render_open: %s\n", err);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    render_free(*state);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_fill_table(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "bb"};
    static const char *const values[] = {"1", "<2>"};
    static const struct {
        const char *tpl, *want;
    } rows[] = {
        {"", ""},
        {"plain", "plain"},
        {"{a}", "1"},
        {"x {a} y {bb} z {a}", "x 1 y <2> z 1"},
        {"{b} {a", "{b} {a"}, /* unknown and unclosed stay */
        {"{{a}}", "{1}"},     /* the inner one is the placeholder */
        {"{bb}{a}{c}", "<2>1{c}"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *got = render_fill(rows[i].tpl, names, values, 2);
        assert_non_null(got);
        assert_string_equal(got, rows[i].want);
        free(got);
    }
}

/* 2026-03-05 07:08:00 UTC */
#define WHEN 1772694480

static void test_page_fills_and_dates(void **state)
{
    size_t len = 0;
    json_t *ctx = json_pack("{s:o, s:s, s:o, s:s}", "until", render_time(WHEN), "hours", "<b>",
                            "when", render_time(WHEN), "msg", "Code {hours} & {when}");
    char *html = render_page(*state, "page", "nl", ctx, &len);
    assert_non_null(html);
    /* One sentence per message, values escaped, dates as <time> in the page's language. */
    assert_non_null(strstr(html, "Geldig tot <time datetime=\"2026-03-05T07:08:00Z\" data-local>"
                                 "5 maart 2026, 07:08 uur UTC</time> (&lt;b&gt; uur)|"));
    /* A key missing in nl falls back to English; odd braces stay as text, escaped. */
    assert_non_null(strstr(html, "|a {b c} {nope}|"));
    assert_non_null(strstr(html, "|<time datetime=\"2026-03-05T07:08:00Z\" data-local>"));
    assert_non_null(strstr(html, "|Code &lt;b&gt; &amp; <time "));
    free(html);

    html = render_page(*state, "page", "en", ctx, &len);
    assert_non_null(html);
    /* The catalog's own text is escaped too. */
    assert_non_null(strstr(html, "Valid until <time datetime=\"2026-03-05T07:08:00Z\" data-local>"
                                 "5 March 2026, 07:08 UTC</time> (&lt;&lt;b&gt;&gt; hours)"));
    free(html);
    json_decref(ctx);
}

static void test_no_date(void **state)
{
    (void)state;
    json_t *none = render_time(0);
    assert_true(json_is_null(none));
    json_decref(none);
    none = render_time(-5);
    assert_true(json_is_null(none));
    json_decref(none);
}

static void test_lang_list(void **state)
{
    (void)state;
    assert_null(render_lang_list(NULL));
    assert_null(render_lang_list(""));
    assert_null(render_lang_list("ja ko"));
    assert_string_equal(render_lang_list("ja ar nl"), "ar");
    assert_string_equal(render_lang_list("  en-GB"), "en");
    assert_string_equal(render_lang_list("zh-CN"), "zh-Hans");
    assert_null(render_lang_list("zh-TW"));
    /* ui_locales first, then Accept-Language, then English. */
    assert_string_equal(render_lang(NULL, "xx tr", "fr"), "tr");
    assert_string_equal(render_lang(NULL, "xx", "fr;q=0.5, de"), "de");
    assert_string_equal(render_lang(NULL, NULL, "ja"), "en");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_table),
        cmocka_unit_test(test_page_fills_and_dates),
        cmocka_unit_test(test_no_date),
        cmocka_unit_test(test_lang_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
