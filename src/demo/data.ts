/**
 * Reference data for the demo business ("Northwind Outfitters", an online store with web and mobile
 * apps): regions, countries, daily rhythm, names, products, campaigns. Plain constants, no randomness.
 */
import { WeightedTable } from './random.ts';

export const SHOP_HOST = 'shop.northwind.example';
export const SHOP_URL = `https://${SHOP_HOST}`;
export const APP_NAME = 'Northwind';

export const LIB_WEB = { name: 'analytics.js', version: 'npm:next-1.84.3' } as const;
export const LIB_IOS = { name: 'analytics-swift', version: '1.5.11' } as const;
export const LIB_ANDROID = { name: 'analytics-kotlin', version: '1.16.3' } as const;
export const LIB_NODE = { name: '@segment/analytics-node', version: '3.1.0' } as const;
export const APP_VERSION = { version: '5.12.1', build: '51201', namespace: 'com.northwind.shop' } as const;

export type PhoneStyle = 'nanp' | 'gb' | 'de' | 'fr' | 'nl' | 'es' | 'au' | 'nz' | 'sg';

export interface Country {
  code: string;
  locales: readonly string[];
  timezones: readonly string[];
  currency: string;
  /** Price multiplier from the USD list price. */
  fx: number;
  phone: PhoneStyle;
  callingCode: string;
  ipPrefixes: readonly string[];
  emailDomains: readonly string[];
}

export interface Region {
  key: 'americas' | 'europe' | 'apac';
  /** Share of the customer population. */
  share: number;
  /** Representative UTC offset in hours, used for the daily rhythm. */
  utcOffset: number;
  /** Probability that a visit without a recorded choice ends with the visitor answering the consent banner. */
  consentRate: number;
  countries: WeightedTable<Country>;
}

