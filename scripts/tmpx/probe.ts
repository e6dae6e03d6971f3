import { libc, LINUX, socketAddress } from "../../lib/engine/libc.ts";
import { askForReceiveStamps } from "../../lib/engine/ffi_socket.ts";
import { StampedReader } from "../../lib/engine/kernel_stamps.ts";
const c = libc();
const address = socketAddress("127.0.0.1", 0);
const fd = c.socket(LINUX.AF_INET, 2 | LINUX.SOCK_NONBLOCK | LINUX.SOCK_CLOEXEC, 0);
console.log("bind", c.bind(fd, address.bytes, address.bytes.length));
const self = new Uint8Array(16);
const len = new Uint8Array(new Uint32Array([16]).buffer);
c.getsockname(fd, self, len);
console.log("connect", c.connect(fd, self, 16));
const t0 = performance.now();
const asked = askForReceiveStamps(fd); c.send(fd, new Uint8Array(1), 1n, LINUX.MSG_DONTWAIT); await new Promise((r) => setTimeout(r, 2)); const b0 = new Uint8Array(1); const r0 = new StampedReader(); r0.read(fd, b0, LINUX.MSG_DONTWAIT); console.log("immediate probe age", (performance.now() - (r0.arrivalPerf ?? NaN)).toFixed(3), asked);
const reader = new StampedReader();
const byte = new Uint8Array(1);
for (let i = 0; i < 8; i++) {
  const sendPerf = performance.now();
  c.send(fd, byte, 1n, LINUX.MSG_DONTWAIT);
  await new Promise((r) => setTimeout(r, 2));
  const n = reader.read(fd, byte, LINUX.MSG_DONTWAIT);
  const readPerf = performance.now();
  console.log(i, "t", (sendPerf - t0).toFixed(3), "n", n, "waited", (readPerf - sendPerf).toFixed(3), "stamp age", reader.arrivalPerf === undefined ? "none" : (readPerf - reader.arrivalPerf).toFixed(3));
}
c.close(fd);
