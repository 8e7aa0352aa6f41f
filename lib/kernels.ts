import * as tf from '@tensorflow/tfjs'

// tfjs-node's Step kernel (@tensorflow/tfjs-node 4.22, dist/kernels/Step.js) is what ReLU's
// gradient runs (tfjs-core: dy * cast(step(x), 'float32')). It builds `ones(x.shape)`, and tfjs-core's
// `ones` fills a JavaScript typed array element by element on the main thread, then copies it into
// TensorFlow: per step of a small CNN at 96x96, batch 32, 1.9 million elements, about 5 ms of a 26 ms step, with
// a fresh array each time (page faults). tfpipe's kernel computes the same values with TensorFlow's
// own ops (Greater, Cast or Fill and Select, IsNan and Select), so nothing is made in JavaScript.
// tfjs-core's Mean and Sum gradients (global average pooling, mean losses) multiply by
// `ones(x.shape, 'float32')` the same way; tfpipe's are the same code with `fill(x.shape, 1)`, which is
// TensorFlow's Fill. Known upstream since 2019 (tensorflow/tfjs#1211: `ones` should call `fill`);
// not fixed in 4.22.

/** What `replaceKernels` replaces, as `BackendInfo.replacedKernels` names it. */
const NAMES = ['Step', 'Mean gradient', 'Sum gradient'] as const

let originalStep: tf.KernelConfig | undefined
const originalGradients = new Map<string, tf.GradConfig>()

/** Which of tfpipe's replacements are in use now. */
export function replacedKernels(): string[] {
  const inUse = [
    originalStep !== undefined && tf.getKernel('Step', 'tensorflow')?.kernelFunc === fastStep,
    tf.getGradient('Mean') === meanGradient,
    tf.getGradient('Sum') === sumGradient,
  ]
  return NAMES.filter((_, i) => inUse[i] === true)
}

/**
 * Registers tfpipe's Step kernel for the `tensorflow` backend and its Mean and Sum gradients in place
 * of tfjs' (or puts tfjs' back, with `replace` false). Call only with the `tensorflow` backend loaded.
 * Idempotent. Returns the names of the replacements in use.
 */
export function replaceKernels(replace: boolean): string[] {
  const step = tf.getKernel('Step', 'tensorflow')
  if (step === undefined) return replacedKernels()
  if (replace && step.kernelFunc !== fastStep) {
    originalStep = step
    tf.unregisterKernel('Step', 'tensorflow')
    tf.registerKernel({ kernelName: 'Step', backendName: 'tensorflow', kernelFunc: fastStep })
  } else if (!replace && step.kernelFunc === fastStep && originalStep !== undefined) {
    tf.unregisterKernel('Step', 'tensorflow')
    tf.registerKernel(originalStep)
  }
  for (const ours of [meanGradient, sumGradient]) {
    const current = tf.getGradient(ours.kernelName) as tf.GradConfig | undefined
    if (replace && current !== undefined && current !== ours) {
      originalGradients.set(ours.kernelName, current)
      tf.registerGradient(ours) // replaces silently (tfjs warns only with its DEBUG flag)
    } else if (!replace && current === ours) {
      const original = originalGradients.get(ours.kernelName)
      if (original !== undefined) tf.registerGradient(original)
    }
  }
  return replacedKernels()
}

// step(x, alpha): NaN where x is NaN, 1 where x > 0, alpha elsewhere (tfjs' definition). As in tfjs-node's
// kernel, TensorFlow's IsNan takes floating-point input only, so an int32 input fails the same way.
function fastStep(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const x = args.inputs.x as tf.Tensor
  const alpha = Number((args.attrs as { alpha?: number } | undefined)?.alpha ?? 0)
  return tf.tidy(() => {
    const positive = tf.greater(x, 0)
    const step = Object.is(alpha, 0) ? tf.cast(positive, 'float32') : tf.where(positive, tf.fill(x.shape, 1), tf.fill(x.shape, alpha))
    return tf.where(tf.isNaN(x), x, step)
  })
}

// dy reshaped to x's rank, with 1 on the reduced axes (tfjs-core's Mean and Sum gradients).
function expanded(dy: tf.Tensor | tf.Tensor[], x: tf.Tensor, axes: number[]): tf.Tensor {
  const shape = x.shape.slice()
  for (const a of axes) shape[a] = 1
  return tf.reshape(dy as tf.Tensor, shape)
}

// tfjs-core 4.22's gradients/Mean_grad.js with fill(x.shape, 1) for ones(x.shape, 'float32').
const meanGradient: tf.GradConfig = {
  kernelName: 'Mean',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const x = saved[0] as tf.Tensor
    const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape)
    const reduceSize = tf.util.sizeFromShape(tf.backend_util.computeOutAndReduceShapes(x.shape, axes)[1])
    return { x: () => tf.div(tf.mul(expanded(dy, x, axes), tf.fill(x.shape, 1)), reduceSize) }
  },
}

// tfjs-core 4.22's gradients/Sum_grad.js with fill(x.shape, 1) for ones(x.shape, 'float32').
const sumGradient: tf.GradConfig = {
  kernelName: 'Sum',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const x = saved[0] as tf.Tensor
    const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape)
    const derX = tf.mul(expanded(dy, x, axes), tf.fill(x.shape, 1))
    return { x: () => derX }
  },
}