const COMMON_DOMAINS = ['gmail.com', 'gmail.com', 'gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'proton.me'];

function country(
  code: string,
  locales: string[],
  timezones: string[],
  currency: string,
  fx: number,
  phone: PhoneStyle,
  callingCode: string,
  ipPrefixes: string[],
  domains: string[] = [],
): Country {
  return { code, locales, timezones, currency, fx, phone, callingCode, ipPrefixes, emailDomains: [...COMMON_DOMAINS, ...domains] };
}

export const REGIONS: readonly Region[] = [
  {
    key: 'americas',
    share: 0.6,
    utcOffset: -6,
    consentRate: 0.15,
    countries: new WeightedTable([
      [
        country(
          'US',
          ['en-US', 'en-US', 'en-US', 'es-US'],
          ['America/New_York', 'America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles', 'America/Los_Angeles'],
          'USD',
          1,
          'nanp',
          '1',
          ['73', '24', '98', '71', '108', '172.58', '174', '47'],
          ['comcast.net', 'aol.com'],
        ),
        0.85,
      ],
      [
        country(
          'CA',
          ['en-CA', 'en-CA', 'fr-CA'],
          ['America/Toronto', 'America/Vancouver', 'America/Toronto'],
          'CAD',
          1.35,
          'nanp',
          '1',
          ['70', '99', '142', '184'],
          ['rogers.com', 'shaw.ca'],
        ),
        0.15,
      ],
    ]),
  },
  {
    key: 'europe',
    share: 0.3,
    utcOffset: 1,
    consentRate: 0.6,
    countries: new WeightedTable([
      [
        country(
          'GB',
          ['en-GB'],
          ['Europe/London'],
          'GBP',
          0.79,
          'gb',
          '44',
          ['81', '86', '90', '2.24', '31.94'],
          ['btinternet.com', 'sky.com'],
        ),
        0.35,
      ],
      [
        country(
          'DE',
          ['de-DE'],
          ['Europe/Berlin'],
          'EUR',
          0.92,
          'de',
          '49',
          ['91', '87', '79', '84.132'],
          ['gmx.de', 'web.de', 't-online.de'],
        ),
        0.3,
      ],
      [country('FR', ['fr-FR'], ['Europe/Paris'], 'EUR', 0.92, 'fr', '33', ['90', '82', '176.161', '88'], ['orange.fr', 'free.fr']), 0.18],
      [country('NL', ['nl-NL'], ['Europe/Amsterdam'], 'EUR', 0.92, 'nl', '31', ['77', '145', '94.212'], ['ziggo.nl', 'kpnmail.nl']), 0.09],
      [country('ES', ['es-ES'], ['Europe/Madrid'], 'EUR', 0.92, 'es', '34', ['83', '88.27', '2.136'], ['telefonica.net']), 0.08],
    ]),
  },
  {
    key: 'apac',
    share: 0.1,
    utcOffset: 9,
    consentRate: 0.2,
    countries: new WeightedTable([
      [
        country(
          'AU',
          ['en-AU'],
          ['Australia/Sydney', 'Australia/Melbourne', 'Australia/Brisbane'],
          'AUD',
          1.52,
          'au',
          '61',
          ['1.120', '101.160', '203.219', '49.180'],
          ['bigpond.com', 'optusnet.com.au'],
        ),
        0.6,
      ],
      [country('NZ', ['en-NZ'], ['Pacific/Auckland'], 'NZD', 1.65, 'nz', '64', ['121.98', '115.188', '203.86'], ['xtra.co.nz']), 0.15],
      [
        country('SG', ['en-SG', 'zh-SG'], ['Asia/Singapore'], 'SGD', 1.35, 'sg', '65', ['116.86', '119.56', '42.60'], ['singnet.com.sg']),
        0.25,
      ],
    ]),
  },
];

/** Relative traffic by local hour of day (0–23): quiet nights, a lunchtime bump, an evening peak. */
export const HOURLY = [
  0.3, 0.17, 0.1, 0.07, 0.07, 0.1, 0.2, 0.4, 0.6, 0.75, 0.85, 0.92, 1.0, 0.95, 0.9, 0.9, 0.95, 1.05, 1.15, 1.3, 1.4, 1.3, 0.95, 0.55,
] as const;
/** Relative traffic by local day of week, Sunday first: weekend browsing, a mid-week dip. */
export const WEEKLY = [1.15, 1.0, 0.95, 0.93, 0.97, 1.02, 1.12] as const;

export const FIRST_NAMES: readonly string[] =
  'James,Mary,Olivia,Liam,Emma,Noah,Ava,Sophia,Lucas,Mia,Ethan,Amelia,Mateo,Isabella,Aiden,Chloe,Leon,Hannah,Lena,Felix,Emil,Clara,Jules,Louise,Hugo,Camille,Daan,Sanne,Lucía,Pablo,Wei,Mei,Arjun,Priya,Hiroshi,Yuki,Kofi,Amara,Omar,Fatima,Sean,Aoife,Grace,Jack,Charlotte,Oliver,Zoe,Daniel,Sara,David,Nina,Marco,Elena,Tom,Julia,Ben'.split(
    ',',
  );

export const LAST_NAMES: readonly string[] =
  "Smith,Johnson,Williams,Brown,Jones,Garcia,Miller,Davis,Martinez,Lopez,Wilson,Anderson,Taylor,Thomas,Moore,Martin,Lee,Thompson,White,Harris,Clark,Lewis,Walker,Young,Müller,Schmidt,Schneider,Fischer,Weber,Dubois,Lefebvre,Moreau,de Jong,Jansen,Visser,Fernández,González,Rodríguez,Chen,Wang,Nguyen,Kim,Patel,Singh,Tanaka,Sato,O'Brien,Murphy,Kelly,Rossi,Bianchi,Novak,Kowalski,Andersson,Nielsen,Mensah,Okafor,Haddad,Cohen,Silva".split(
    ',',
  );

export const COMPANY_WORDS_A: readonly string[] =
  'Blue,North,Silver,Bright,Iron,Green,Summit,Harbor,Pioneer,Atlas,Cedar,Nova,Vertex,Lumen,Granite,Beacon'.split(',');
export const COMPANY_WORDS_B: readonly string[] = 'River,Star,Field,Bridge,Stone,Wave,Peak,Grove,Point,Works,Forge,Path'.split(',');
export const COMPANY_SUFFIX: readonly string[] =
  'Labs,Logistics,Health,Analytics,Retail,Studios,Systems,Partners,Foods,Capital,Inc.,GmbH,Ltd'.split(',');
export const INDUSTRIES: readonly string[] = 'Retail,Software,Healthcare,Logistics,Hospitality,Education,Finance,Manufacturing,Media'.split(
  ',',
);

export const PLANS = ['free', 'basic', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];

export interface Category {
  slug: string;
  name: string;
  /** Median USD price. */
  median: number;
  nouns: readonly string[];
}

export const CATEGORIES: readonly Category[] = [
  {
    slug: 'apparel',
    name: 'Apparel',
    median: 38,
    nouns: ['T-Shirt', 'Hoodie', 'Flannel Shirt', 'Rain Jacket', 'Fleece', 'Chinos', 'Beanie', 'Down Vest'],
  },
  { slug: 'shoes', name: 'Shoes', median: 95, nouns: ['Trail Runner', 'Hiking Boot', 'Sneaker', 'Sandal', 'Chelsea Boot'] },
  {
    slug: 'outdoor',
    name: 'Outdoor',
    median: 70,
    nouns: ['Daypack', 'Tent', 'Sleeping Bag', 'Headlamp', 'Water Bottle', 'Camp Stove', 'Trekking Poles'],
  },
  { slug: 'home', name: 'Home', median: 45, nouns: ['Throw Blanket', 'Candle', 'Mug Set', 'Cutting Board', 'Linen Sheets', 'Planter'] },
  { slug: 'accessories', name: 'Accessories', median: 28, nouns: ['Wallet', 'Sunglasses', 'Watch Strap', 'Scarf', 'Tote Bag', 'Belt'] },
  {
    slug: 'electronics',
    name: 'Electronics',
    median: 120,
    nouns: ['Wireless Earbuds', 'Power Bank', 'Action Camera', 'Smart Scale', 'Bluetooth Speaker'],
  },
];

export const ADJECTIVES: readonly string[] =
  'Classic,Alpine,Coastal,Everyday,Summit,Urban,Heritage,Ultralight,Organic,Midnight,Canyon,Nordic'.split(',');

export const SEARCH_TERMS: readonly string[] =
  'rain jacket,hiking boots,gift for dad,tent 2 person,wool socks,hoodie,earbuds,sale,sleeping bag,linen,backpack,running shoes,candle,sunglasses,water bottle,fleece,camp stove,vest,scarf,boots'.split(
    ',',
  );

export const BLOG_POSTS: readonly string[] =
  'how-to-layer-for-winter,best-day-hikes-2025,care-guide-waxed-cotton,packing-list-weekend-camping,sustainability-report'.split(',');

export const EMAIL_CAMPAIGNS: readonly string[] = 'Weekly Picks,New Arrivals,Back in Stock,Members Sale,Cart Reminder,Trail Journal'.split(
  ',',
);
export const REFUND_REASONS: readonly string[] = 'wrong_size,damaged,not_as_described,changed_mind,late_delivery'.split(',');
export const NPS_QUESTION = 'How likely are you to recommend Northwind to a friend?';
export const NPS_COMMENTS = [
  '',
  '',
  '',
  'Fast shipping!',
  'Great quality',
  'Returns were painful',
  'Too expensive',
  'Love the app',
  'Sizing runs small',
] as const;
