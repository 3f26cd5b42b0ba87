/**
 * Building Segment messages exactly as each SDK shapes them: the browser (`analytics.js` next), the
 * mobile SDKs (`analytics-swift`, `analytics-kotlin`) and the server (`@segment/analytics-node`). An
 * `Emitter` collects the messages of one session, in time order, with the session's device context.
 */
import { APP_NAME, APP_VERSION, LIB_ANDROID, LIB_IOS, LIB_NODE, LIB_WEB, SHOP_URL } from './data.ts';
import { C_ADVERTISING, C_ANALYTICS, C_EMAIL, C_SMS, type Customer, type Device } from './population.ts';
import type { Random } from './random.ts';

export type DemoMessageType = 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias';

/** One message as an SDK sends it (batch transport fields such as `sentAt` and `writeKey` excluded). */
export interface DemoMessage {
  type: DemoMessageType;
  messageId: string;
  timestamp: string;
  userId?: string;
  anonymousId?: string;
  event?: string;
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  groupId?: string;
  previousId?: string;
  context: Record<string, unknown>;
  integrations?: Record<string, unknown>;
  _metadata?: Record<string, unknown>;
}

export interface Campaign {
  name: string;
  source: string;
  medium: string;
}

export interface ExternalId {
  id: string;
  type: string;
  collection: string;
  encoding: string;
}

type Props = Record<string, unknown>;

export function consentPreferences(bits: number): Record<string, boolean> {
  return {
    Analytics: (bits & C_ANALYTICS) !== 0,
    Advertising: (bits & C_ADVERTISING) !== 0,
    'Email Marketing': (bits & C_EMAIL) !== 0,
    'SMS Marketing': (bits & C_SMS) !== 0,
  };
}

const WEB_METADATA_BUNDLED = ['Segment.io'];

export class Emitter {
  msgs: DemoMessage[] = [];
  times: number[] = [];
  t = 0;
  customer!: Customer;
  device: Device | null = null;
  userId: string | undefined;
  /** Consent bits to attach on client events, or -1 when the visitor never chose. */
  consent = -1;
  path = '/';
  url = SHOP_URL + '/';
  title = 'Northwind Outfitters';
  referrer = '';
  search = '';
  campaign: Campaign | null = null;
  /** Whether a page call already happened in this session (the next one is referred by it). */
  private onSite = false;

  constructor(private readonly rng: Random) {}

  /** Start a new session at time `t0` for `customer` (fresh arrays: the previous session owns its own). */
  begin(t0: number, customer: Customer): void {
    this.msgs = [];
    this.times = [];
    this.t = t0;
    this.customer = customer;
    this.device = null;
    this.userId = undefined;
    this.consent = -1;
    this.campaign = null;
    this.referrer = '';
    this.search = '';
    this.path = '/';
    this.url = SHOP_URL + '/';
    this.title = 'Northwind Outfitters';
    this.onSite = false;
  }

  /** Let some time pass: exponential with the given mean, at least `minMs`. */
  wait(meanMs: number, minMs = 250): void {
    this.t += minMs + Math.floor(this.rng.exponential(meanMs));
  }

  private push(t: number, m: DemoMessage): void {
    this.msgs.push(m);
    this.times.push(t);
  }

  // ---- client side (browser or app, whichever device this session uses) ----

  private clientContext(): Record<string, unknown> {
    const d = this.device as Device;
    const c = this.customer;
    let ctx: Record<string, unknown>;
    if (d.app !== null) {
      const a = d.app;
      const device: Record<string, unknown> = { manufacturer: a.manufacturer, type: a.type, model: a.model, name: a.name, id: d.deviceId };
      if (d.advertisingId !== null) device.advertisingId = d.advertisingId;
      device.adTrackingEnabled = d.adTrackingEnabled;
      ctx = {
        app: { name: APP_NAME, version: APP_VERSION.version, build: APP_VERSION.build, namespace: APP_VERSION.namespace },
        device,
        library: { name: a.type === 'ios' ? LIB_IOS.name : LIB_ANDROID.name, version: a.type === 'ios' ? LIB_IOS.version : LIB_ANDROID.version },
        os: { name: a.osName, version: a.osVersion },
        screen: { width: a.screen.width, height: a.screen.height, density: a.screen.density },
        network: { wifi: (this.t & 3) !== 0, cellular: (this.t & 3) === 0, bluetooth: false },
        locale: c.locale,
        timezone: c.timezone,
        ip: d.ip,
      };
      if (a.type === 'android') ctx.userAgent = `Dalvik/2.1.0 (Linux; U; Android ${a.osVersion}; ${a.model} Build/AP3A.241105.007)`;
    } else {
      const w = d.web;
      ctx = {
        page: { path: this.path, referrer: this.referrer, search: this.search, title: this.title, url: this.url },
        userAgent: w?.userAgent ?? '',
      };
      if (w?.chromium) {
        ctx.userAgentData = {
          brands: [
            { brand: 'Google Chrome', version: w.chromium.version },
            { brand: 'Chromium', version: w.chromium.version },
            { brand: 'Not_A Brand', version: '24' },
          ],
          mobile: w.chromium.mobile,
          platform: w.chromium.platform,
        };
      }
      ctx.locale = c.locale;
      ctx.library = { name: LIB_WEB.name, version: LIB_WEB.version };
      ctx.campaign = this.campaign === null ? {} : { name: this.campaign.name, source: this.campaign.source, medium: this.campaign.medium };
      ctx.timezone = c.timezone;
      ctx.ip = d.ip;
    }
    if (this.consent >= 0) ctx.consent = { categoryPreferences: consentPreferences(this.consent) };
    return ctx;
  }

