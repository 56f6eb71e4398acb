// `environ['ugn.file_wrapper']`: the counterpart of WSGI's wsgi.file_wrapper. An app returns
// `new FileWrapper(pathOrFd)` and the server streams the file; the wrapper marks a body the
// server may later send with sendfile(2) without the app changing.

import { createReadStream } from 'node:fs'
import type { Readable } from 'node:stream'

export class FileWrapper {
  constructor(
    readonly file: string | number,
    readonly blockSize = 64 * 1024,
  ) {}

  toReadable(): Readable {
    return typeof this.file === 'number'
      ? createReadStream('', { fd: this.file, highWaterMark: this.blockSize })
      : createReadStream(this.file, { highWaterMark: this.blockSize })
  }
}
