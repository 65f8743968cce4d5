/*
 * A deliberately hostile generator, for the sandbox tests only.
 * The config text picks the behaviour: "<mode> [argument]".
 * Where the sandbox must deny something, success prints a "LEAK" dashboard
 * (so a leaky sandbox fails the test) and denial exits 3.
 */
#pragma clang diagnostic ignored "-Winfinite-recursion"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;
static char *volatile sink; /* keeps allocations observable, so clang cannot elide them */

static int leak(const char *what) {
    printf("{\"title\":\"LEAK %s\"}\n", what);
    return 0;
}

static int denied(const char *what) {
    fprintf(stderr, "denied: %s: %s\n", what, strerror(errno));
    return 3;
}

static int recurse(volatile int depth) {
    volatile char pad[256];
    pad[0] = (char)depth;
    return recurse(depth + 1) + pad[0];
}

int main(int argc, char **argv) {
    static char config[4096];
    size_t n = fread(config, 1, sizeof config - 1, stdin);
    config[n] = 0;
    char *mode = strtok(config, " \n"), *arg = strtok(NULL, "\n");
    if (!mode) mode = "";
    if (!arg) arg = "";

    if (!strcmp(mode, "readfile")) {
        FILE *f = fopen(arg, "r");
        if (!f) return denied(arg);
        char buf[64] = {0};
        fread(buf, 1, sizeof buf - 1, f);
        return leak("read a host file");
    }
    if (!strcmp(mode, "writefile")) {
        FILE *f = fopen(arg, "w");
        if (!f) return denied(arg);
        fputs("pwned", f);
        fclose(f);
        return leak("wrote a host file");
    }
    if (!strcmp(mode, "listdir")) {
        DIR *d = opendir(arg);
        if (!d) return denied(arg);
        return leak("listed a host directory");
    }
    if (!strcmp(mode, "env")) {
        if (environ && environ[0]) return leak(environ[0]);
        if (getenv("HOME") || getenv("PATH")) return leak("getenv");
        errno = ENOENT;
        return denied("environment");
    }
    if (!strcmp(mode, "argv")) {
        printf("{\"title\":\"argc=%d argv0=%s\"}\n", argc, argc > 0 ? argv[0] : "");
        return 0;
    }
    if (!strcmp(mode, "raw")) return puts(arg ? arg : ""), 0; /* any dashboard a test needs */
    if (!strcmp(mode, "echo")) {
        printf("{\"title\":\"echo\",\"config\":\"%s\"}\n", arg);
        return 0;
    }
    if (!strcmp(mode, "v2")) { /* a schema v2 dashboard at the version named (generator-contract.md) */
        printf("{\"apiVersion\":\"dashboard.grafana.app/%s\",\"kind\":\"Dashboard\",\"spec\":"
               "{\"title\":\"v2 %s\",\"tags\":[],\"elements\":{\"p\":{\"kind\":\"Panel\",\"spec\":"
               "{\"id\":1,\"title\":\"CPU\"}}},\"layout\":{\"kind\":\"GridLayout\",\"spec\":"
               "{\"items\":[]}}}}\n", arg, arg);
        return 0;
    }
    if (!strcmp(mode, "log-to-stdout")) { /* a debug print where stderr was meant */
        printf("loading config...\n{\"title\":\"logged\"}\n");
        return 0;
    }
    if (!strcmp(mode, "identity")) { /* sets what belongs to whoever deploys it */
        printf("{\"title\":\"mine\",\"uid\":\"fixed-uid\",\"id\":42}\n");
        return 0;
    }
    if (!strcmp(mode, "loop")) {
        volatile unsigned long i = 0;
        for (;;) i++;
    }
    if (!strcmp(mode, "alloc")) {
        for (;;) {
            char *p = malloc(1 << 20);
            if (!p) {
                fputs("malloc failed: out of memory\n", stderr);
                return 4;
            }
            memset(p, 1, 1 << 20);
            sink = p;
        }
    }
    if (!strcmp(mode, "bigalloc")) {
        char *p = malloc((size_t)1 << 30);
        if (!p) return 4;
        memset(p, 1, (size_t)1 << 30);
        sink = p;
        return leak("allocated 1 GiB");
    }
    if (!strcmp(mode, "stdout")) {
        static char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        fputs("{\"title\":\"", stdout);
        for (;;) fwrite(chunk, 1, sizeof chunk, stdout);
    }
    if (!strcmp(mode, "stderr")) {
        for (;;) fputs("flooding stderr with a line of text that never ends\n", stderr);
    }
    if (!strcmp(mode, "stderr-then-fail")) {
        for (int i = 0; i < 20000; i++) fprintf(stderr, "noise line %d\n", i);
        fputs("the real reason comes last\n", stderr);
        return 5;
    }
    if (!strcmp(mode, "trap")) __builtin_trap();
    if (!strcmp(mode, "stack")) return recurse(0);
    if (!strcmp(mode, "exit7")) {
        fputs("config: this generator always refuses\n", stderr);
        return 7;
    }
    if (!strcmp(mode, "silent")) return 0;
    if (!strcmp(mode, "badjson")) return puts("{\"title\": \"unterminated"), 0;
    if (!strcmp(mode, "deep")) {
        for (int i = 0; i < 100000; i++) putchar('[');
        for (int i = 0; i < 100000; i++) putchar(']');
        return 0;
    }
    if (!strcmp(mode, "deepobject")) {
        for (int i = 0; i < 100; i++) fputs("{\"title\":\"t\",\"a\":", stdout);
        fputs("1", stdout);
        for (int i = 0; i < 100; i++) putchar('}');
        return 0;
    }
    if (!strcmp(mode, "array")) return puts("[{\"title\":\"in an array\"}]"), 0;
    if (!strcmp(mode, "number")) return puts("42"), 0;
    if (!strcmp(mode, "notitle")) return puts("{\"panels\":[]}"), 0;
    if (!strcmp(mode, "emptytitle")) return puts("{\"title\":\"  \"}"), 0;
    if (!strcmp(mode, "badutf8")) return puts("{\"title\":\"\xff\xfe\"}"), 0;
    if (!strcmp(mode, "nan")) return puts("{\"title\":\"x\",\"v\":NaN}"), 0;
    if (!strcmp(mode, "clock")) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        srand((unsigned)ts.tv_nsec);
        printf("{\"title\":\"t=%lld.%09ld r=%d\"}\n", (long long)ts.tv_sec, ts.tv_nsec, rand());
        return 0;
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 64;
}
