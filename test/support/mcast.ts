/**
 * Multicast probe for tests, run inside a pod namespace:
 *   node mcast.js listen GROUP PORT TIMEOUT_MS IFADDR   → prints the first message received (or nothing)
 *   node mcast.js send GROUP PORT MESSAGE IFADDR        → sends MESSAGE three times
 */
import { createSocket } from 'node:dgram';

const [mode, group, portS, arg, ifaddr] = process.argv.slice(2);
if (!mode || !group || !portS || !arg || !ifaddr) {
  process.stderr.write('usage: mcast.js listen|send GROUP PORT TIMEOUT_MS|MESSAGE IFADDR\n');
  process.exit(2);
}
const port = Number(portS);
const sock = createSocket({ type: 'udp4', reuseAddr: true });
if (mode === 'listen') {
  const timer = setTimeout(() => { sock.close(); }, Number(arg));
  sock.on('message', (m) => {
    process.stdout.write(m.toString() + '\n');
    clearTimeout(timer);
    sock.close();
  });
  sock.bind(port, () => {
    sock.addMembership(group, ifaddr);
    process.stderr.write('listening\n'); // the test sends only after every listener said this
  });
} else {
  sock.bind(0, () => {
    sock.setMulticastInterface(ifaddr);
    sock.setMulticastTTL(4);
    let n = 0;
    const tick = () => {
      sock.send(arg, port, group, () => {
        if (++n >= 3) sock.close();
        else setTimeout(tick, 200);
      });
    };
    tick();
  });
}
