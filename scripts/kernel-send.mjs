// Sends `count` first packets of new connections (TCP SYNs, or one UDP datagram per socket) from
// `src` to `dst`:`port`, one every 4 ms (so a trace listener keeps up), then exits:
// `node kernel-send.mjs tcp|udp <src> <dst> <port> <count>`.
// Run inside a network namespace by scripts/kernelTracer.ts. Nothing is expected to answer.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const [proto, src, dst, port, count] = process.argv.slice(2);
const n = Number(count);
const open = [];
const pause = () => new Promise((r) => setTimeout(r, 4));
for (let i = 0; i < n; i++) {
  await pause();
  if (proto === 'udp') {
    const s = createSocket(dst.includes(':') ? 'udp6' : 'udp4');
    s.on('error', () => {});
    s.bind({ address: src, port: 0 }, () => s.send('podpath', Number(port), dst));
    open.push(() => s.close());
  } else {
    const s = connect({ host: dst, port: Number(port), localAddress: src });
    s.on('error', () => {});
    open.push(() => s.destroy());
  }
}
setTimeout(() => {
  for (const close of open) close();
  process.exit(0);
}, 150);
