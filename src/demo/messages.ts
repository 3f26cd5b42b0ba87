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

// Module-local copies: reading imported bindings in the hot path costs a getter call under some loaders.
const WEB_LIB = { name: LIB_WEB.name, version: LIB_WEB.version };
const IOS_LIB = { name: LIB_IOS.name, version: LIB_IOS.version };
const ANDROID_LIB = { name: LIB_ANDROID.name, version: LIB_ANDROID.version };
const NODE_LIB = { name: LIB_NODE.name, version: LIB_NODE.version };
const APP = { name: APP_NAME, version: APP_VERSION.version, build: APP_VERSION.build, namespace: APP_VERSION.namespace };
const SHOP = SHOP_URL;
const HOME_URL = SHOP_URL + '/';
const C_A = C_ANALYTICS;
const C_AD = C_ADVERTISING;
const C_E = C_EMAIL;
const C_S = C_SMS;

const PAD2: readonly string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const PAD3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let isoMinute = Number.NaN;
let isoPrefix = '';

/** `new Date(t).toISOString()`, faster: the "YYYY-MM-DDTHH:MM:" prefix is reused within a minute. */
export function isoTime(t: number): string {
  const minute = Math.floor(t / 60_000);
  if (minute !== isoMinute) {
    isoMinute = minute;
    isoPrefix = new Date(minute * 60_000).toISOString().slice(0, 17);
  }
  const ms = t - minute * 60_000;
  return `${isoPrefix}${PAD2[Math.floor(ms / 1000)] as string}.${PAD3[ms % 1000] as string}Z`;
}

