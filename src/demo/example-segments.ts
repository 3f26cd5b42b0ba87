/**
 * Example audiences for the demo data, as Segment Query Language text (data only; parsed and
 * evaluated by `src/core/segments`). Every event name used here is one the demo generator emits. As
 * in the segment engine, an event's name is the `event` of a track call and the `name` of a page or
 * screen call: the web pricing page is `event('Pricing')` (path `/pricing`), the app's is
 * `event('Membership')`.
 */

export interface ExampleSegment {
  /** Stable identifier, kebab-case. */
  key: string;
  name: string;
  description: string;
  query: string;
}

export const EXAMPLE_SEGMENTS: readonly ExampleSegment[] = [
  {
    key: 'pricing-page-visitors',
    name: 'Pricing page visitors this week',
    description: 'Looked at the membership plans page on the web in the last 7 days.',
    query: "event('Pricing').where(property('path') = '/pricing').within(7 days).count() >= 1",
  },
  {
    key: 'big-spenders',
    name: 'Big spenders',
    description: 'Three or more orders over 100 (in the order currency) in 30 days.',
    query: "event('Order Completed').where(property('revenue') > 100).within(30 days).count() >= 3",
  },
  {
    key: 'abandoned-carts',
    name: 'Abandoned carts',
    description: 'Added a product in the last 7 days without completing an order within the following hour.',
    query: "event('Product Added').where(event('Order Completed').within(parent: 1 hours).count() = 0).within(7 days).count() >= 1",
  },
  {
    key: 'pro-plan',
    name: 'Pro plan',
    description: 'Members on the pro plan.',
    query: "trait('plan') = 'pro'",
  },
  {
    key: 'detractors',
    name: 'Detractors',
    description: 'Answered the NPS survey with 6 or less in the last 90 days.',
    query: "event('Survey Answered').where(property('score') <= 6).within(90 days).count() >= 1",
  },
  {
    key: 'promoters',
    name: 'Promoters',
    description: 'Answered the NPS survey with 9 or 10 in the last 90 days.',
    query: "event('Survey Answered').where(property('score') >= 9).within(90 days).count() >= 1",
  },
  {
    key: 'repeat-buyers',
    name: 'Repeat buyers',
    description: 'Two or more completed orders in 90 days.',
    query: "event('Order Completed').within(90 days).count() >= 2",
  },
  {
    key: 'recent-refunds',
    name: 'Refunded recently',
    description: 'Had an order refunded in the last 30 days.',
    query: "event('Order Refunded').within(30 days).count() >= 1",
  },
  {
    key: 'email-clickers',
    name: 'Email clickers',
    description: 'Clicked a link in a marketing e-mail in the last 30 days.',
    query: "event('Email Link Clicked').within(30 days).count() >= 1",
  },
  {
    key: 'app-users',
    name: 'Active app users',
    description: 'Opened the mobile app at least 3 times in 14 days.',
    query: "event('Application Opened').within(14 days).count() >= 3",
  },
  {
    key: 'window-shoppers',
    name: 'Window shoppers',
    description: 'Viewed 5 or more products in the last 7 days.',
    query: "event('Product Viewed').within(7 days).count() >= 5",
  },
  {
    key: 'enterprise-plan',
    name: 'Enterprise plan',
    description: 'Members on the enterprise plan.',
    query: "trait('plan') = 'enterprise'",
  },
];
