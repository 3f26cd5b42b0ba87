/** Devices, browsers and traffic sources of the demo store's visitors. Plain constants. */
import { WeightedTable } from './random.ts';

export interface WebDevice {
  kind: 'desktop' | 'mobileWeb' | 'tablet';
  userAgent: string;
  /** Chromium browsers also send `context.userAgentData`. */
  chromium: { platform: string; mobile: boolean; version: string } | null;
}

export const WEB_DEVICES: Record<WebDevice['kind'], WeightedTable<WebDevice>> = {
  desktop: new WeightedTable<WebDevice>([
    [
      {
        kind: 'desktop',
        userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        chromium: { platform: 'Windows', mobile: false, version: '131' },
      },
      0.38,
    ],
    [
      {
        kind: 'desktop',
        userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
        chromium: { platform: 'macOS', mobile: false, version: '131' },
      },
      0.2,
    ],
    [
      {
        kind: 'desktop',
        userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
        chromium: null,
      },
      0.17,
    ],
    [
      { kind: 'desktop', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0', chromium: null },
      0.1,
    ],
    [
      {
        kind: 'desktop',
        userAgent:
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
        chromium: { platform: 'Windows', mobile: false, version: '131' },
      },
      0.15,
    ],
  ]),
  mobileWeb: new WeightedTable<WebDevice>([
    [
      {
        kind: 'mobileWeb',
        userAgent:
          'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
        chromium: null,
      },
      0.55,
    ],
    [
      {
        kind: 'mobileWeb',
        userAgent: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
        chromium: { platform: 'Android', mobile: true, version: '131' },
      },
      0.45,
    ],
  ]),
  tablet: new WeightedTable<WebDevice>([
    [
      {
        kind: 'tablet',
        userAgent:
          'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
        chromium: null,
      },
      1,
    ],
  ]),
};

export interface AppDevice {
  type: 'ios' | 'android';
  manufacturer: string;
  model: string;
  name: string;
  osName: string;
  osVersion: string;
  screen: { width: number; height: number; density: number };
}

export const APP_DEVICES = new WeightedTable<AppDevice>([
  [
    {
      type: 'ios',
      manufacturer: 'Apple',
      model: 'iPhone16,1',
      name: 'iPhone',
      osName: 'iOS',
      osVersion: '18.1.1',
      screen: { width: 393, height: 852, density: 3 },
    },
    0.25,
  ],
  [
    {
      type: 'ios',
      manufacturer: 'Apple',
      model: 'iPhone15,2',
      name: 'iPhone',
      osName: 'iOS',
      osVersion: '17.6.1',
      screen: { width: 393, height: 852, density: 3 },
    },
    0.2,
  ],
  [
    {
      type: 'ios',
      manufacturer: 'Apple',
      model: 'iPhone14,7',
      name: 'iPhone',
      osName: 'iOS',
      osVersion: '18.0',
      screen: { width: 390, height: 844, density: 3 },
    },
    0.12,
  ],
  [
    {
      type: 'android',
      manufacturer: 'samsung',
      model: 'SM-S921B',
      name: 'e1s',
      osName: 'Android',
      osVersion: '14',
      screen: { width: 1080, height: 2340, density: 2.625 },
    },
    0.18,
  ],
  [
    {
      type: 'android',
      manufacturer: 'Google',
      model: 'Pixel 8',
      name: 'shiba',
      osName: 'Android',
      osVersion: '15',
      screen: { width: 1080, height: 2400, density: 2.625 },
    },
    0.13,
  ],
  [
    {
      type: 'android',
      manufacturer: 'OnePlus',
      model: 'CPH2449',
      name: 'OP594DL1',
      osName: 'Android',
      osVersion: '14',
      screen: { width: 1240, height: 2772, density: 3.5 },
    },
    0.12,
  ],
]);

export interface Referrer {
  url: string;
  campaign: { name: string; source: string; medium: string } | null;
}

/** Where a web visit comes from (email and SMS visits are built by their own sessions). */
export const REFERRERS = new WeightedTable<Referrer>([
  [{ url: '', campaign: null }, 0.34],
  [{ url: 'https://www.google.com/', campaign: null }, 0.3],
  [{ url: 'https://www.bing.com/', campaign: null }, 0.04],
  [{ url: 'https://www.google.com/', campaign: { name: 'brand_search', source: 'google', medium: 'cpc' } }, 0.1],
  [{ url: 'https://l.instagram.com/', campaign: { name: 'autumn_lookbook', source: 'instagram', medium: 'social' } }, 0.09],
  [{ url: 'https://www.facebook.com/', campaign: { name: 'retargeting_q4', source: 'facebook', medium: 'paid_social' } }, 0.07],
  [{ url: 'https://www.reddit.com/', campaign: null }, 0.03],
  [{ url: 'https://www.trailblog.example/best-gear', campaign: { name: 'affiliate', source: 'trailblog', medium: 'affiliate' } }, 0.03],
]);
