/**
 * Where the app keeps things across reloads. The stores take this small interface rather than idb-keyval itself,
 * so their logic is tested in Node with an in-memory map and runs in the browser on IndexedDB.
 */
import { createStore, del, get, set, values } from 'idb-keyval';

export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  values<T>(): Promise<T[]>;
}

/** One IndexedDB object store (database "sparsegpt-webgpu"), opened on first use. */
export function indexedDbStore(storeName: string): KeyValueStore {
  let store: ReturnType<typeof createStore> | undefined;
  // Each object store gets its own database: idb-keyval opens a database with exactly one store.
  const open = () => (store ??= createStore(`sparsegpt-webgpu-${storeName}`, storeName));
  return {
    get: (key) => get(key, open()),
    set: (key, value) => set(key, value, open()),
    delete: (key) => del(key, open()),
    values: () => values(open()),
  };
}

export function memoryStore(): KeyValueStore {
  const map = new Map<string, unknown>();
  return {
    get: async <T>(key: string) => structuredClone(map.get(key)) as T | undefined,
    set: async (key, value) => void map.set(key, structuredClone(value)),
    delete: async (key) => void map.delete(key),
    values: async <T>() => [...map.values()].map((v) => structuredClone(v) as T),
  };
}

/** IndexedDB where the page has it (browsers), memory elsewhere (Node tests, private modes that refuse it). */
export function defaultStore(storeName: string): KeyValueStore {
  return typeof indexedDB === 'undefined' ? memoryStore() : indexedDbStore(storeName);
}
