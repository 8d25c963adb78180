import { isRoomName } from '@parley/protocol';

/** What a person reads when a room name is refused. */
export const ROOM_NAME_RULE =
  'Room names are 1 to 64 characters: lowercase letters, digits, "-" and "_", starting with a letter or digit.';

/** The room of a page path (`/rooms/lobby` → `lobby`), or `undefined` for any other path. */
export function roomOfPath(path: string): string | undefined {
  const match = /^\/rooms\/([^/]+)\/?$/.exec(path);
  if (match?.[1] === undefined) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
  return isRoomName(name) ? name : undefined;
}

/** The page path of a room. */
export function roomPath(room: string): string {
  return `/rooms/${encodeURIComponent(room)}`;
}
