/**
 * Offline flag source: a LaunchDarkly-format JSON file (`flags`, `flagValues`, `segments`),
 * watched for changes.
 *
 * We watch the directory, not the file. Editors, config management and Kubernetes ConfigMaps save
 * by writing a temp file and renaming it over the path; a watch on the file follows the old inode
 * and goes deaf after the first save (the SDK's own FileDataSource has exactly this bug, spec
 * pitfall 9). A content hash drops events that did not change anything.
 *
 * Events: 'data' (RawData) after each successful load whose content changed.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { convertFlagFile, type FlagValueVersions } from './file-format.js';
import type { RawData } from './protocol.js';

export interface FileSourceOptions {
  /** Coalesces the burst of events one save produces (write + rename + chmod…). */
  debounceMs?: number;
}

export class FileSource extends EventEmitter {
  private watcher: fs.FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastHash: string | null = null;
  private badHash: string | null = null;
  private missingReported = false;
  private versions: FlagValueVersions = new Map();
  private data: RawData | null = null;
  private readonly dir: string;
  private readonly base: string;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    private readonly opts: FileSourceOptions = {},
  ) {
    super();
    this.dir = path.dirname(path.resolve(file));
    this.base = path.basename(file);
  }

  /** The last good data (empty before the first successful load). */
  current(): RawData {
    return this.data ?? { flags: {}, segments: {} };
  }

  /** Load synchronously (so the first put is ready at once), then watch. */
  start(): void {
    this.load();
    try {
      this.watcher = fs.watch(this.dir, { persistent: true }, (_type, name) => {
        // Kubernetes ConfigMaps swap a `..data` symlink in the directory, never touching our name.
        if (name == null || name === this.base || name.startsWith('..')) this.schedule();
      });
      this.watcher.on('error', (err) => this.log.error(`flags file: cannot watch ${this.dir}: ${err.message}`));
    } catch (err) {
      this.log.error(`flags file: cannot watch ${this.dir}: ${(err as Error).message}; changes to ${this.file} will not be seen`);
    }
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.load();
    }, this.opts.debounceMs ?? 15);
  }

  private load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'ENOENT') {
        this.log.error(`flags file ${this.file}: ${e.message}; keeping the last good flags`);
      } else if (!this.missingReported) {
        this.missingReported = true;
        const meanwhile = this.data ? 'keeping the last good flags until it is created again' : 'flags return their defaults until it is created';
        this.log.warning(`flags file ${this.file} does not exist; ${meanwhile}`);
      }
      if (!this.data) this.accept({ flags: {}, segments: {} }, null);
      return;
    }
    this.missingReported = false;
    // node:crypto on first read, not when the master starts (~5 ms).
    const hash = process.getBuiltinModule('node:crypto').createHash('sha1').update(text).digest('hex');
    if (hash === this.lastHash || hash === this.badHash) return;
    let data: RawData;
    try {
      data = convertFlagFile(JSON.parse(text), this.versions);
    } catch (err) {
      this.badHash = hash; // one error line per bad content, however many events the save produced
      this.log.error(`flags file ${this.file}: ${(err as Error).message}; keeping the last good flags`);
      if (!this.data) this.accept({ flags: {}, segments: {} }, null);
      return;
    }
    this.badHash = null;
    const reload = this.lastHash !== null;
    this.accept(data, hash);
    // The first load is reported by the relay ("flag data received"); reloads are news for the operator.
    if (reload) this.log.info(`flags file ${this.file}: reloaded, ${Object.keys(data.flags).length} flag(s)`);
  }

  private accept(data: RawData, hash: string | null): void {
    this.data = data;
    this.lastHash = hash;
    this.emit('data', data);
  }
}
