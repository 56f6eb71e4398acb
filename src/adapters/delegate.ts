// The fetch adapter's stand-ins for Request and Response answer the common questions
// themselves and hand everything else to the real object, built on first need.

/** Gives `stand.prototype` every member of `real.prototype` that it lacks, each forwarding
 * to the real object its instance's `materialize()` returns. */
export function delegateToReal(stand: { prototype: object }, real: { prototype: object }): void {
  for (const name of Object.getOwnPropertyNames(real.prototype)) {
    if (name === 'constructor' || Object.hasOwn(stand.prototype, name)) continue
    const descriptor = Object.getOwnPropertyDescriptor(real.prototype, name) as PropertyDescriptor
    if (descriptor.get !== undefined) {
      const get = descriptor.get
      Object.defineProperty(stand.prototype, name, {
        configurable: true,
        get(this: { materialize(): object }) {
          return get.call(this.materialize())
        },
      })
    } else if (typeof descriptor.value === 'function') {
      const method = descriptor.value as (...args: unknown[]) => unknown
      Object.defineProperty(stand.prototype, name, {
        configurable: true,
        writable: true,
        value(this: { materialize(): object }, ...args: unknown[]) {
          return method.apply(this.materialize(), args)
        },
      })
    }
  }
}
