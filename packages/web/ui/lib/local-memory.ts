/**
 * What the page remembers across reloads in `localStorage` (per origin, so
 * shared by its tabs): the unread count of each room and the order in which
 * the rooms were opened (the server lists a session's rooms by name). Storage
 * that is full, disabled or holds something else is treated as empty.
 */
const UNREAD_KEY = 'parley.unread';
const ROOM_ORDER_KEY = 'parley.roomOrder';

function read(key: string): unknown {
  try {
    const text = localStorage.getItem(key);
    return text === null ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

function write(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or a full quota: the page works, it just forgets on reload.
  }
}

/** Unread messages per room, as last saved. */
export function loadUnread(): Map<string, number> {
  const saved = read(UNREAD_KEY);
  const counts = new Map<string, number>();
  if (typeof saved !== 'object' || saved === null) return counts;
  for (const [room, count] of Object.entries(saved)) {
    if (Number.isSafeInteger(count) && (count as number) > 0) counts.set(room, count as number);
  }
  return counts;
}

/** Saves the unread counts (rooms at 0 are left out). */
export function saveUnread(counts: ReadonlyMap<string, number>): void {
  write(UNREAD_KEY, Object.fromEntries([...counts].filter(([, count]) => count > 0)));
}

/** The rooms in the order they were opened, as last saved. */
export function loadRoomOrder(): string[] {
  const saved = read(ROOM_ORDER_KEY);
  return Array.isArray(saved) ? saved.filter((room): room is string => typeof room === 'string') : [];
}

export function saveRoomOrder(rooms: readonly string[]): void {
  write(ROOM_ORDER_KEY, rooms);
}

/** `rooms` sorted by the saved order; rooms it does not know keep their order, after the known ones. */
export function inOpenedOrder(rooms: readonly string[]): string[] {
  const order = loadRoomOrder();
  const rank = (room: string): number => {
    const index = order.indexOf(room);
    return index < 0 ? order.length : index;
  };
  return rooms.map((room, index) => ({ room, index })).sort((a, b) => rank(a.room) - rank(b.room) || a.index - b.index).map(({ room }) => room);
}

/** Forgets everything (on sign-out: the next person on this browser starts clean). */
export function forgetAll(): void {
  try {
    localStorage.removeItem(UNREAD_KEY);
    localStorage.removeItem(ROOM_ORDER_KEY);
  } catch {
    // Nothing was stored.
  }
}
