/** Argument checks shared by every public function: they throw at call time with the valid range and the value given. */

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  return String(value)
}

export function assertInteger(where: string, name: string, value: unknown, min: number, max = Infinity): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Infinity ? `an integer >= ${min}` : `an integer from ${min} to ${max}`
    const err = typeof value === 'number' ? RangeError : TypeError
    throw new err(`${where}: ${name} must be ${range}, got ${show(value)}`)
  }
}

/** An integer >= min, or Infinity. */
export function assertCount(where: string, name: string, value: unknown, min: number): asserts value is number {
  if (value === Infinity) return
  assertInteger(where, name, value, min)
}

export function assertNumber(where: string, name: string, value: unknown, min = -Infinity, max = Infinity): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    const err = typeof value === 'number' ? RangeError : TypeError
    throw new err(`${where}: ${name} must be a number from ${min} to ${max}, got ${show(value)}`)
  }
}

export function assertFunction(where: string, name: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(`${where}: ${name} must be a function, got ${show(value)}`)
}

export function assertOneOf<T extends string | number | boolean>(where: string, name: string, value: unknown, allowed: readonly T[]): asserts value is T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(`${where}: ${name} must be one of ${allowed.map((a) => show(a)).join(', ')}, got ${show(value)}`)
  }
}

export function assertSignal(where: string, value: unknown): asserts value is AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new TypeError(`${where}: signal must be an AbortSignal, got ${show(value)}`)
  }
}

export function assertObject(where: string, name: string, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') throw new TypeError(`${where}: ${name} must be an object, got ${show(value)}`)
}
