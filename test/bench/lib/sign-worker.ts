// Worker thread for signTokensParallel: signs its share of a token pool and posts it back.
import { parentPort, workerData } from 'node:worker_threads';
import { signTokens, type TokenSpec } from './tokens.ts';

const { spec, count } = workerData as { spec: TokenSpec; count: number };
parentPort?.postMessage(signTokens(spec, count));
