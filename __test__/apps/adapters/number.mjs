export const app = 42
