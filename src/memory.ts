// memory(): buffer statistics of a device (bytes allocated, in use, pooled).
import type { MemoryStats } from "./backend/backend.js";
import { type DeviceLike, resolveDevice } from "./device.js";

/** @example memory("cpu").allocatedBytes */
export function memory(device?: DeviceLike): MemoryStats {
  return resolveDevice(device, "memory").backend.memory();
}
