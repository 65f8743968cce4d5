//! A hostile Zig generator for the sandbox tests: "panic" traps, "loop" spins.
const std = @import("std");
const wasi = std.os.wasi;

pub fn main() u8 {
    var buf: [64]u8 = undefined;
    const iov = [_]wasi.iovec_t{.{ .base = &buf, .len = buf.len }};
    var n: usize = 0;
    if (wasi.fd_read(0, &iov, 1, &n) != .SUCCESS) return 2;
    const mode = std.mem.trim(u8, buf[0..n], " \n");
    if (std.mem.eql(u8, mode, "panic")) @panic("boom");
    if (std.mem.eql(u8, mode, "loop")) {
        var i: u64 = 0;
        while (true) {
            i +%= 1;
            std.mem.doNotOptimizeAway(i);
        }
    }
    return 64;
}
