import * as tf from '@tensorflow/tfjs'

// tfjs-node's Step kernel (@tensorflow/tfjs-node 4.22, dist/kernels/Step.js) is what ReLU's
// gradient runs (tfjs-core: dy * cast(step(x), 'float32')). It builds `ones(x.shape)`, and tfjs-core's
// `ones` fills a JavaScript typed array element by element on the main thread, then copies it into
// TensorFlow: per step of a small CNN at 96x96, batch 32, 1.9 million elements, about 5 ms of a 26 ms step, with
// a fresh array each time (page faults). tfpipe's kernel computes the same values with TensorFlow's
// own ops (for ReLU, Sign and Relu; otherwise Greater, two Fills and Select, IsNan and Select), so
// nothing is made in JavaScript.
// tfjs-core's Mean and Sum gradients (global average pooling, mean losses) multiply by
// `ones(x.shape, 'float32')` the same way; tfpipe's are the same code with `fill(x.shape, 1)`, which is
// TensorFlow's Fill. Known upstream since 2019 (tensorflow/tfjs#1211: `ones` should call `fill`);
// not fixed in 4.22.

// One piece of tfjs that tfpipe replaces: its registry entry now, and how to put a config in its place.
// tfjs' registries hand back the config object registered, so "ours is in use" is an identity check.
interface Replacement { readonly name: string, readonly ours: object, current(): object | undefined, register(config: object): void }

const replacements: readonly Replacement[] = [
  {
    name: 'Step', ours: { kernelName: 'Step', backendName: 'tensorflow', kernelFunc: fastStep } satisfies tf.KernelConfig,
    current: () => tf.getKernel('Step', 'tensorflow'),
    register: (config) => { tf.unregisterKernel('Step', 'tensorflow'); tf.registerKernel(config as tf.KernelConfig) },
  },
  ...(['Mean', 'Sum'] as const).map((kernelName): Replacement => ({
    name: `${kernelName} gradient`, ours: reductionGradient(kernelName),
    current: () => tf.getGradient(kernelName) as tf.GradConfig | undefined,
    register: (config) => tf.registerGradient(config as tf.GradConfig), // replaces silently (tfjs warns only with its DEBUG flag)
  })),
]
// tfjs' own configs, kept while ours are registered in their place
const originals = new Map<string, object>()

/** Which of tfpipe's replacements are in use now. */
export function replacedKernels(): string[] {
  return replacements.filter((r) => r.current() === r.ours).map((r) => r.name)
}

/**
 * Registers tfpipe's Step kernel for the `tensorflow` backend and its Mean and Sum gradients in place
 * of tfjs' (or puts tfjs' back, with `replace` false). Call only with the `tensorflow` backend loaded
 * (without its Step kernel, nothing is replaced). Idempotent. Returns the names of the replacements in use.
 */
export function replaceKernels(replace: boolean): string[] {
  if (tf.getKernel('Step', 'tensorflow') === undefined) return replacedKernels()
  for (const r of replacements) {
    const current = r.current()
    if (current === undefined) continue
    if (replace && current !== r.ours) {
      originals.set(r.name, current)
      r.register(r.ours)
    } else if (!replace && current === r.ours) {
      const original = originals.get(r.name)
      if (original !== undefined) r.register(original)
    }
  }
  return replacedKernels()
}

// step(x, alpha): NaN where x is NaN, 1 where x > 0, alpha elsewhere (tfjs' definition). As in tfjs-node's
// kernel, TensorFlow's IsNan takes floating-point input only, so an int32 input fails the same way.
function fastStep(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const x = args.inputs.x as tf.Tensor
  const alpha = Number((args.attrs as { alpha?: number } | undefined)?.alpha ?? 0)
  // ReLU's case (alpha 0, float32): Relu(Sign(x)) gives the same values in two float passes instead
  // of four (Greater, Cast, IsNan, Select). Every x that is not NaN gives the same bits (-0 and the
  // denormals TensorFlow flushes give 0); NaN gives NaN, though TensorFlow's vectorized Sign clears
  // a NaN's sign bit, which the four-op path keeps. On the bench's CNN at 96x96: 0.57 against 1.21 ms
  // per step at one intra-op thread, 1.21 against 2.78 at two (`npm run bench:kernels`, "step alone").
  if (Object.is(alpha, 0) && x.dtype === 'float32') return tf.tidy(() => tf.relu(tf.sign(x)))
  // Any other alpha (-0 too), or input that is not float32 (which IsNan rejects, as in tfjs-node's kernel).
  return tf.tidy(() => tf.where(tf.isNaN(x), x, tf.where(tf.greater(x, 0), tf.fill(x.shape, 1), tf.fill(x.shape, alpha))))
}

// tfjs-core 4.22's gradients/Mean_grad.js and Sum_grad.js with fill(x.shape, 1) for ones(x.shape,
// 'float32'): dy reshaped to x's rank (1 on the reduced axes) times ones, over the reduced size for Mean.
function reductionGradient(kernelName: 'Mean' | 'Sum'): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0] as tf.Tensor
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape)
      const shape = x.shape.slice()
      for (const a of axes) shape[a] = 1
      return {
        x: () => {
          const derX = tf.mul(tf.reshape(dy as tf.Tensor, shape), tf.fill(x.shape, 1))
          return kernelName === 'Sum' ? derX : tf.div(derX, tf.util.sizeFromShape(tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[1]))
        },
      }
    },
  }
}
