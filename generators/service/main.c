/*
 * service: a DAWG generator (contract v1) written in C, built with `zig cc`.
 *
 * stdin:  config, YAML or JSON: `service` and `job` (required), `title` and
 *         `datasource` (the uid of a Prometheus data source) optional.
 * stdout: a RED dashboard for an HTTP service: request rate, error ratio and
 *         latency p50/p90/p99 from a Prometheus histogram.
 * stderr: one line explaining a rejected config; exit code 1.
 *
 * Every panel and query names its data source, as Grafana itself saves them: without a
 * configured uid, a dashboard variable of type "datasource" whose query is the plugin id
 * (grafana/grafana public/app/features/dashboard-scene/serialization/
 * sceneVariablesSetToVariables.ts, the DataSourceVariable branch; docs/sources/dashboards/
 * variables/add-template-variables, "Add a data source variable"), referred to as
 * {"type":"prometheus","uid":"${datasource}"} (public/app/features/plugins/datasource_srv.ts:
 * getInstanceSettings and getList resolve a `$`-uid through the variable). A configured
 * uid must be one Grafana accepts (pkg/util/shortid_generator.go, ValidateUID: 1 to 40 of
 * letters, digits, '-' and '_'), so it goes into the JSON unescaped.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONFIG (64 * 1024)
#define MAX_VALUE 128

enum kind { K_NULL, K_STRING, K_NUMBER, K_BOOL };
static const char *kind_names[] = {"null", "string", "number", "boolean"};

struct field {
    const char *name;
    int required;
    int seen;
    char value[MAX_VALUE + 1];
};

static struct field fields[] = {
    {"service", 1, 0, ""},
    {"job", 1, 0, ""},
    {"title", 0, 0, ""},
    {"datasource", 0, 0, ""},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static void fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fputs("config: ", stderr);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(1);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n')) *--end = 0;
    return s;
}

static int is_number(const char *s) {
    if (*s == '-' || *s == '+') s++;
    int digits = 0, dot = 0;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s)) digits++;
        else if (*s == '.' && !dot) dot = 1;
        else if ((*s == 'e' || *s == 'E') && digits) {
            s++;
            if (*s == '-' || *s == '+') s++;
            if (!*s) return 0;
            for (; *s; s++) if (!isdigit((unsigned char)*s)) return 0;
            return 1;
        } else return 0;
    }
    return digits > 0;
}

/* Parses a scalar in place; returns its kind and leaves the text in *out. */
static enum kind parse_value(char *v, char **out, const char *key) {
    v = trim(v);
    *out = v;
    if (!*v || *v == '#') return K_NULL;
    if (*v == '"' || *v == '\'') {
        char q = *v, *w = v, *r = v + 1;
        for (; *r; r++) {
            if (*r == q) {
                if (q == '\'' && r[1] == '\'') { *w++ = '\''; r++; continue; }
                break;
            }
            if (q == '"' && *r == '\\' && r[1]) {
                r++;
                *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r;
                continue;
            }
            *w++ = *r;
        }
        if (*r != q) fail("field \"%s\": unterminated quoted string", key);
        char *after = trim(r + 1);
        if (*after && *after != '#') fail("field \"%s\": unexpected text after the closing quote", key);
        *w = 0;
        return K_STRING;
    }
    if (strchr("[{|>&*!", *v)) fail("field \"%s\": lists, maps and blocks are not supported; give a plain value", key);
    char *hash = strstr(v, " #");
    if (hash) *hash = 0;
    v = trim(v);
    *out = v;
    if (!strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL")) return K_NULL;
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE") || !strcmp(v, "false") ||
        !strcmp(v, "False") || !strcmp(v, "FALSE"))
        return K_BOOL;
    return is_number(v) ? K_NUMBER : K_STRING;
}

