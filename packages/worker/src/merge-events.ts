import type { ChatEvent, RoomName, Seq } from '@parley/protocol';

/**
 * Joins the events of several notify sends into one `NotifyBody` list that
 * keeps the contract "ascending seq per room": jobs run concurrently, so the
 * job carrying seq 7 may be queued before the one carrying seq 6. Rooms keep
 * the order of their first appearance; an event seen twice (a retried job
 * batched with its first try) is sent once.
 */
export function mergeEvents(lists: ReadonlyArray<readonly ChatEvent[]>): ChatEvent[] {
  if (lists.length === 1) return [...(lists[0] ?? [])];
  const byRoom = new Map<RoomName, Map<Seq, ChatEvent>>();
  for (const list of lists) {
    for (const event of list) {
      let room = byRoom.get(event.room);
      if (room === undefined) {
        room = new Map();
        byRoom.set(event.room, room);
      }
      if (!room.has(event.seq)) room.set(event.seq, event);
    }
  }
  const merged: ChatEvent[] = [];
  for (const room of byRoom.values()) {
    merged.push(...[...room.values()].sort((a, b) => a.seq - b.seq));
  }
  return merged;
}
