import type { ChatEvent, LiveMessageEvent } from './events.js';
import { isRoomName } from './validation.js';

const EVENT_TYPES: ReadonlySet<string> = new Set(['message', 'enter', 'leave', 'nick', 'kick', 'edit', 'delete']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Is `value` a positive safe integer (a seq)? */
export function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1;
}

/**
 * Does `value` have the shape of a `ChatEvent`? Events come from the web tier
 * (signed notify, or its internal events endpoint), so this checks the fields
 * a chatserver relies on and passes others through untouched.
 */
export function isChatEvent(value: unknown): value is ChatEvent {
  if (!isRecord(value)) return false;
  if (!isRoomName(value.room) || !isSeq(value.seq)) return false;
  if (typeof value.type !== 'string' || !EVENT_TYPES.has(value.type)) return false;
  if (typeof value.at !== 'number' || !Number.isFinite(value.at)) return false;
  if (typeof value.id !== 'string' || typeof value.nickname !== 'string') return false;
  // A message or an edit has its text, unless it was deleted (then it has none).
  if ((value.type === 'message' || value.type === 'edit') && typeof value.text !== 'string' && value.deleted !== true) {
    return false;
  }
  if ((value.type === 'edit' || value.type === 'delete') && !isSeq(value.target)) return false;
  if (value.type === 'nick' && typeof value.from !== 'string') return false;
  if (value.type === 'kick' && typeof value.target !== 'string') return false;
  if (value.user !== undefined && value.user !== null && typeof value.user !== 'string') return false;
  return true;
}

/** Is `value` a `{ events: ChatEvent[] }` object? */
export function isEventList(value: unknown): value is { events: ChatEvent[] } {
  return isRecord(value) && Array.isArray(value.events) && value.events.every(isChatEvent);
}

/** Is `event` a message that has its text (not a deleted one)? */
export function isLiveMessage(event: ChatEvent): event is LiveMessageEvent {
  return event.type === 'message' && 'text' in event;
}
