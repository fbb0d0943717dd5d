// Public API: re-exports only.
export { Tensor, type DType, type Dims, type NestedNumbers } from "./tensor.js";
export {
  tensor, zeros, ones, full, rand, randn, arange, zerosLike, onesLike, fullLike, type TensorOptions, type NestedBooleans,
  type NestedNumbersIn, type NumberArray,
} from "./creation.js";
export { manualSeed, initialSeed } from "./random.js";
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from "./autograd/grad_mode.js";
export type { Node } from "./autograd/node.js";
export {
  requestDevice, setDefaultDevice, defaultDevice, shutdown, type Device, type DeviceLike, type DeviceType,
  type DeviceOptions,
} from "./device.js";
export { memory, type MemoryInfo } from "./memory.js";
export { scope, keep, trackTensors } from "./scope.js";
export { where, maximum, minimum, pow, add, sub, mul, div, rsub, type BinaryFn } from "./functional.js";
export type { Operand } from "./ops/apply.js";
export type { ValuesIndices } from "./ops/rules.js";
export * as optim from "./optim/index.js";
export { formatTensor } from "./format.js";
export { setFusion, isFusionEnabled } from "./ops/lazy.js";
