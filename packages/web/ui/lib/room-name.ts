/** Room names, as the API accepts them (protocol's `isRoomName`, copied so the bundle stays free of server code). */
const ROOM_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** What a person reads when a room name is refused. */
export const ROOM_NAME_RULE =
  'Room names are 1 to 64 characters: lowercase letters, digits, "-" and "_", starting with a letter or digit.';

/** Is `name` a valid room name? */
export function isRoomName(name: string): boolean {
  return ROOM_NAME.test(name);
}

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
