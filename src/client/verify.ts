import { canonicalJson } from '../crypto/index.js';
import { blockHash } from '../ledger/block.js';
import { verifyTxInclusion } from '../ledger/proof.js';
import { txIdOf } from '../ledger/tx.js';
import type { TxResponse } from '../wire/index.js';

/**
 * Checks an answer of GET /ledger/tx/:id without trusting the node: the envelope hashes to the
 * id, the header hashes to `blockHash`, and the RFC 6962 proof leads from the envelope to the
 * header's txRoot at the stated position. The caller still has to check `blockHash` against a
 * chain it trusts (e.g. headers it verified, or several nodes' answers).
 *
 * @example
 * const view = await client.getTx(id);
 * if (!verifyTxResponse(view)) throw new Error('node sent a bad proof');
 */
export function verifyTxResponse(response: TxResponse): boolean {
  try {
    return (
      txIdOf(response.tx.tx) === response.id &&
      blockHash(response.header) === response.blockHash &&
      response.header.height === response.height &&
      response.proof.leafIndex === response.index &&
      verifyTxInclusion(canonicalJson(response.tx), response.proof, response.header)
    );
  } catch {
    return false;
  }
}
