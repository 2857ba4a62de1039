import { Level } from 'level';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
const opts = JSON.parse(process.argv[2] || '{}');
const db = new Level(mkdtempSync('/tmp/nc3/lvl-'), { keyEncoding: 'view', valueEncoding: 'view', ...opts });
await db.open();
const accounts = Array.from({length: 2256}, () => randomBytes(33).toString('base64'));
const value = randomBytes(330);
let id = 0; const lat = [];
const c0 = process.cpuUsage(); const t0 = performance.now();
const PB = Number(process.argv[3]||120), SYNC = process.argv[4] !== "nosync"; for (let b = 0; b < 360000/PB; b++) {
  const batch = db.batch();
  for (let i = 0; i < PB; i++) { id++; const k = Buffer.allocUnsafe(53); k[0]=0x10 + (i%3); k.write(accounts[(id*7919) % 2256], 1, 44, 'latin1'); k.writeBigUInt64BE(BigInt(id), 45); batch.put(k, value); }
  const t = performance.now(); await batch.write({ sync: SYNC }); lat.push(performance.now() - t);
}
const c = process.cpuUsage(c0);
lat.sort((a,b)=>a-b);
const q = (p) => lat[Math.floor(p*(lat.length-1))].toFixed(2);
console.log(JSON.stringify(opts).padEnd(30), 'MB', (id*383/1e6).toFixed(0), 'write ms p50', q(0.5), 'p90', q(0.9), 'p99', q(0.99), 'max', q(1), 'cpu µs/put', ((c.user+c.system)/id).toFixed(2), 'wall s', ((performance.now()-t0)/1000).toFixed(1), 'load', (await import('node:os')).loadavg()[0].toFixed(1));
await db.close();
