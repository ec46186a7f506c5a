/* Fuzzes the whole request path of a running provider: libmicrohttpd's parsing, http.c's
 * limits and its query, form, cookie and JSON handling, the router, and every handler,
 * with the real SQLite store and keys in a temporary folder. LLVMFuzzerInitialize starts
 * server_run in a thread on a free port of 127.0.0.1; each input is sent as raw bytes on
 * a new connection (a missing end of head is added) and the answer's status must not be
 * 5xx, except 505 for an unknown HTTP version, which libmicrohttpd sends itself. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <oauth2/util.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include "idp/cli.h"
#include "idp/server.h"
#include "tests/fuzz/fuzz_util.h"

#define HTTP_WAIT_MS 1000

static config_t cfg;
static store_t *store;
static keyring_t *keys;
static uint8_t master[SEAL_KEY_BYTES];
static int port;
static oauth2_log_t *library_log;

static void *serve(void *arg)
{
    (void)arg;
    server_run(&cfg, store, keys, master);
    return NULL;
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), p;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        abort();
    p = ntohs(a.sin_port);
    close(fd);
    return p;
}

static int connect_server(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0)
        abort();
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends len bytes and reads the answer's head. Returns the status, 0 when none came. */
static int exchange(const uint8_t *data, size_t len)
{
    char buf[4096];
    size_t got = 0;
    int fd = connect_server(), status = 0;
    if (fd < 0)
        return 0;
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    /* Nothing more comes: the server sees the end at once instead of waiting for a
     * promised body. */
    shutdown(fd, SHUT_WR);
    while (got < sizeof buf - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, HTTP_WAIT_MS) <= 0)
            break;
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    buf[got] = '\0';
    if (got >= 12 && strncmp(buf, "HTTP/1.", 7) == 0)
        status = atoi(buf + 9);
    close(fd);
    return status;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/wp-fuzz-http-XXXXXX", path[256];
    pthread_t t;
    (void)argc;
    (void)argv;
    if (sodium_init() < 0 || !mkdtemp(dir))
        abort();
    library_log = oauth2_init(OAUTH2_LOG_ERROR, NULL); /* kept for the process */
    port = free_port();
    snprintf(path, sizeof path, "%s/wereldpas.ini", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fprintf(f,
            "[server]\nissuer = http://localhost:%d\nlisten = 127.0.0.1:%d\n"
            "[storage]\nurl = sqlite:%s/wp.db\n[secrets]\nmaster_key_file = %s/master.key\n"
            "[mail]\ntransport = dir\noutbox = %s\n[limits]\nconnection_timeout = 2\n"
            "max_connections_per_ip = 1000\n",
            port, port, dir, dir, dir);
    fclose(f);
    if (cli_config_load(path, &cfg) || cli_open(&cfg, &store, master) ||
        keyring_open(store, master, 1, &keys) != WP_OK)
        abort();
    if (pthread_create(&t, NULL, serve, NULL) != 0)
        abort();
    for (int i = 0; i < 200; i++) {
        static const char health[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        if (exchange((const uint8_t *)health, sizeof health - 1) == 200)
            return 0;
        usleep(50000);
    }
    fprintf(stderr, "fuzz_http: the server did not start\n");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static const char end[] = "\r\n\r\n";
    uint8_t *req;
    size_t n = len;
    if (len > 65536)
        return 0;
    req = malloc(len + 4);
    if (!req)
        abort();
    memcpy(req, data, len);
    /* Without the end of the head the server would wait for the rest. */
    if (!memmem(data, len, end, 4)) {
        memcpy(req + len, end, 4);
        n += 4;
    }
    int status = exchange(req, n);
    free(req);
    FUZZ_CHECK(status < 500 || status == 505);
    return 0;
}
