import { randomBytes } from 'node:crypto';

/** A random id (22 base64url characters, 128 bits): session ids. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

// Random bytes drawn in blocks: one crypto call per 256 event ids, not one per id.
const RANDOM_BLOCK_BYTES = 12 * 256;
let randomBlock = Buffer.alloc(0);
let randomOffset = 0;

/**
 * An event id: 48 bits of the clock (12 hex digits) then 96 random bits
 * (16 base64url characters). Unique like a random id, but ids made close in
 * time sort close together, so the unique index on `events.id` grows at its
 * end instead of dirtying a random page per event (SQLite writes each dirty
 * page as another WAL frame at commit; PostgreSQL's B-tree likewise stays
 * compact and cached).
 */
export function newEventId(now: number): string {
  if (randomOffset + 12 > randomBlock.length) {
    randomBlock = randomBytes(RANDOM_BLOCK_BYTES);
    randomOffset = 0;
  }
  const random = randomBlock.toString('base64url', randomOffset, randomOffset + 12);
  randomOffset += 12;
  return `${Math.max(0, Math.floor(now)).toString(16).padStart(12, '0')}${random}`;
}
