import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { CROWDSEC_SCHEMA } from '../crowdsec/settings.js';
import { closest, type ConfigIssue, type ErrorCode, type PathSegment } from './errors.js';

export const AJV_OPTIONS = { allErrors: true, verbose: true, strict: false } as const;
/** Made by `npm run build` next to this file (dist only); see precompile-validators.ts. */
export const PRECOMPILED_FILE = 'validators.generated.js';

/** Validators made at build time, by the JSON of their schema. */
const precompiled = new Map<string, ValidateFunction>();
try {
  const generated = `./${PRECOMPILED_FILE}`;
  const loaded = (await import(generated)) as { precompiled: [string, ValidateFunction][] };
  for (const [schema, validate] of loaded.precompiled) precompiled.set(schema, validate);
} catch {
  // not built (tests run the sources): ajv compiles every schema
}

interface SchemaCompiler { compile(schema: object): ValidateFunction }
let ajv: SchemaCompiler | undefined;
function ajvInstance(): SchemaCompiler {
  if (!ajv) {
    // loaded only when a schema was not precompiled (user modules, the sources under test)
    const Ajv = (createRequire(import.meta.url)('ajv') as { default: new (options: typeof AJV_OPTIONS) => SchemaCompiler }).default;
    ajv = new Ajv(AJV_OPTIONS);
  }
  return ajv;
}

const stringList = { type: 'array', items: { type: 'string' } } as const;

/** Top-level keys peruse knows. Others are kept with a warning: a user module may read them. */
export const topLevelSchema = {
  type: 'object',
  required: ['actions'],
  properties: {
    actions: {
      type: 'object', description: 'Execution chains, by name, in order.',
      additionalProperties: {
        anyOf: [
          { type: 'array', description: 'A chain: its steps, in order.', items: { type: 'object' } },
          {
            type: 'object', description: 'The chains of a rule file, here, with its parameters; their names become NAME/CHAIN.',
            required: ['include'], additionalProperties: false,
            properties: {
              include: { type: 'string', description: 'Rule file, relative to this file (e.g. "rules/sshd.json").' },
              params: { type: 'object', description: 'Values of the rule file\'s parameters (its top-level "params" holds their defaults).' },
            },
          },
        ],
      },
    },
    params: { type: 'object', description: 'Parameters with their default values, used in strings as <<name>> (a string that is only "<<name>>" takes the value\'s type). An include may set them.' },
    patterns: { type: 'object', description: 'Named regex pieces, used in strings as <<name>>; a piece may use others.', additionalProperties: { type: 'string' } },
    email: {
      type: 'object',
      description: 'Email settings shared by action_email and action_dailyReport.',
      additionalProperties: false,
      properties: {
        from: { type: 'string', description: 'Sender address.' },
        to: { anyOf: [stringList, { type: 'string' }], description: 'Recipient addresses (one address as a string is read as a list of one).' },
        subject: { type: 'string', description: 'Subject of the daily report (default "Pyruse Report"); action_email has its own.' },
        sendmail: { ...stringList, minItems: 1, description: 'Program (and arguments) that reads a whole message on stdin.' },
        timeoutSeconds: { type: 'number', minimum: 0.1, maximum: 3600, description: 'Deadline of one sendmail run in seconds (default 120): past it its whole process group is killed and the message retried.' },
        smtp: {
          type: 'object', description: 'Send through SMTP instead of sendmail.', additionalProperties: false, required: ['host'],
          properties: {
            host: { type: 'string', description: 'SMTP server.' },
            port: { type: 'integer', minimum: 1, maximum: 65535, description: 'SMTP port.' },
            secure: { type: 'boolean', description: 'TLS from the start (port 465).' },
            auth: { type: 'object', additionalProperties: false, required: ['user', 'pass'], properties: { user: { type: 'string' }, pass: { type: 'string' } }, description: 'Credentials.' },
          },
        },
      },
    },
    $schema: { type: 'string', description: 'The JSON Schema of this file, for editors (`peruse schema`); peruse ignores it.' },
    storage: { type: 'string', description: 'Directory for state files.' },
    '8bit-message-encoding': { type: 'string', description: 'Encoding of journal fields that are not valid UTF-8.' },
    debug: { type: 'boolean', description: 'Verbose logging.' },
    nftBan: { type: 'object', additionalProperties: false, properties: { nft: { ...stringList, minItems: 1, description: 'nft command (argv).' }, maxBatch: { type: 'integer', minimum: 1, maximum: 1000, description: 'Most bans merged into one nft command when bans arrive faster than nft runs (default 500; 1 = one command per ban, as Pyruse).' }, timeoutSeconds: { type: 'number', minimum: 0.1, maximum: 3600, description: 'Deadline of one nft command in seconds (default 30): past it its whole process group is killed and its bans retried.' } }, description: 'action_nftBan settings.' },
    ipsetBan: { type: 'object', additionalProperties: false, properties: { ipset: { ...stringList, minItems: 1, description: 'ipset command (argv).' }, maxBatch: { type: 'integer', minimum: 1, maximum: 1000, description: 'Most bans merged into one `ipset restore` when bans arrive faster than ipset runs (default 500; 1 = one command per ban, as Pyruse).' }, timeoutSeconds: { type: 'number', minimum: 0.1, maximum: 3600, description: 'Deadline of one ipset command in seconds (default 30): past it its whole process group is killed and its bans retried.' } }, description: 'action_ipsetBan settings.' },
    modules: { type: 'string', description: 'Directory of user modules (*.js, *.mjs), relative to the config file.' },
    journal: {
      type: 'object', additionalProperties: false, description: 'Where and how `peruse run` reads the journal.',
      properties: {
        directory: { type: 'string', description: 'Read journal files from this directory (e.g. written by systemd-journal-remote).' },
        file: { anyOf: [{ type: 'string' }, stringList], description: 'Read these journal files.' },
        matches: { ...stringList, description: 'journalctl match expressions (FIELD=value).' },
        system: { type: 'boolean', description: 'Only the system journal.' },
        journalctl: { type: 'string', description: 'Path of journalctl.' },
        since: { type: 'string', description: 'With no cursor saved yet, start at this time instead of the tail.' },
        reader: { enum: ['auto', 'journalctl'], description: 'How the journal files are read up to their end before journalctl follows them: `auto` (default) reads them in-process, about twice as fast, and leaves to journalctl anything it cannot read exactly as journalctl would (and everything when `matches` is set); `journalctl` always spawns journalctl.' },
      },
    },
    metrics: {
      type: 'object', additionalProperties: false, description: 'Prometheus endpoint.',
      properties: { port: { type: 'integer', minimum: 1, maximum: 65535, description: 'TCP port on loopback (1-65535); when it is taken, peruse runs without metrics and says so.' }, host: { type: 'string', description: 'Listen address (default 127.0.0.1).' } },
    },
    firewall: {
      type: 'object', additionalProperties: false, description: 'What peruse makes in the firewall for its bans (see docs/install.md).',
      properties: {
        manage: { type: 'boolean', description: 'Create the sets the ban steps name and the rules dropping their traffic (default true); false: the admin makes them.' },
        iptables: { ...stringList, minItems: 1, description: 'iptables command (argv) for the DROP rules of IPv4 ipsets.' },
        ip6tables: { ...stringList, minItems: 1, description: 'ip6tables command (argv) for the DROP rules of IPv6 ipsets.' },
      },
    },
    crowdsec: CROWDSEC_SCHEMA,
    limits: {
      type: 'object', additionalProperties: false, description: 'Memory bounds under attack.',
      properties: {
        counterKeys: { type: 'integer', minimum: 1, description: 'Maximum keys per counter; the oldest is evicted.' },
        dnatMappings: { type: 'integer', minimum: 1, description: 'Maximum live DNAT mappings.' },
        sessionKeys: { type: 'integer', minimum: 1, description: 'Maximum sessions per session memory (sessionRemember); the least recently written is evicted.' },
      },
    },
  },
} as const;

