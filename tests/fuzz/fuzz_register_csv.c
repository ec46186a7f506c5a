/* Fuzzes the diploma-register CSV reader on a file with the input as its contents (a
 * memfd, opened by path as `wereldpas register import` opens a file). Every row it
 * returns must pass the field checks; after an error every call errs again. */
#include <unistd.h>
#include <sys/mman.h>

#include "idp/register_csv.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    char path[64], err[256];
    register_csv_t *r = NULL;
    int fd = memfd_create("fuzz_csv", 0);
    if (fd < 0)
        abort();
    if (len && write(fd, data, len) != (ssize_t)len)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (register_csv_open(path, &r, err, sizeof err) != WP_OK)
        goto out;
    for (int rows = 0; rows < 100000; rows++) {
        store_person_t row = {0};
        int rc = register_csv_next(r, &row);
        if (rc == 1) {
            FUZZ_CHECK(register_csv_person_number_valid(row.person_number));
            FUZZ_CHECK(register_csv_date_valid(row.birthdate));
            FUZZ_CHECK(register_csv_date_valid(row.diploma_date));
            FUZZ_CHECK(row.family_name && strlen(row.family_name) <= REGISTER_CSV_MAX_NAME);
            store_person_clear(&row);
            continue;
        }
        if (rc < 0) {
            FUZZ_CHECK(*register_csv_error(r) != '\0');
            store_person_t again = {0};
            FUZZ_CHECK(register_csv_next(r, &again) == -1);
            store_person_clear(&again);
        }
        store_person_clear(&row);
        break;
    }
    register_csv_close(r);
out:
    close(fd);
    return 0;
}
