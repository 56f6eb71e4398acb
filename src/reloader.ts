// --reload: watches the app's sources and calls back when one changes. fs.watch rests on
// inotify (Linux) or FSEvents (macOS), so an idle watcher costs no CPU at all.

import { type FSWatcher, watch } from 'node:fs'
import path from 'node:path'

const SOURCE = /\.(?:js|mjs|cjs|json)$/
/** Editors save in bursts (write, rename, chmod): one restart per burst. */
const SETTLE_MS = 200

export class Reloader {
  private readonly watchers: FSWatcher[] = []
  private timer: NodeJS.Timeout | undefined
  private changed = new Set<string>()

  constructor(
    root: string,
    extraFiles: string[],
    private readonly onChange: (files: string[]) => void,
  ) {
    this.watchers.push(
      watch(root, { recursive: true, persistent: false }, (_, name) => {
        if (name && SOURCE.test(name) && !name.split(path.sep).some((part) => part === 'node_modules' || part.startsWith('.'))) {
          this.note(path.join(root, name))
        }
      }),
    )
    for (const file of extraFiles) {
      const full = path.resolve(root, file)
      this.watchers.push(watch(full, { persistent: false }, () => this.note(full)))
    }
  }

  close(): void {
    clearTimeout(this.timer)
    for (const w of this.watchers) w.close()
  }

  private note(file: string): void {
    this.changed.add(file)
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      const files = [...this.changed]
      this.changed = new Set()
      this.onChange(files)
    }, SETTLE_MS)
  }
}
