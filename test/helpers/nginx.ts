/** A real nginx (Debian's) serving a store's `current/` pair on a loopback port, for the consumer suites. */
import { spawn, type ChildProcess } from 'node:child_process';
import fse from 'fs-extra';
import path from 'node:path';

export interface Nginx {
  process: ChildProcess;
  /** The arguments that name this instance: add ['-s', 'reload'] for its reload command. */
  args: string[];
  stderr(): string;
}

/** The configuration and arguments of an nginx under `prefix` serving `cert`/`key` on `port`. */
export async function nginxInstance(
  prefix: string,
  port: number,
  files: { cert: string; key: string },
): Promise<string[]> {
  const conf = path.join(prefix, 'nginx.conf');
  await fse.mkdirp(prefix);
  await fse.writeFile(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${files.cert};
    ssl_certificate_key ${files.key};
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  return ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')];
}

/** Starts nginx in the foreground with `args`; the caller stops it (consumer.ts: stopProcess). */
export function startNginx(nginx: string, args: string[]): Nginx {
  let err = '';
  // Its own process group: stopProcess then signals the master and its workers together.
  const child = spawn(nginx, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  child.stderr!.on('data', (d) => (err += d));
  return { process: child, args, stderr: () => err };
}
