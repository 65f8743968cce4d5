"""A child process's own peak memory, for the tests and benches that bound it.

Not `getrusage(...).ru_maxrss`, nor `os.wait4`'s: Linux carries the forking parent's peak
across execve (kernel/sys.c `getrusage` reads `signal->maxrss`, which fs/exec.c
`exec_mmap` raises to the old mm's high-water mark), so a child of a large pytest process
reports pytest's peak, and a bound checked that way can pass whatever the child does.
`VmHWM` in /proc/self/status is this process image's own peak resident set
(Documentation/filesystems/proc.rst, "VmHWM peak resident set size").
"""

CHILD_PEAK = """
def peak_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""
"""Source to prepend to a child's code: defines `peak_kib()`, the child's own peak in KiB."""
