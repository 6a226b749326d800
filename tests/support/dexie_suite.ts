/**
 * The Dexie document store's contract cases: every document-store case
 * but the inline ones (no event store writes to Dexie), each on a fresh
 * database beside a memory event store. Run by tests/dexie_test.ts and, in
 * real Chromium, by tests/browser/contract_page.ts.
 */
import { DexieDocumentStore } from "@verdict/verdict/dexie";
import { MemoryEventStore } from "@verdict/verdict/memory";
import { type ContractCase, projectionContract } from "@verdict/verdict/testing";

let databases = 0;

export function dexieProjectionCases(prefix: string): ContractCase[] {
  return projectionContract(() => {
    const documents = new DexieDocumentStore({ name: `${prefix}-${databases++}` });
    const events = new MemoryEventStore();
    return {
      events,
      documents,
      close: async () => {
        await events.close();
        await documents.close();
      },
    };
  }, { inline: false });
}
