// memory(): buffer statistics of a device (bytes allocated, in use, pooled) and its live tensors.
import type { MemoryStats } from "./backend/backend.js";
import { type DeviceLike, resolveDevice } from "./device.js";
import { liveTensors as live } from "./scope.js";

export interface MemoryInfo extends MemoryStats {
  /**
   * Tensors on the device neither disposed nor garbage collected (a view counts as one), made
   * since trackTensors() or GRADWISE_TRACK_TENSORS=1 turned counting on; null while it is off.
   */
  liveTensors: number | null;
}

/** @example memory("cpu").allocatedBytes */
export function memory(device?: DeviceLike): MemoryInfo {
  const d = resolveDevice(device, "memory");
  return { ...d.backend.memory(), liveTensors: live(d.type) };
}
