/**
 * The few libc socket calls the FFI engine needs, bound once per thread
 * with `Deno.dlopen`, and the Linux constants and address layouts that go
 * with them (x86-64 and arm64 share them).
 *
 * Every call is synchronous (`nonblocking: false`): a `nonblocking: true`
 * FFI call hops through a thread pool and costs 22–27 µs, more than the
 * round trips this engine exists to measure. Lengths are `usize` passed as
 * bigint: a plain number costs about 100 ns more per call.
 *
 * @module
 */

/** Linux socket constants (the same on x86-64 and arm64). */
export const LINUX = Object.freeze({
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  IPPROTO_TCP: 6,
  TCP_NODELAY: 1,
  SOL_SOCKET: 1,
  SO_REUSEADDR: 2,
  SO_ERROR: 4,
  SO_RCVTIMEO: 20,
  SO_SNDTIMEO: 21,
  /** SO_TIMESTAMPNS_OLD: a `struct timespec` (64-bit on both ABIs) per datagram, CLOCK_REALTIME. */
  SO_TIMESTAMPNS: 35,
  CLOCK_REALTIME: 0,
  CLOCK_MONOTONIC: 1,
  POLLIN: 0x001,
  POLLOUT: 0x004,
  POLLERR: 0x008,
  POLLHUP: 0x010,
  POLLNVAL: 0x020,
  MSG_DONTWAIT: 0x40,
  MSG_NOSIGNAL: 0x4000,
  SHUT_RDWR: 2,
  ECONNREFUSED: 111,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ENETUNREACH: 101,
  EHOSTUNREACH: 113,
  EADDRNOTAVAIL: 99,
  EPIPE: 32,
  ECONNABORTED: 103,
  EPOLLIN: 0x001,
  EPOLLOUT: 0x004,
  EPOLLERR: 0x008,
  EPOLLHUP: 0x010,
  /** Wake one of the epoll sets waiting on a shared listener, not all. */
  EPOLLEXCLUSIVE: 1 << 28,
  EPOLL_CTL_ADD: 1,
  EPOLL_CTL_DEL: 2,
  EPOLL_CTL_MOD: 3,
  EPOLL_CLOEXEC: 0o2000000,
});

import { UsageError } from "../errors.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  // ssize_t results read as i32: a bigint per call would cost more than the
  // call, and lengths stay far below 2^31 (the low half of -1 is -1).
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  memcmp: { parameters: ["buffer", "buffer", "usize"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  // The same poll on the runtime's blocking pool (22–27 µs a call): for waits that must
  // not hold the calling thread, such as an accept loop, never for a measured path.
  pollOffThread: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  ppoll: { parameters: ["buffer", "u64", "buffer", "pointer"], result: "i32" },
  // Variadic in C; five word-sized arguments are passed like fixed ones.
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  // Variadic in C; called with one int argument, which both Linux ABIs pass like a fixed one.
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The bound libc symbols. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let bound: Libc | undefined;

/** Whether this platform can run the FFI engine. */
export function ffiSupported(): boolean {
  return Deno.build.os === "linux";
}

/**
 * Throws a one-line usage error when this process may not load libraries:
 * checked on the main thread before any Worker starts, so a missing
 * `--allow-ffi` is not mistaken for a failed connection.
 */
export function assertFfiAllowed(option: string): void {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    throw new UsageError(
      `Option ${option} calls libc through FFI: run with --allow-ffi (the deno tasks and the compiled binary have it)`,
    );
  }
}

/**
 * Lowers this thread's timer slack to 1 µs (sleeps end within a µs of
 * their time instead of up to 50 µs late) when FFI is allowed on Linux;
 * returns whether it did.
 */
export function lowerTimerSlack(): boolean {
  if (!ffiSupported() || Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return false;
  }
  return libc().prctl(PR_SET_TIMERSLACK, 1000n, 0n, 0n, 0n) === 0;
}

const PR_SET_TIMERSLACK = 29;

/** libc's socket calls, opened on first use in this thread (needs `--allow-ffi`). */
export function libc(): Libc {
  if (bound) return bound;
  if (!ffiSupported()) throw new Error(`The FFI engine runs on Linux only, not "${Deno.build.os}"`);
  bound = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return bound;
}

/** A `struct sockaddr_in`/`sockaddr_in6` for an IP address literal and port. */
export function socketAddress(ip: string, port: number): { family: number; bytes: Uint8Array } {
  if (ip.includes(":")) {
    const bytes = new Uint8Array(28);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, LINUX.AF_INET6, true);
    view.setUint16(2, port, false);
    bytes.set(ipv6Bytes(ip), 8);
    return { family: LINUX.AF_INET6, bytes };
  }
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, LINUX.AF_INET, true);
  view.setUint16(2, port, false);
  bytes.set(ip.split(".").map(Number), 4);
  return { family: LINUX.AF_INET, bytes };
}

/** The port a `struct sockaddr_in`/`sockaddr_in6` holds. */
export function portOfAddress(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint16(2, false);
}

/** The 16 bytes of an IPv6 literal ("::1", "fe80::1%eth0", "::ffff:127.0.0.1"). */
export function ipv6Bytes(ip: string): Uint8Array {
  let text = ip.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  // A dotted IPv4 tail is two more groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${
      ((c << 8) | d).toString(16)
    }`;
  }
  const [head, tail] = text.split("::");
  const groups = (part: string | undefined) =>
    part ? part.split(":").map((g) => parseInt(g, 16)) : [];
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined
    ? left
    : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.slice(0, 8).forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * Bytes of one `struct epoll_event` (a u32 of events, then a u64 of data):
 * packed on x86-64, the u64 aligned to 8 elsewhere.
 */
export const EPOLL_EVENT_BYTES = Deno.build.arch === "x86_64" ? 12 : 16;
/** Where an epoll event's data lies within it. */
export const EPOLL_DATA_OFFSET = Deno.build.arch === "x86_64" ? 4 : 8;

/** The IP address a `struct sockaddr_in`/`sockaddr_in6` holds, as text (IPv6 unabridged). */
export function ipOfAddress(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  if (view.getUint16(0, true) === LINUX.AF_INET6) {
    const groups = Array.from(
      { length: 8 },
      (_, i) => view.getUint16(8 + 2 * i, false).toString(16),
    );
    return groups.join(":");
  }
  return Array.from(bytes.subarray(4, 8)).join(".");
}

/** A `struct timeval` of `ms` milliseconds, for SO_RCVTIMEO/SO_SNDTIMEO. */
export function timeval(ms: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  const us = Math.max(1, Math.round(ms * 1000));
  view.setBigInt64(0, BigInt(Math.floor(us / 1e6)), true);
  view.setBigInt64(8, BigInt(us % 1e6), true);
  return bytes;
}