static void set_field(char *key, char *raw) {
    char *value;
    enum kind kind = parse_value(raw, &value, key);
    for (size_t i = 0; i < NFIELDS; i++) {
        if (strcmp(fields[i].name, key)) continue;
        if (fields[i].seen) fail("field \"%s\" is given twice", key);
        fields[i].seen = 1;
        if (kind == K_NULL) return;
        if (kind != K_STRING)
            fail("field \"%s\" must be a string, got %s %s (quote it if you meant the text)", key, kind_names[kind], value);
        if (strlen(value) > MAX_VALUE) fail("field \"%s\" is longer than %d characters", key, MAX_VALUE);
        strcpy(fields[i].value, value);
        return;
    }
    fail("unknown field \"%s\" (known fields: service, job, title, datasource)", key);
}

static void parse_pair(char *item) {
    char *line = trim(item), *key, *rest;
    if (*line == '"' || *line == '\'') {
        char *close = strchr(line + 1, *line);
        if (!close) fail("unterminated quoted key");
        *close = 0;
        key = line + 1;
        rest = trim(close + 1);
        if (*rest != ':') fail("expected `key: value`, got \"%s\"", line);
        rest++;
    } else {
        char *colon = strstr(line, ": ");
        size_t len = strlen(line);
        if (!colon && len && line[len - 1] == ':') colon = line + len - 1;
        if (!colon) fail("expected `key: value`, got \"%s\"", line);
        *colon = 0;
        key = trim(line);
        rest = colon + 1;
    }
    set_field(key, rest);
}

static void parse_config(char *text) {
    char *t = trim(text);
    if (*t == '{') {
        size_t len = strlen(t);
        if (t[len - 1] != '}') fail("invalid JSON: missing closing }");
        t[len - 1] = 0;
        char *item = t + 1;
        int quoted = 0;
        for (char *p = item;; p++) {
            if (quoted && *p == '\\' && p[1]) { p++; continue; }
            if (*p == '"') quoted = !quoted;
            if ((*p == ',' && !quoted) || !*p) {
                int end = !*p;
                *p = 0;
                if (*trim(item)) parse_pair(item);
                if (end) break;
                item = p + 1;
            }
        }
        return;
    }
    int lineno = 0;
    for (char *line = text; line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        lineno++;
        char *body = trim(line);
        int indented = line[0] == ' ' || line[0] == '\t';
        if (*body && *body != '#' && strcmp(body, "---") && strcmp(body, "...")) {
            if (indented) fail("line %d: nested values are not supported; use flat `key: value` lines", lineno);
            parse_pair(body);
        }
        line = next;
    }
}

/* Label values go into PromQL strings inside JSON strings: keep them plain. */
static int valid_name(const char *s, const char *extra) {
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s)) return 0;
    return 1;
}

static int panel_id = 0;

/* The configured uid, or the dashboard variable's (see the top of this file). */
static const char *datasource_uid = "${datasource}";

static void datasource(void) {
    printf("\"datasource\":{\"type\":\"prometheus\",\"uid\":\"%s\"}", datasource_uid);
}

static void timeseries(const char *title, const char *unit, int x, int y, int w,
                       const char **exprs, const char **legends, int n) {
    printf(",{\"id\":%d,\"type\":\"timeseries\",\"title\":\"%s\",", ++panel_id, title);
    datasource();
    printf(",\"gridPos\":{\"h\":8,\"w\":%d,\"x\":%d,\"y\":%d},"
           "\"fieldConfig\":{\"defaults\":{\"unit\":\"%s\",\"custom\":{\"fillOpacity\":10}},\"overrides\":[]},"
           "\"options\":{\"legend\":{\"displayMode\":\"list\",\"placement\":\"bottom\",\"showLegend\":true},"
           "\"tooltip\":{\"mode\":\"multi\",\"sort\":\"none\"}},\"targets\":[",
           w, x, y, unit);
    for (int i = 0; i < n; i++) {
        printf("%s{\"refId\":\"%c\",", i ? "," : "", 'A' + i);
        datasource();
        printf(",\"expr\":\"%s\",\"legendFormat\":\"%s\"}", exprs[i], legends[i]);
    }
    printf("]}");
}

