//! {{name}}: a DAWG generator in Zig (wasm32-wasi, no allocator).
//!
//! stdin: the config (flat YAML `key: value` lines, or a flat JSON object): title, job.
//! stdout: the dashboard JSON. stderr: one line naming a bad field; exit code 1.

const std = @import("std");
const wasi = std.os.wasi;
const mem = std.mem;

var config_buf: [64 * 1024]u8 = undefined;
var out_buf: [16 * 1024]u8 = undefined;
var err_buf: [512]u8 = undefined;

/// The part to edit: the panels your users get. Values are checked to need no escaping.
fn dashboard(title: []const u8, job: []const u8) ?[]const u8 {
    return std.fmt.bufPrint(&out_buf, "{{\"title\":\"{s}\",\"schemaVersion\":39,\"editable\":true," ++
        "\"time\":{{\"from\":\"now-6h\",\"to\":\"now\"}}," ++
        "\"templating\":{{\"list\":[{{\"name\":\"datasource\",\"label\":\"Data source\"," ++
        "\"type\":\"datasource\",\"query\":\"prometheus\"}}]}}," ++
        "\"panels\":[{{\"id\":1,\"type\":\"timeseries\",\"title\":\"Requests per second\"," ++
        "\"gridPos\":{{\"h\":8,\"w\":24,\"x\":0,\"y\":0}}," ++
        "\"datasource\":{{\"type\":\"prometheus\",\"uid\":\"${{datasource}}\"}}," ++
        "\"fieldConfig\":{{\"defaults\":{{\"unit\":\"reqps\"}},\"overrides\":[]}}," ++
        "\"targets\":[{{\"refId\":\"A\",\"expr\":" ++
        "\"sum(rate(http_requests_total{{job=\\\"{s}\\\"}}[$__rate_interval]))\"}}]}}]}}\n", .{ title, job }) catch null;
}

pub fn main() u8 {
    const config = readStdin() orelse return fail("config: larger than 64 KiB or unreadable", .{});
    var text = mem.trim(u8, config, " \t\r\n");
    var separator: u8 = '\n';
    if (text.len >= 2 and text[0] == '{' and text[text.len - 1] == '}') {
        text = text[1 .. text.len - 1];
        separator = ',';
    }
    var title: ?[]const u8 = null;
    var job: ?[]const u8 = null;
    var items = mem.splitScalar(u8, text, separator);
    while (items.next()) |raw| {
        const item = mem.trim(u8, raw, " \t\r");
        if (item.len == 0 or item[0] == '#' or mem.eql(u8, item, "---")) continue;
        const colon = mem.indexOfScalar(u8, item, ':') orelse return fail("config: expected \"key: value\", got \"{s}\"", .{item});
        const key = clean(item[0..colon]);
        const value = clean(item[colon + 1 ..]);
        const slot = if (mem.eql(u8, key, "title")) &title else if (mem.eql(u8, key, "job")) &job else return fail("config: unknown field \"{s}\" (known fields: title, job)", .{key});
        if (slot.* != null) return fail("config: field \"{s}\" is given twice", .{key});
        if (!valid(value)) return fail("config: field \"{s}\" must be 1 to 100 letters, digits, spaces or ._:/-", .{key});
        slot.* = value;
    }
    const t = title orelse return fail("config: field \"title\" is required", .{});
    const j = job orelse return fail("config: field \"job\" is required", .{});
    const out = dashboard(t, j) orelse return 2;
    return if (writeAll(1, out)) 0 else 2;
}

fn clean(s: []const u8) []const u8 {
    var v = s;
    if (mem.indexOf(u8, v, " #")) |comment| v = v[0..comment];
    v = mem.trim(u8, v, " \t\r");
    if (v.len >= 2 and (v[0] == '"' or v[0] == '\'') and v[v.len - 1] == v[0]) v = v[1 .. v.len - 1];
    return v;
}

fn valid(v: []const u8) bool {
    if (v.len == 0 or v.len > 100) return false;
    for (v) |c| {
        if (!(std.ascii.isAlphanumeric(c) or mem.indexOfScalar(u8, " ._:/-", c) != null)) return false;
    }
    return true;
}

fn fail(comptime format: []const u8, args: anytype) u8 {
    const line = std.fmt.bufPrint(&err_buf, format ++ "\n", args) catch "config: invalid\n";
    _ = writeAll(2, line);
    return 1;
}

fn readStdin() ?[]const u8 {
    var len: usize = 0;
    while (true) {
        if (len == config_buf.len) return null;
        const iov = [_]wasi.iovec_t{.{ .base = config_buf[len..].ptr, .len = config_buf.len - len }};
        var n: usize = 0;
        if (wasi.fd_read(0, &iov, 1, &n) != .SUCCESS) return null;
        if (n == 0) return config_buf[0..len];
        len += n;
    }
}

fn writeAll(fd: wasi.fd_t, data: []const u8) bool {
    var off: usize = 0;
    while (off < data.len) {
        const iov = [_]wasi.ciovec_t{.{ .base = data[off..].ptr, .len = data.len - off }};
        var n: usize = 0;
        if (wasi.fd_write(fd, &iov, 1, &n) != .SUCCESS) return false;
        off += n;
    }
    return true;
}