  /** Fill in the common fields in the key order of the device's SDK. */
  private client(type: DemoMessageType, body: Partial<DemoMessage>): void {
    const d = this.device as Device;
    const t = this.t;
    const ts = new Date(t).toISOString();
    if (d.app !== null) {
      const ios = d.app.type === 'ios';
      const m: DemoMessage = { type, anonymousId: d.anonymousId, messageId: this.rng.uuid(ios), timestamp: ts } as DemoMessage;
      if (this.userId !== undefined) m.userId = this.userId;
      m.context = this.clientContext();
      m.integrations = {};
      Object.assign(m, body);
      this.push(t, m);
      return;
    }
    const m = { timestamp: ts, integrations: {} } as DemoMessage;
    if (body.event !== undefined) m.event = body.event;
    m.type = type;
    Object.assign(m, body);
    m.context = this.clientContext();
    m.messageId = `ajs-next-${t}-${this.rng.uuid()}`;
    if (this.userId !== undefined) m.userId = this.userId;
    m.anonymousId = d.anonymousId;
    m._metadata = { bundled: WEB_METADATA_BUNDLED.slice(), unbundled: [], bundledIds: [] };
    this.push(t, m);
  }

  /** A browser page call; also moves the session to that page (later events carry it in `context.page`). */
  page(name: string, path: string, title: string, search = ''): void {
    if (this.onSite) {
      this.referrer = this.url;
      this.campaign = null;
    }
    this.onSite = true;
    this.path = path;
    this.search = search;
    this.title = title;
    this.url = SHOP_URL + path + search;
    this.client('page', {
      properties: { name, path, referrer: this.referrer, search, title, url: this.url },
      name,
    });
  }

  /** Where the visit comes from, before its first page call. */
  land(referrer: string, campaign: Campaign | null): void {
    this.onSite = false;
    this.referrer = referrer;
    this.campaign = campaign;
  }

  screen(name: string, properties: Props = {}): void {
    this.client('screen', { name, properties });
  }

  track(event: string, properties: Props): void {
    this.client('track', { event, properties });
  }

  identify(traits: Props): void {
    this.client('identify', { traits });
  }

  group(groupId: string, traits: Props): void {
    this.client('group', { groupId, traits });
  }

  alias(previousId: string, userId: string): void {
    this.client('alias', { previousId, userId });
  }

  // ---- server side (analytics-node) ----

  private serverContext(ip: string | null, externalIds: ExternalId[] | null): Record<string, unknown> {
    const ctx: Record<string, unknown> = {};
    if (ip !== null) ctx.ip = ip;
    if (externalIds !== null) ctx.externalIds = externalIds;
    ctx.library = { name: LIB_NODE.name, version: LIB_NODE.version };
    return ctx;
  }

  private server(m: DemoMessage, ids: { userId?: string | undefined; anonymousId?: string | undefined }): void {
    const t = this.t;
    if (ids.userId !== undefined) m.userId = ids.userId;
    if (ids.anonymousId !== undefined) m.anonymousId = ids.anonymousId;
    m.messageId = `node-next-${t}-${this.rng.uuid()}`;
    m._metadata = { nodeVersion: 'v20.20.2', jsRuntime: 'node' };
    this.push(t, m);
  }

  serverTrack(
    event: string,
    properties: Props,
    ids: { userId?: string | undefined; anonymousId?: string | undefined },
    ip: string | null = null,
    externalIds: ExternalId[] | null = null,
  ): void {
    const m = { timestamp: new Date(this.t).toISOString(), integrations: {}, event, type: 'track', properties } as DemoMessage;
    m.context = this.serverContext(ip, externalIds);
    this.server(m, ids);
  }

  serverIdentify(userId: string, traits: Props, externalIds: ExternalId[] | null = null): void {
    const m = { timestamp: new Date(this.t).toISOString(), integrations: {}, type: 'identify', traits } as DemoMessage;
    m.context = this.serverContext(null, externalIds);
    this.server(m, { userId });
  }
}
