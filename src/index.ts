// ugn's public API: the types an app and a config file are written against, and
// createServer, node:http's counterpart on ugn's engine in one process (src/in-process.ts).

export type { Environ } from './bridge/environ.js'
export type { App, Body, Chunk, HeaderList, StartResponse, Write } from './bridge/exchange.js'
export { FileWrapper } from './bridge/file-wrapper.js'
export type { RequestInput } from './bridge/input.js'
export { RequestBodyError } from './bridge/input.js'
export type { Config } from './config/settings.js'
export type { ArbiterInfo, ServerHooks, Settings, UserConfig, WorkerInfo, WorkerProcess } from './config/types.js'
export { defineConfig } from './config/types.js'
export { VERSION } from './version.js'
export { createServer, Server } from './in-process.js'
