/**
 * Keeping Node TLS endpoints on the active pair, without a restart.
 *
 * Servers: tls.Server#setSecureContext swaps the context new handshakes use; connections already
 * established keep the context they were made with, so nothing in flight is cut.
 * Clients: an https.Agent whose new connections carry the active pair. Its pool name includes the
 * generation, so a keep-alive socket or a cached TLS session made with the old identity is never
 * reused for a request made after the switch (a resumed session would present the old
 * certificate without a new handshake), while requests already running on it finish normally.
 *
 * The pair always comes from the store watcher, which reads certificate and key from one
 * generation: a context is never built from one generation's certificate and another's key.
 */
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { CertswapError, ErrorCodes } from '../errors.js';
import type { ActivePair } from '../store/read-active.js';
import { StoreWatcher, type WatchOptions } from './watch.js';

export interface TlsIdentityOptions extends WatchOptions {
  /**
   * Also use the store's ca.pem as the context's `ca`: a server then verifies client certificates
   * against it, a client verifies the server against it. Default false: keep your own `ca`.
   */
  caFromStore?: boolean;
}

export interface TlsIdentityEvents {
  /** Every attached server and every agent now uses `generation`. */
  reload: [{ generation: number; previous: number | null }];
  /** A change could not be applied; the previous pair stays in use. */
  error: [Error];
}

export class TlsIdentity extends EventEmitter<TlsIdentityEvents> {
  private readonly servers: { server: tls.Server; base: tls.SecureContextOptions }[] = [];

  private constructor(
    private readonly watcher: StoreWatcher,
    private active: ActivePair,
    private readonly caFromStore: boolean,
  ) {
    super();
    watcher.on('change', ({ pair, previous }) => this.apply(pair, previous));
    watcher.on('error', (err) => this.fail(err));
    watcher.on('inactive', () =>
      this.fail(
        new CertswapError(
          ErrorCodes.NO_ACTIVE,
          `nothing is active in ${watcher.dir}; still using generation ${this.active.generation}`,
        ),
      ),
    );
  }

  /**
   * Reads the active pair of the store at `dir` and follows its activations and rollbacks.
   * Raises CERTSWAP_NO_ACTIVE if nothing is active yet.
   */
  static async open(dir: string, options: TlsIdentityOptions = {}): Promise<TlsIdentity> {
    const watcher = new StoreWatcher(dir, options);
    try {
      const pair = await watcher.ready;
      if (!pair) throw new CertswapError(ErrorCodes.NO_ACTIVE, `nothing is active in ${dir}`);
      return new TlsIdentity(watcher, pair, options.caFromStore ?? false);
    } catch (err) {
      watcher.close();
      throw err;
    }
  }

  /** The generation in use. */
  get generation(): number {
    return this.active.generation;
  }

  /** The pair in use. */
  get pair(): ActivePair {
    return this.active;
  }

  /** `base` with the active certificate and key (and CA, with caFromStore) put in. */
  secureContextOptions<T extends tls.SecureContextOptions>(base: T = {} as T): T {
    const { cert, key, ca } = this.active;
    return { ...base, cert, key, ...(this.caFromStore && ca ? { ca } : {}) };
  }

  /**
   * Keeps `server` (tls.Server or https.Server) on the active pair. `base` holds the server's other
   * secure-context options (ciphers, ca for client certificates...): setSecureContext replaces
   * the whole context, so they are given again each time.
   */
  attachServer(server: tls.Server, base: tls.SecureContextOptions = {}): void {
    server.setSecureContext(this.secureContextOptions(base));
    this.servers.push({ server, base });
  }

  /** An https.Agent (mTLS client) whose new connections present the active pair. */
  createAgent(options: https.AgentOptions = {}): https.Agent {
    const identity = this; // the agent's methods have their own `this`
    class IdentityAgent extends https.Agent {
      override getName(o?: https.RequestOptions): string {
        return `${super.getName(o)}:certswap-generation-${identity.generation}`;
      }
      override createConnection(
        o: https.RequestOptions,
        cb?: (err: Error | null, stream: Duplex) => void,
      ): Duplex | null | undefined {
        return super.createConnection(identity.secureContextOptions(o), cb);
      }
    }
    return new IdentityAgent(options);
  }

  /** Stops following the store; servers and agents keep the pair they have. */
  close(): void {
    this.watcher.close();
  }

  private apply(pair: ActivePair, previous: number | null): void {
    const before = this.active;
    this.active = pair;
    try {
      for (const { server, base } of this.servers) server.setSecureContext(this.secureContextOptions(base));
    } catch (err) {
      // Node refused the new pair (an algorithm it cannot load): keep serving the old one.
      this.active = before;
      for (const { server, base } of this.servers) server.setSecureContext(this.secureContextOptions(base));
      this.fail(err as Error);
      return;
    }
    this.emit('reload', { generation: pair.generation, previous });
  }

  private fail(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
