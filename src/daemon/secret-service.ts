import { PASSWORD_ENV, RETIRED_PSK_WIPE_MS, WeftError, type Logger } from '../common/index.js';
import { type ClusterKeyring, type PskKdf, loadClusterSecret } from '../crypto/index.js';
import type { DaemonConfig } from './config.js';

/** What `GET /status` shows about the secret: never the secret, nor anything derived from it. */
export interface SecretStatus {
  source: 'file' | 'fd' | 'env' | 'none';
  /** Secrets accepted now: 1, or 2 during a rotation (the first is the one we initiate with). */
  secrets: number;
  kdf: PskKdf[];
  /** Time the last derivation took (Argon2id of each password). ms */
  deriveMs: number;
  rotatedAt?: string;
}

/**
 * The daemon's cluster secret: loaded once at start (from --password-file, the launcher's pipe
 * or WEFT_PASSWORD, which is then removed from process.env), swapped by {@link rotate}.
 *
 * Lifecycle: load() once before the mesh starts; keyring() any time (new connections read it);
 * rotate() replaces the keyring for new handshakes only — established sessions keep their
 * keys; the replaced keyring is wiped RETIRED_PSK_WIPE_MS later (handshakes that began before
 * the swap may still use it). stop() wipes everything.
 */
export class SecretService {
  private current: ClusterKeyring | null = null;
  private state: SecretStatus = { source: 'none', secrets: 0, kdf: [], deriveMs: 0 };
  private passwordFile: string | undefined;
  private readonly retired = new Map<NodeJS.Timeout, ClusterKeyring>();

  constructor(private readonly config: DaemonConfig, private readonly log: Logger) {
    this.passwordFile = config.passwordFile;
  }

  /** Load the secret (warnings are logged). Scrubs WEFT_PASSWORD from process.env, even on failure. */
  async load(): Promise<void> {
    try {
      const s = await loadClusterSecret({ passwordFile: this.config.passwordFile, passwordFd: this.config.passwordFd, env: process.env });
      for (const w of s.warnings) this.log.warn(w);
      this.current = s.keyring;
      if (s.keyring) {
        this.state = { source: s.source, secrets: s.keyring.size, kdf: [...s.keyring.kdfs], deriveMs: s.keyring.deriveMs };
        this.log.info({ source: s.source, secrets: s.keyring.size, kdf: s.keyring.kdfs, deriveMs: s.keyring.deriveMs }, 'cluster secret loaded');
      }
    } finally {
      // Node's environment copy (what child processes inherit); /proc/self/environ keeps what exec gave us.
      delete process.env[PASSWORD_ENV];
    }
  }

  keyring(): ClusterKeyring | null {
    return this.current;
  }

  get encrypted(): boolean {
    return this.current !== null;
  }

  status(): SecretStatus {
    return { ...this.state, kdf: [...this.state.kdf] };
  }

  /**
   * Load the secret file again (or `passwordFile`, which then becomes the file for later
   * rotations) and use it for new handshakes. Throws WEFT_ERR_SECRET — and keeps the old
   * secret — when this daemon runs without a secret, the source is not a file, or it is bad.
   */
  async rotate(passwordFile?: string): Promise<SecretStatus> {
    if (!this.current) {
      throw new WeftError('WEFT_ERR_SECRET', 'this daemon runs without a cluster secret; restart it with --password-file to encrypt (a running cluster cannot switch)');
    }
    const path = passwordFile ?? this.passwordFile;
    if (path === undefined) {
      throw new WeftError('WEFT_ERR_SECRET', `this daemon got its secret from ${this.state.source === 'env' || this.state.source === 'fd' ? PASSWORD_ENV : 'no file'}; name the new secret file: weft secret rotate --password-file PATH`);
    }
    const s = await loadClusterSecret({ passwordFile: path });
    for (const w of s.warnings) this.log.warn(w);
    const old = this.current;
    this.current = s.keyring!;
    this.passwordFile = path;
    const t = setTimeout(() => { this.retired.delete(t); old.destroy(); }, RETIRED_PSK_WIPE_MS);
    t.unref();
    this.retired.set(t, old);
    this.state = { source: 'file', secrets: s.keyring!.size, kdf: [...s.keyring!.kdfs], deriveMs: s.keyring!.deriveMs, rotatedAt: new Date().toISOString() };
    this.log.info({ secrets: this.state.secrets, kdf: this.state.kdf, deriveMs: this.state.deriveMs }, 'cluster secret rotated: new handshakes use the new keyring; established sessions are kept');
    return this.status();
  }

  stop(): void {
    for (const [t, k] of this.retired) { clearTimeout(t); k.destroy(); }
    this.retired.clear();
    this.current?.destroy();
  }
}
