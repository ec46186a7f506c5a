/* Encryption at rest with the master key (libsodium secretbox) and the master key file. */
#include "crypto/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEAL_HEX_LEN ((size_t)2 * SEAL_KEY_BYTES)
#define SEAL_FILE_MAX 128 /* a key file is 32 raw bytes or 64 hex chars plus whitespace */
#define SEAL_OVERHEAD (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)

_Static_assert(SEAL_KEY_BYTES == crypto_secretbox_KEYBYTES, "secretbox key size");
_Static_assert(SEAL_KEY_BYTES == crypto_kdf_KEYBYTES, "kdf key size");

/* Writes a formatted reason into err when there is room for one. */
__attribute__((format(printf, 3, 4))) static void seal_err(char *err, size_t err_size,
                                                           const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

/* Creates the folder holding path with mode 0700 when it does not exist yet (only the
 * last level). Returns 0, or -1 with errno set. */
static int seal_make_parent(const char *path)
{
    char *dir = strdup(path);
    char *slash;
    int rc = 0;

    if (dir == NULL)
        return -1;
    slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            rc = -1;
    }
    free(dir);
    return rc;
}

/* Writes a new random key as 64 hex characters and a newline to a file that must not
 * exist yet, mode 0600. Returns 0, -1 with errno set (EEXIST when someone else made it
 * first); *key holds the key on success. */
static int seal_create_key_file(const char *path, uint8_t key[SEAL_KEY_BYTES])
{
    char hex[SEAL_HEX_LEN + 2];
    size_t off = 0;
    int fd, saved;
    int rc = -1;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    crypto_secretbox_keygen(key);
    sodium_bin2hex(hex, sizeof(hex), key, SEAL_KEY_BYTES);
    hex[SEAL_HEX_LEN] = '\n';
    if (fchmod(fd, 0600) != 0) /* the umask could only have narrowed it; be explicit */
        goto out;
    while (off < SEAL_HEX_LEN + 1) {
        ssize_t w = write(fd, hex + off, SEAL_HEX_LEN + 1 - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto out;
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto out;
    rc = 0;

out:
    saved = errno;
    sodium_memzero(hex, sizeof(hex));
    if (close(fd) != 0 && rc == 0) {
        saved = errno;
        rc = -1;
    }
    if (rc != 0) {
        sodium_memzero(key, SEAL_KEY_BYTES);
        unlink(path);
    }
    errno = saved;
    return rc;
}

/* Reads the key from an open file descriptor after checking the file's type and mode.
 * Returns 0, or -1 with a reason in err. */
static int seal_read_key_fd(int fd, const char *path, uint8_t key[SEAL_KEY_BYTES], char *err,
                            size_t err_size)
{
    uint8_t buf[SEAL_FILE_MAX + 1];
    size_t n = 0, bin_len = 0;
    struct stat st;
    int rc = -1;

    if (fstat(fd, &st) != 0) {
        seal_err(err, err_size, "cannot stat master key file %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        seal_err(err, err_size, "master key file %s is not a regular file", path);
        goto out;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        seal_err(err, err_size, "master key file %s is accessible by group or others (mode %03o)",
                 path, (unsigned)(st.st_mode & 0777));
        goto out;
    }
    while (n < sizeof(buf)) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            seal_err(err, err_size, "cannot read master key file %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n == SEAL_KEY_BYTES) {
        memcpy(key, buf, SEAL_KEY_BYTES);
        rc = 0;
        goto out;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (n != SEAL_HEX_LEN ||
        sodium_hex2bin(key, SEAL_KEY_BYTES, (const char *)buf, n, NULL, &bin_len, NULL) != 0 ||
        bin_len != SEAL_KEY_BYTES) {
        sodium_memzero(key, SEAL_KEY_BYTES);
        seal_err(err, err_size, "master key file %s must hold 32 raw bytes or 64 hex characters",
                 path);
        goto out;
    }
    rc = 0;

out:
    sodium_memzero(buf, sizeof(buf));
    return rc;
}

int seal_master_key_load(const char *path, int create, uint8_t key[SEAL_KEY_BYTES], char *err,
                         size_t err_size)
{
    uint8_t tmp[SEAL_KEY_BYTES];
    int fd = -1;
    int rc = -1;

    if (path == NULL || *path == '\0') {
        seal_err(err, err_size, "no master key file configured");
        return -1;
    }
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && create) {
        if (seal_make_parent(path) != 0) {
            seal_err(err, err_size, "cannot create folder for master key file %s: %s", path,
                     strerror(errno));
            goto out;
        }
        if (seal_create_key_file(path, tmp) == 0) {
            rc = 0;
            goto out;
        }
        if (errno != EEXIST) {
            seal_err(err, err_size, "cannot create master key file %s: %s", path, strerror(errno));
            goto out;
        }
        /* Another process created it between our open and our create: read theirs. */
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        seal_err(err, err_size, "cannot open master key file %s: %s", path, strerror(errno));
        goto out;
    }
    rc = seal_read_key_fd(fd, path, tmp, err, err_size);

out:
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        memcpy(key, tmp, SEAL_KEY_BYTES);
    sodium_memzero(tmp, sizeof(tmp));
    return rc;
}

void seal_subkey(const uint8_t master[SEAL_KEY_BYTES], uint64_t id, const char *context,
                 uint8_t out[SEAL_KEY_BYTES])
{
    char ctx[crypto_kdf_CONTEXTBYTES] = {0};
    size_t n = strlen(context);

    if (n > sizeof(ctx))
        abort(); /* a programmer error: contexts are constants in the code */
    memcpy(ctx, context, n);
    if (crypto_kdf_derive_from_key(out, SEAL_KEY_BYTES, id, ctx, master) != 0)
        abort();
}

int seal_encrypt(const uint8_t key[SEAL_KEY_BYTES], const uint8_t *pt, size_t n, uint8_t **out,
                 size_t *out_len)
{
    uint8_t *buf;

    if (n > SIZE_MAX - SEAL_OVERHEAD || (pt == NULL && n > 0))
        return -1;
    buf = malloc(n + SEAL_OVERHEAD);
    if (buf == NULL)
        return -1;
    randombytes_buf(buf, crypto_secretbox_NONCEBYTES);
    if (crypto_secretbox_easy(buf + crypto_secretbox_NONCEBYTES, pt, n, buf, key) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = n + SEAL_OVERHEAD;
    return 0;
}

int seal_decrypt(const uint8_t key[SEAL_KEY_BYTES], const uint8_t *in, size_t n, uint8_t **out,
                 size_t *out_len)
{
    uint8_t *buf;
    size_t pt_len;

    if (in == NULL || n < SEAL_OVERHEAD)
        return -1;
    pt_len = n - SEAL_OVERHEAD;
    buf = malloc(pt_len + 1);
    if (buf == NULL)
        return -1;
    if (crypto_secretbox_open_easy(buf, in + crypto_secretbox_NONCEBYTES,
                                   n - crypto_secretbox_NONCEBYTES, in, key) != 0) {
        free(buf);
        return -1;
    }
    buf[pt_len] = '\0';
    *out = buf;
    *out_len = pt_len;
    return 0;
}
