/**
 * The consistent reader. A consumer that opens current/cert.pem and then current/key.pem can
 * straddle a swap and pair one generation's certificate with the next one's key. This reader
 * resolves `current` once and reads every file from that one generation's own directory.
 */
import { CertswapError, ErrorCodes, isCertswapError } from '../errors.js';
import type { StoreContext } from './context.js';

/** What a reader needs, and no more: the store's paths and a logger (no lock, no clock, no validation). */
export type ReadContext = Pick<StoreContext, 'paths' | 'log'>;
import { activeGeneration, readGenerationFiles, type GenerationFiles } from './generations.js';

/** How often a read is retried when prune removes the generation between resolve and read. */
const ATTEMPTS = 8;

export type ActivePair = GenerationFiles;

/**
 * Returns the active certificate, key and CA bytes and their generation number, all from one
 * generation. Takes no lock. If the generation it resolved is pruned before it finishes reading
 * (the store moved on twice in between), it resolves again. Raises CERTSWAP_NO_ACTIVE,
 * CERTSWAP_UNSAFE_STORE, CERTSWAP_INCOMPLETE_GENERATION.
 */
export async function readActive(ctx: ReadContext): Promise<ActivePair> {
  for (let attempt = 1; ; attempt++) {
    const n = await activeGeneration(ctx.paths);
    if (n === null) throw new CertswapError(ErrorCodes.NO_ACTIVE, `nothing is active in ${ctx.paths.dir}`);
    try {
      return await readGenerationFiles(ctx.paths, n);
    } catch (err) {
      if (!isCertswapError(err, ErrorCodes.NO_SUCH_GENERATION) || attempt >= ATTEMPTS) throw err;
      ctx.log.debug(
        { event: 'read-retry', generation: n, attempt },
        'generation pruned while reading; resolving again',
      );
    }
  }
}
