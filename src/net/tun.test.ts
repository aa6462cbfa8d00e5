import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  buildIfreq,
  deletePersistentTun,
  IFREQ_SIZE,
  ifreqName,
  inNetns,
  TUN_FLAG,
  TUN_IOCTL,
  TunDevice,
  TunError,
  tunExists,
} from './tun.js';

test('ifreq: 40 bytes, NUL-terminated name at 0, flags as a little-endian short at 16', () => {
  const ifr = buildIfreq('nst-tapp', TUN_FLAG.TUN | TUN_FLAG.NO_PI);
  assert.equal(ifr.length, IFREQ_SIZE);
  assert.deepEqual([...ifr.subarray(0, 9)], [...Buffer.from('nst-tapp'), 0]);
  assert.equal(ifr[16], 0x01);
  assert.equal(ifr[17], 0x10);
  assert.ok(ifr.subarray(18).every((b) => b === 0));
  assert.ok(ifr.subarray(8, 16).every((b) => b === 0));
  assert.equal(ifreqName(ifr), 'nst-tapp');
  // A 15-character name leaves exactly the terminating NUL at 15.
  const long = buildIfreq('abcdefghijklmno');
  assert.equal(long[14], 'o'.charCodeAt(0));
  assert.equal(long[15], 0);
  // ifr_qlen (txqueuelen) is an int at the same offset.
  const q = buildIfreq('t0', 10_000, 4);
  assert.equal(new DataView(q.buffer).getInt32(16, true), 10_000);
});

test('ifreq: names the kernel would reject are refused with the device name', () => {
  for (const bad of ['', 'abcdefghijklmnop', 'a/b', 'tun 0', 'tün']) {
    assert.throws(
      () => buildIfreq(bad),
      (e: unknown) => e instanceof TunError && e.code === 'EINVAL' && e.device === bad,
    );
  }
});

test('TUN ioctl numbers are _IOW/_IOR(T, nr, int)', () => {
  const iow = (nr: number): number => ((1 << 30) | (4 << 16) | (0x54 << 8) | nr) >>> 0;
  const ior = (nr: number): number => ((2 << 30) | (4 << 16) | (0x54 << 8) | nr) >>> 0;
  assert.equal(TUN_IOCTL.SETIFF, iow(202));
  assert.equal(TUN_IOCTL.SETPERSIST, iow(203));
  assert.equal(TUN_IOCTL.GETIFF, ior(210));
});

const root = process.getuid?.() === 0 && process.platform === 'linux';

test('TUN in a namespace: persist, exclusive attach, re-attach, read timeout, errors', async (t) => {
  if (!root) return t.skip('needs root');
  // Named like a lab's (`nst-<pid base 36>_xx-...`) so cleanupStale removes it after a crash.
  const ns = `nst-${process.pid.toString(36)}_tu-tun`;
  const ip = (...args: string[]): string => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  ip('netns', 'add', ns);
  t.after(() => spawnSync('ip', ['netns', 'delete', ns]));

  const dev = TunDevice.open({ name: 'nst-t0', netns: ns, persist: true, txqueuelen: 4321 });
  assert.ok(tunExists('nst-t0', ns));
  assert.equal(tunExists('nst-t0'), false, 'created in the namespace, not in ours');
  const shown = ip('-n', ns, '-d', 'link', 'show', 'nst-t0');
  assert.match(shown, /qlen 4321/);
  assert.match(shown, /tun type tun pi off/);
  assert.match(shown, /persist on/);
  // This thread is back home: the namespace's loopback index is not what we see here.
  assert.equal(
    inNetns(undefined, () => tunExists('nst-t0')),
    false,
  );

  await assert.rejects(
    async () => TunDevice.open({ name: 'nst-t0', netns: ns }),
    (e: unknown) =>
      e instanceof TunError &&
      e.code === 'EBUSY' &&
      /nst-t0/.test(e.message) &&
      /Device or resource busy/.test(e.message),
  );
  const buf = new Uint8Array(2048);
  const t0 = Date.now();
  assert.equal(dev.readPacket(buf, 50), 0, 'nothing to read: timeout');
  assert.ok(Date.now() - t0 >= 40);
  // What is not an IP packet (version 0) is refused by the kernel, with its errno.
  assert.throws(
    () => dev.writePacket(new Uint8Array(20)),
    (e: unknown) => e instanceof TunError && e.code === 'EINVAL' && e.device === 'nst-t0',
  );
  assert.equal(dev.write(new Uint8Array(20)), -22, 'the hot-path write returns -errno');
  dev.close();
  assert.ok(tunExists('nst-t0', ns), 'a persistent device outlives its fd');

  const again = TunDevice.open({ name: 'nst-t0', netns: ns, create: false, up: true });
  assert.match(ip('-n', ns, 'link', 'show', 'nst-t0'), /UP,LOWER_UP/);
  again.close();
  deletePersistentTun('nst-t0', ns);
  assert.equal(tunExists('nst-t0', ns), false);
  assert.throws(
    () => TunDevice.open({ name: 'nst-t0', netns: ns, create: false }),
    (e: unknown) => e instanceof TunError && e.code === 'ENODEV' && /nst-t0/.test(e.message),
  );
  assert.throws(
    () => TunDevice.open({ name: 'nst-t1', netns: 'nst-no-such-namespace' }),
    /TUN nst-t1: open network namespace .*nst-no-such-namespace: ENOENT/,
  );
});
