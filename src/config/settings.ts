import path from 'node:path';

export interface EmailSettings {
  from: string;
  to: string[];
  subject: string;
  sendmail?: string[];
  /** Deadline of one sendmail run, in seconds. */
  timeoutSeconds?: number;
  smtp?: { host: string; port?: number; secure?: boolean; auth?: { user: string; pass: string } };
}

export interface JournalSettings {
  directory?: string;
  file?: string | string[];
  matches?: string[];
  system?: boolean;
  journalctl?: string;
  since?: string;
  /** How the journal files are read up to their end before journalctl follows them. */
  reader?: 'auto' | 'journalctl';
}

/** The top-level config, typed. Unknown keys stay reachable through `section()` for user modules. */
export class Settings {
  readonly configFile: string;
  readonly configDir: string;
  readonly storage: string;
  readonly encoding: string;
  readonly debug: boolean;
  readonly email: EmailSettings;

  constructor(private readonly raw: Record<string, unknown>, configFile: string) {
    this.configFile = configFile;
    this.configDir = path.dirname(path.resolve(configFile));
    const storage = typeof raw.storage === 'string' ? raw.storage : '/var/lib/peruse';
    // Pyruse compat: a relative storage path is relative to the working directory
    this.storage = path.resolve(storage);
    this.encoding = typeof raw['8bit-message-encoding'] === 'string' ? raw['8bit-message-encoding'] : 'iso-8859-1';
    this.debug = raw.debug === true;
    const email = (raw.email ?? {}) as Partial<Omit<EmailSettings, 'to'>> & { to?: string | string[] };
    this.email = {
      from: email.from ?? 'peruse@localhost',
      // Pyruse compat: one address written as a string (Pyruse would iterate its characters)
      to: typeof email.to === 'string' ? [email.to] : email.to ?? ['root@localhost'],
      // Pyruse compat: the subject of the daily report; action_email has its own default
      subject: email.subject ?? 'Pyruse Report',
      sendmail: email.sendmail,
      timeoutSeconds: email.timeoutSeconds,
      smtp: email.smtp,
    };
  }

  /** A top-level section by name, e.g. `nftBan`; `{}` when absent. */
  section<T extends object = Record<string, unknown>>(name: string): Partial<T> {
    const value = this.raw[name];
    return (value && typeof value === 'object' ? value : {}) as Partial<T>;
  }

  get journal(): JournalSettings {
    return this.section<JournalSettings>('journal');
  }

  get modulesDir(): string | undefined {
    return typeof this.raw.modules === 'string' ? path.resolve(this.configDir, this.raw.modules) : undefined;
  }

  get rawConfig(): Readonly<Record<string, unknown>> {
    return this.raw;
  }
}
