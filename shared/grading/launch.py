"""Start a Jupyter kernel inside the grading sandbox (run by path, before the kernel).

``python launch.py CONFIG.json -- KERNEL_ARGV...`` is the command of the
kernel spec that :mod:`shared.grading.sandbox` writes for each submission. It
imports nothing from the course (the course is hidden from the kernel) and,
in this order:

1. enters a new mount namespace (and network namespace, unless allowed): as
   root directly, otherwise inside an unprivileged user namespace;
2. (as root) mounts a private ``/proc`` where it sees only its own processes;
   hides the configured folders (the course checkout with its answer key, the
   grader's home, ``/tmp``...) under empty read-only tmpfs mounts, then mounts
   back only what the kernel needs: the Python environment and the course's
   keyless runtime (read-only), the submission's own working folder
   (read-write);
3. drops privileges: as root, to the submission's own unprivileged uid/gid
   (so the course files are read-only to it and its processes are countable);
   in a user namespace, every capability;
4. sets resource limits (processes, file size, core dumps, address space)
   and ``PR_SET_NO_NEW_PRIVS``;
5. ``exec``\\ s the kernel.

If a step fails, it prints why to stderr and exits 97: the grader reports
that the sandbox could not start instead of running the submission
unprotected.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
SANDBOX_FAILED = 97

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """``mount(2)``."""
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def unshare(flags: int) -> None:
    """``unshare(2)``."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def enter_namespaces(isolate_network: bool) -> bool:
    """New mount (+ network) namespace; returns ``True`` when we are real root."""
    flags = CLONE_NEWNS | (CLONE_NEWNET if isolate_network else 0)
    if os.geteuid() == 0:
        unshare(flags)
        return True
    uid, gid = os.geteuid(), os.getegid()
    unshare(flags | CLONE_NEWUSER)
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")
    return False


def arrange_mounts(hide: list[str], keep: list[dict], real_root: bool) -> None:
    """Hide ``hide`` under tmpfs; bind ``keep`` entries back (``src``, ``dst``, ``ro``).

    As real root, ``/proc`` is also mounted again with ``hidepid=2``: the submission's
    uid then sees only its own processes (not the grader's command line, nor other
    submissions').
    """
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    if real_root:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
    # Open every folder to keep before anything is hidden; mount it back from its fd.
    fds = [os.open(k["src"], os.O_PATH | os.O_DIRECTORY) for k in keep]
    for path in sorted(set(hide), key=len):
        if os.path.isdir(path):
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    for fd, k in zip(fds, keep):
        os.makedirs(k["dst"], exist_ok=True)
        mount(f"/proc/self/fd/{fd}", k["dst"], None, MS_BIND | MS_REC)
        if k.get("ro"):
            mount(None, k["dst"], None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
        os.close(fd)
    # the tmpfs themselves become read-only: nothing new can be written beside the kept folders
    for path in sorted(set(hide), key=len):
        if os.path.isdir(path):
            try:
                mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
            except OSError:
                pass  # a kept folder below it keeps it busy on some kernels; it stays writable-empty


def drop_privileges(real_root: bool, uid: int, gid: int) -> None:
    """Become ``uid``/``gid`` (real root) or drop every capability (user namespace)."""
    if real_root:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    else:
        for cap in range(64):
            if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
                break  # EINVAL: past the last capability
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "PR_SET_NO_NEW_PRIVS")


def set_limits(limits: dict, real_root: bool) -> None:
    """Resource limits inherited by the kernel and everything it starts."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.get("file_bytes"):
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    if limits.get("address_space_bytes"):
        resource.setrlimit(resource.RLIMIT_AS, (limits["address_space_bytes"],) * 2)
    if real_root and limits.get("threads"):
        # counts the processes and threads of the submission's own uid
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["threads"], limits["threads"]))


def probe() -> int:
    """Exit 0 if the namespaces can be entered here (run in a child: it changes this process)."""
    try:
        enter_namespaces(isolate_network=True)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return SANDBOX_FAILED
    return 0


def private_connection_file(kernel: list[str], config: dict) -> list[str]:
    """Copy the connection file (``-f PATH``, readable by the grader only) to one the kernel owns."""
    if "-f" not in kernel or not config.get("connection_copy"):
        return kernel
    i = kernel.index("-f") + 1
    with open(kernel[i], "rb") as f:
        data = f.read()
    target = config["connection_copy"]
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    if os.geteuid() == 0:
        os.chown(target, config["uid"], config["gid"])
    return kernel[:i] + [target] + kernel[i + 1:]


def main(argv: list[str]) -> int:
    if argv == ["--probe"]:
        return probe()
    if len(argv) < 3 or argv[1] != "--":
        print("usage: launch.py CONFIG.json -- KERNEL_ARGV...", file=sys.stderr)
        return 2
    config_path, sep, *kernel = argv
    if not kernel:
        print("usage: launch.py CONFIG.json -- KERNEL_ARGV...", file=sys.stderr)
        return 2
    with open(config_path) as f:
        config = json.load(f)
    try:
        real_root = os.geteuid() == 0
        if config.get("isolate", True):
            real_root = enter_namespaces(not config.get("allow_network", False))
            arrange_mounts(config["hide"], config["keep"], real_root)
        set_limits(config.get("limits", {}), real_root)
        kernel = private_connection_file(kernel, config)
        drop_privileges(real_root and config.get("isolate", True), config["uid"], config["gid"])
        os.chdir(config["cwd"])
    except Exception as exc:  # report, never run unprotected
        print(f"grading sandbox could not start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return SANDBOX_FAILED
    os.execve(kernel[0], kernel, config["env"])
    return SANDBOX_FAILED  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
