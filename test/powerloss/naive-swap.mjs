// The design certswap replaces (the naive two-rename swap), as a baseline for the power-cut
// harness: fixed cert.pem/key.pem, pending files written without fsync, a backup copy, then
// rename the certificate and rename the key, no directory fsync. `step(op, path)` is called after
// every mutating call so that the harness can cut power there.
import fs from 'node:fs';
import path from 'node:path';

function writeFile(file, data, step) {
  const fd = fs.openSync(file, 'w', 0o600);
  step('open', file);
  try {
    fs.writeSync(fd, data);
    step('write', file);
  } finally {
    fs.closeSync(fd);
  }
}

export function naiveInstall(dir, cert, key, step) {
  const active = { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
  const pending = { cert: `${active.cert}.pending`, key: `${active.key}.pending` };
  const backup = { cert: `${active.cert}.backup`, key: `${active.key}.backup` };
  writeFile(pending.cert, cert, step);
  writeFile(pending.key, key, step);
  writeFile(backup.cert, fs.readFileSync(active.cert), step);
  writeFile(backup.key, fs.readFileSync(active.key), step);
  fs.renameSync(pending.cert, active.cert);
  step('rename', active.cert);
  fs.renameSync(pending.key, active.key);
  step('rename', active.key);
  fs.unlinkSync(backup.cert);
  step('unlink', backup.cert);
  fs.unlinkSync(backup.key);
  step('unlink', backup.key);
}