export const KNOWN_TOP_LEVEL = Object.keys(topLevelSchema.properties);

const compiled = new WeakMap<object, ValidateFunction>();

export function compileSchema(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = precompiled.get(JSON.stringify(schema)) ?? ajvInstance().compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** Validates `value` against `schema`; every ajv error becomes an issue under `basePath`. */
export function validateAgainst(schema: object, value: unknown, basePath: PathSegment[], code: ErrorCode): ConfigIssue[] {
  const validate = compileSchema(schema);
  if (validate(value)) return [];
  return (validate.errors ?? []).filter((e) => e.keyword !== 'if').map((e) => toIssue(e, basePath, code));
}

function toIssue(error: ErrorObject, basePath: PathSegment[], code: ErrorCode): ConfigIssue {
  const path = [...basePath, ...error.instancePath.split('/').slice(1).map(unescapePointer)];
  const params = error.params as Record<string, unknown>;
  let message: string;
  switch (error.keyword) {
    case 'additionalProperties': {
      const property = String(params.additionalProperty);
      path.push(property);
      const known = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
      const suggestion = closest(property, known);
      message = `unknown property "${property}"${suggestion ? `, did you mean "${suggestion}"?` : known.length ? ` (known: ${known.join(', ')})` : ''}`;
      break;
    }
    case 'required':
      message = `missing required property "${String(params.missingProperty)}"`;
      break;
    case 'enum':
      message = `must be one of ${((params.allowedValues as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'type':
      message = `must be ${String(params.type).replace(/,/g, ' or ')}`;
      break;
    default:
      message = error.message ?? error.keyword;
  }
  return { severity: 'error', code, path, message };
}

function unescapePointer(segment: string): PathSegment {
  const text = segment.replace(/~1/g, '/').replace(/~0/g, '~');
  return /^\d+$/.test(text) ? Number(text) : text;
}
