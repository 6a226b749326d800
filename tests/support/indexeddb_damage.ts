/**
 * Damages an IndexedDB event store's own rows, for the damage contract; used
 * under fake-indexeddb and in real Chromium alike.
 */
import type { DamageKit } from "@verdict/verdict/testing";
import type { IndexedDbEventStore } from "@verdict/verdict/indexeddb";

/** Makes a kit for stores opened on the databases `nameOf` tells. */
export function indexedDbDamage(
  nameOf: (store: IndexedDbEventStore) => string,
): DamageKit<IndexedDbEventStore> {
  // Each row of these tests holds one event: its index key is [stream, version].
  const edit = (
    store: IndexedDbEventStore,
    streamId: string,
    version: number,
    change: (row: Record<string, unknown>) => Record<string, unknown> | undefined,
  ) =>
    new Promise<void>((resolve, reject) => {
      const request = indexedDB.open(nameOf(store));
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const db = request.result;
        const tx = db.transaction("events", "readwrite");
        const events = tx.objectStore("events");
        const cursor = events.index("stream").openCursor([streamId, version]);
        cursor.onsuccess = () => {
          const found = cursor.result;
          if (!found) return reject(new Error(`no row for ${streamId}@${version}`));
          const changed = change({ ...(found.value as Record<string, unknown>) });
          if (changed) found.update(changed);
          else found.delete();
        };
        tx.oncomplete = () => {
          db.close();
          resolve();
        };
        tx.onerror = () => reject(tx.error);
      };
    });
  return {
    damage: (store, streamId, version, damage) =>
      edit(store, streamId, version, (row) => {
        if (damage === "metadata is an array") row.metadata = [1];
        else if (damage === "type is empty") row.type = "";
        else delete row.data;
        return row;
      }),
    remove: (store, streamId, version) => edit(store, streamId, version, () => undefined),
  };
}