int main(void) {
    static char config[MAX_CONFIG + 1];
    size_t len = fread(config, 1, MAX_CONFIG + 1, stdin);
    if (len > MAX_CONFIG) fail("larger than 64 KiB");
    config[len] = 0;
    if (memchr(config, 0, len)) fail("contains a NUL byte");
    parse_config(config);
    for (size_t i = 0; i < NFIELDS; i++)
        if (fields[i].required && !fields[i].value[0]) fail("field \"%s\" is required", fields[i].name);
    const char *service = fields[0].value, *job = fields[1].value;
    if (!valid_name(service, "-_.:")) fail("field \"service\" may contain only letters, digits, '-', '_', '.' and ':', got \"%s\"", service);
    if (!valid_name(job, "-_.:/")) fail("field \"job\" may contain only letters, digits, '-', '_', '.', ':' and '/', got \"%s\"", job);
    for (const char *c = fields[2].value; *c; c++)
        if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) fail("field \"title\" may not contain quotes, backslashes or control characters");
    if (fields[3].value[0]) {
        if (strlen(fields[3].value) > 40 || !valid_name(fields[3].value, "-_"))
            fail("field \"datasource\" must be a Grafana uid: 1 to 40 letters, digits, '-' and '_'");
        datasource_uid = fields[3].value;
    }

    char sel[512], rate[1024], errors[1024], ratio[2200], q[3][1024];
    snprintf(sel, sizeof sel, "job=\\\"%s\\\", service=\\\"%s\\\"", job, service);
    snprintf(rate, sizeof rate, "sum(rate(http_requests_total{%s}[$__rate_interval]))", sel);
    snprintf(errors, sizeof errors, "sum(rate(http_requests_total{%s, code=~\\\"5..\\\"}[$__rate_interval]))", sel);
    snprintf(ratio, sizeof ratio, "%s / %s", errors, rate);
    const char *quantiles[] = {"0.5", "0.9", "0.99"};
    for (int i = 0; i < 3; i++)
        snprintf(q[i], sizeof q[i],
                 "histogram_quantile(%s, sum by (le) (rate(http_request_duration_seconds_bucket{%s}[$__rate_interval])))",
                 quantiles[i], sel);

    printf("{\"title\":\"");
    if (fields[2].value[0]) printf("%s", fields[2].value);
    else printf("Service %s", service);
    printf("\",\"description\":\"Requests, errors and duration of %s (job %s), generated by the DAWG service generator\","
           "\"tags\":[\"service\",\"red\"],\"timezone\":\"browser\",\"editable\":true,\"graphTooltip\":1,"
           "\"schemaVersion\":39,\"refresh\":\"1m\",\"time\":{\"from\":\"now-3h\",\"to\":\"now\"},"
           "\"panels\":[{\"id\":%d,\"type\":\"row\",\"title\":\"RED\",\"collapsed\":false,\"panels\":[],"
           "\"gridPos\":{\"h\":1,\"w\":24,\"x\":0,\"y\":0}}",
           service, job, ++panel_id);
    const char *rate_expr[] = {rate}, *rate_legend[] = {"requests/s"};
    timeseries("Request rate", "reqps", 0, 1, 12, rate_expr, rate_legend, 1);
    const char *err_expr[] = {ratio}, *err_legend[] = {"5xx ratio"};
    timeseries("Error ratio", "percentunit", 12, 1, 12, err_expr, err_legend, 1);
    const char *lat_expr[] = {q[0], q[1], q[2]}, *lat_legend[] = {"p50", "p90", "p99"};
    timeseries("Latency", "s", 0, 9, 24, lat_expr, lat_legend, 3);
    printf("],\"templating\":{\"list\":[");
    if (!fields[3].value[0])
        printf("{\"name\":\"datasource\",\"label\":\"Data source\",\"type\":\"datasource\","
               "\"query\":\"prometheus\",\"current\":{},\"hide\":0}");
    printf("]},\"annotations\":{\"list\":[]}}\n");
    return fflush(stdout) == 0 ? 0 : 2;
}
