// `app` exists but is not a function.
export const app = { not: 'a function' }
