import { hash, verify } from '@node-rs/argon2';

/**
 * Password hashing. @node-rs/argon2 (Rust's `argon2` crate through N-API:
 * maintained, prebuilt, no node-gyp) hashes with argon2id by default, with
 * m=19 MiB, t=2, p=1 — OWASP's first recommended setting — about 0.1 s here,
 * off the event loop.
 */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

// A hash of nothing anyone knows, checked when the username does not exist,
// so an unknown name costs the same time as a wrong password.
let decoyHash: Promise<string> | undefined;

/** Starts computing the decoy hash now, so the first unknown-name sign-in is not faster or slower than the rest. */
export function prepareDecoyHash(): void {
  decoyHash ??= hash(`parley-decoy-${Math.random()}`);
}

/**
 * Whether `password` is the account's. For a missing account (`undefined`)
 * a decoy hash is verified anyway and the answer is false, in about the same time.
 */
export async function checkPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (passwordHash === undefined) {
    prepareDecoyHash();
    await verify(await (decoyHash as Promise<string>), password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}
