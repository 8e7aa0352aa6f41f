import * as tf from '@tensorflow/tfjs'

// tfjs-node's Step kernel (@tensorflow/tfjs-node 4.22, dist/kernels/Step.js) is what ReLU's
// gradient runs (tfjs-core: dy * cast(step(x), 'float32')). It builds `ones(x.shape)`, and tfjs-core's
// `ones` fills a JavaScript typed array element by element on the main thread, then copies it into
// TensorFlow: per step of a small CNN at 96x96, batch 32, 1.9 million elements, about 5 ms of a 26 ms step, with
// a fresh array each time (page faults). tfpipe's kernel computes the same values with TensorFlow's
// own ops (Greater, Cast or Fill and Select, IsNan and Select), so nothing is made in JavaScript.
// Known upstream since 2019 (tensorflow/tfjs#1211: `ones` should call `fill`); not fixed in 4.22.

let original: tf.KernelConfig | undefined

/** True while tfpipe's Step kernel is the one registered for the `tensorflow` backend. */
export function stepKernelReplaced(): boolean {
  return original !== undefined && tf.getKernel('Step', 'tensorflow')?.kernelFunc === fastStep
}

/**
 * Registers tfpipe's Step kernel for the `tensorflow` backend in place of tfjs-node's (or puts
 * tfjs-node's back, with `replace` false). Idempotent. Returns whether tfpipe's is in use.
 */
export function replaceStepKernel(replace: boolean): boolean {
  const current = tf.getKernel('Step', 'tensorflow')
  if (current === undefined) return false
  if (replace && current.kernelFunc !== fastStep) {
    original = current
    tf.unregisterKernel('Step', 'tensorflow')
    tf.registerKernel({ kernelName: 'Step', backendName: 'tensorflow', kernelFunc: fastStep })
  } else if (!replace && current.kernelFunc === fastStep && original !== undefined) {
    tf.unregisterKernel('Step', 'tensorflow')
    tf.registerKernel(original)
  }
  return stepKernelReplaced()
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
