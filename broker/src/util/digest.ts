// SHA-256 as lowercase hex where it is hot: the token hash of every request and the audit chain, whose
// records a group write hashes one after another before it can commit. WebCrypto's digest is asynchronous:
// on Node each call is a round trip to the libuv thread pool (about 55 µs, queued behind the RSA
// verifications of other requests) where a synchronous hash costs about 7 µs, so the Node entry injects
// node:crypto's. workerd runs digest on the isolate's own thread, so the Worker keeps the default.
import { sha256Hex } from './encoding.ts';

export type Sha256Hex = (text: string) => string | Promise<string>;

export const webSha256Hex: Sha256Hex = (text) => sha256Hex(text);