export function consentPreferences(bits: number): Record<string, boolean> {
  return {
    Analytics: (bits & C_A) !== 0,
    Advertising: (bits & C_AD) !== 0,
    'Email Marketing': (bits & C_E) !== 0,
    'SMS Marketing': (bits & C_S) !== 0,
  };
}

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
  url = HOME_URL;
  title = 'Northwind Outfitters';
  referrer = '';
  search = '';
  campaign: Campaign | null = null;
  /** Messages this session causes later (a refund, a survey, a reminder e-mail), played by `finish`. */
  private followUps: Array<{ t: number; run: () => void }> = [];
  /** Whether a page call already happened in this session (the next one is referred by it). */
  private onSite = false;

  constructor(private readonly rng: Random) {}

  /** Start a new session at time `t0` for `customer` (fresh arrays: the previous session owns its own). */
  begin(t0: number, customer: Customer): void {
    this.msgs = [];
    this.times = [];
    this.followUps = [];
    this.t = t0;
    this.customer = customer;
    this.device = null;
    this.userId = undefined;
    this.consent = -1;
    this.campaign = null;
    this.referrer = '';
    this.search = '';
    this.path = '/';
    this.url = HOME_URL;
    this.title = 'Northwind Outfitters';
    this.onSite = false;
  }

  /**
   * Schedule server-side messages at a later time `t` (hours or days on). They must not change customer
   * state: sessions in between are generated afterwards and would see a future state.
   */
  later(t: number, run: () => void): void {
    this.followUps.push({ t, run });
  }

  /** Play the follow-ups due before `endMs`, in time order, after the session's own messages. */
  finish(endMs: number): void {
    if (this.followUps.length === 0) return;
    const list = this.followUps.sort((a, b) => a.t - b.t);
    this.followUps = [];
    for (const f of list) {
      if (f.t > endMs) continue;
      this.t = Math.max(this.t, f.t);
      f.run();
    }
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
        app: { name: APP.name, version: APP.version, build: APP.build, namespace: APP.namespace },
        device,
        library:
          a.type === 'ios' ? { name: IOS_LIB.name, version: IOS_LIB.version } : { name: ANDROID_LIB.name, version: ANDROID_LIB.version },
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
      ctx.library = { name: WEB_LIB.name, version: WEB_LIB.version };
      ctx.campaign = this.campaign === null ? {} : { name: this.campaign.name, source: this.campaign.source, medium: this.campaign.medium };
      ctx.timezone = c.timezone;
      ctx.ip = d.ip;
    }
    if (this.consent >= 0) ctx.consent = { categoryPreferences: consentPreferences(this.consent) };
    return ctx;
  }

  /** Build a client message with the common fields in the key order of the device's SDK. */
  private client(
    type: DemoMessageType,
    event: string | undefined,
    name: string | undefined,
    properties: Props | undefined,
    traits: Props | undefined,
    groupId?: string,
    previousId?: string,
  ): void {
    const d = this.device as Device;
    const t = this.t;
    const timestamp = isoTime(t);
    let m: DemoMessage;
    if (d.app !== null) {
      m = { type, anonymousId: d.anonymousId, messageId: this.rng.uuid(d.app.type === 'ios'), timestamp } as DemoMessage;
      if (this.userId !== undefined) m.userId = this.userId;
      m.context = this.clientContext();
      m.integrations = {};
      if (event !== undefined) m.event = event;
      if (name !== undefined) m.name = name;
    } else {
      m = { timestamp, integrations: {} } as DemoMessage;
      if (event !== undefined) m.event = event;
      m.type = type;
    }
    if (properties !== undefined) m.properties = properties;
    if (traits !== undefined) m.traits = traits;
    if (groupId !== undefined) m.groupId = groupId;
    if (previousId !== undefined) m.previousId = previousId;
    if (d.app === null) {
      if (name !== undefined) m.name = name;
      m.context = this.clientContext();
      m.messageId = `ajs-next-${t}-${this.rng.uuid()}`;
      if (this.userId !== undefined) m.userId = this.userId;
      m.anonymousId = d.anonymousId;
      m._metadata = { bundled: ['Segment.io'], unbundled: [], bundledIds: [] };
    }
    this.msgs.push(m);
    this.times.push(t);
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
    this.url = SHOP + path + search;
    this.client('page', undefined, name, { name, path, referrer: this.referrer, search, title, url: this.url }, undefined);
  }

  /** Where the visit comes from, before its first page call. */
  land(referrer: string, campaign: Campaign | null): void {
    this.onSite = false;
    this.referrer = referrer;
    this.campaign = campaign;
  }

  screen(name: string, properties: Props = {}): void {
    this.client('screen', undefined, name, properties, undefined);
  }

  track(event: string, properties: Props): void {
    this.client('track', event, undefined, properties, undefined);
  }

  identify(traits: Props): void {
    this.client('identify', undefined, undefined, undefined, traits);
  }

  group(groupId: string, traits: Props): void {
    this.client('group', undefined, undefined, undefined, traits, groupId);
  }

  /** `userId` becomes the session's user from here on. */
  alias(previousId: string, userId: string): void {
    this.userId = userId;
    this.client('alias', undefined, undefined, undefined, undefined, undefined, previousId);
  }

  // ---- server side (analytics-node) ----

  private serverContext(ip: string | null, externalIds: ExternalId[] | null): Record<string, unknown> {
    const ctx: Record<string, unknown> = {};
    if (ip !== null) ctx.ip = ip;
    if (externalIds !== null) ctx.externalIds = externalIds;
    ctx.library = { name: NODE_LIB.name, version: NODE_LIB.version };
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
    const m = { timestamp: isoTime(this.t), integrations: {}, event, type: 'track', properties } as DemoMessage;
    m.context = this.serverContext(ip, externalIds);
    this.server(m, ids);
  }

  serverIdentify(userId: string, traits: Props, externalIds: ExternalId[] | null = null): void {
    const m = { timestamp: isoTime(this.t), integrations: {}, type: 'identify', traits } as DemoMessage;
    m.context = this.serverContext(null, externalIds);
    this.server(m, { userId });
  }
}
