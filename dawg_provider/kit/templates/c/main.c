/* {{name}}: a DAWG generator in C (wasi-libc, built with `zig cc`).
 *
 * stdin: the config (flat YAML `key: value` lines, or a flat JSON object): title, job.
 * stdout: the dashboard JSON. stderr: one line naming a bad field; exit code 1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONFIG 65536
#define MAX_VALUE 100

static char title[MAX_VALUE + 1], job[MAX_VALUE + 1];

/* The part to edit: the panels your users get. Values are checked to need no escaping. */
static void dashboard(void) {
    printf("{\"title\":\"%s\",\"schemaVersion\":39,\"editable\":true,"
           "\"time\":{\"from\":\"now-6h\",\"to\":\"now\"},"
           "\"templating\":{\"list\":[{\"name\":\"datasource\",\"label\":\"Data source\","
           "\"type\":\"datasource\",\"query\":\"prometheus\"}]},"
           "\"panels\":[{\"id\":1,\"type\":\"timeseries\",\"title\":\"Requests per second\","
           "\"gridPos\":{\"h\":8,\"w\":24,\"x\":0,\"y\":0},"
           "\"datasource\":{\"type\":\"prometheus\",\"uid\":\"${datasource}\"},"
           "\"fieldConfig\":{\"defaults\":{\"unit\":\"reqps\"},\"overrides\":[]},"
           "\"targets\":[{\"refId\":\"A\",\"expr\":"
           "\"sum(rate(http_requests_total{job=\\\"%s\\\"}[$__rate_interval]))\"}]}]}\n",
           title, job);
}

_Noreturn static void fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("config: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) *--end = 0;
    return s;
}

static char *clean(char *s) {
    char *comment = strstr(s, " #");
    if (comment) *comment = 0;
    s = trim(s);
    size_t n = strlen(s);
    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s[n - 1] = 0;
        s++;
    }
    return s;
}

static int valid(const char *v) {
    size_t n = strlen(v);
    if (n == 0 || n > MAX_VALUE) return 0;
    for (; *v; v++)
        if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || strchr(" ._:/-", *v)))
            return 0;
    return 1;
}

static void field(char *item) {
    item = trim(item);
    if (!*item || *item == '#' || !strcmp(item, "---")) return;
    char *colon = strchr(item, ':');
    if (!colon) fail("expected \"key: value\", got \"%s\"", item);
    *colon = 0;
    char *key = clean(item), *value = clean(colon + 1), *slot;
    if (!strcmp(key, "title")) slot = title;
    else if (!strcmp(key, "job")) slot = job;
    else fail("unknown field \"%s\" (known fields: title, job)", key);
    if (*slot) fail("field \"%s\" is given twice", key);
    if (!valid(value)) fail("field \"%s\" must be 1 to 100 letters, digits, spaces or ._:/-", key);
    strcpy(slot, value);
}

int main(void) {
    static char config[MAX_CONFIG + 1];
    size_t n = fread(config, 1, MAX_CONFIG, stdin);
    if (n == MAX_CONFIG) fail("larger than 64 KiB");
    config[n] = 0;
    char *text = trim(config), *end;
    const char *separators = "\n";
    if (*text == '{' && (end = strrchr(text, '}'))) {
        *end = 0;
        text++;
        separators = ",";
    }
    for (char *item = strtok(text, separators); item; item = strtok(NULL, separators)) field(item);
    if (!*title) fail("field \"title\" is required");
    if (!*job) fail("field \"job\" is required");
    dashboard();
    return 0;
}
