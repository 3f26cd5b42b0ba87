/**
 * Inbound SMS keywords (CTIA / carrier conventions): STOP-like words unsubscribe the sending number,
 * START-like words resubscribe it, HELP-like words ask for the help reply.
 *
 * A keyword counts only as the whole message: `stop` or ` Stop! ` is a keyword, `please stop texting`
 * is not (carriers match whole messages; guessing intent from prose is how numbers get wrongly opted
 * out or in). Case, whitespace (`Stop all` is STOPALL) and trailing `.`/`!` are ignored.
 *
 * START is an express opt-in by the phone's owner: it subscribes the number and grants
 * `sms_marketing`. STOP unsubscribes only that number; the purpose is left alone, so the person's
 * other numbers are unaffected.
 */
import type { ConsentChange } from './state.ts';
import type { SubscriptionChange, SubscriptionProof } from './subscriptions.ts';

export type SmsKeyword = 'stop' | 'start' | 'help' | 'none';

export const SMS_KEYWORDS: Readonly<Record<Exclude<SmsKeyword, 'none'>, readonly string[]>> = {
  stop: ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'],
  start: ['START', 'YES', 'UNSTOP'],
  help: ['HELP', 'INFO'],
};

/** The standard replies; `{brand}` and `{contact}` are filled in by `smsReply`. */
export const SMS_REPLIES: Readonly<Record<Exclude<SmsKeyword, 'none'>, string>> = {
  stop: '{brand}: You are unsubscribed and will receive no more messages. Reply START to resubscribe.',
  start: '{brand}: You are subscribed to marketing messages. Msg & data rates may apply. Reply HELP for help, STOP to cancel.',
  help: '{brand}: For help contact {contact}. Msg & data rates may apply. Reply STOP to cancel.',
};

/** Which keyword an inbound message is, if any. */
export function parseSmsKeyword(body: string): SmsKeyword {
  const word = normaliseKeyword(body);
  for (const [keyword, words] of Object.entries(SMS_KEYWORDS) as [Exclude<SmsKeyword, 'none'>, readonly string[]][]) {
    if (words.includes(word)) return keyword;
  }
  return 'none';
}

/** Upper case, without whitespace (so `Stop all` is STOPALL) or trailing `.`/`!`. */
function normaliseKeyword(body: string): string {
  return body
    .replace(/\s+/g, '')
    .replace(/[.!]+$/, '')
    .toUpperCase();
}

/** The reply text for a keyword, or `null` for an ordinary message (it gets no automatic reply). */
export function smsReply(keyword: SmsKeyword, brand: string, contact: string): string | null {
  if (keyword === 'none') return null;
  return SMS_REPLIES[keyword].replaceAll('{brand}', brand).replaceAll('{contact}', contact);
}

/** Where an inbound message came from, for the proof. */
export interface InboundSms {
  /** The sender, in E.164. */
  readonly from: string;
  readonly body: string;
  /** When the message was received, ms since the epoch. */
  readonly at: number;
  /** The SMS provider's message id. */
  readonly providerMessageId?: string;
  readonly sourceId?: string;
}

/** What an inbound message changes. `none` and `help` change nothing. */
export interface SmsKeywordOutcome {
  readonly keyword: SmsKeyword;
  readonly subscription: SubscriptionChange | null;
  readonly consent: ConsentChange | null;
}

/** The subscription (and consent) changes an inbound message makes, with the message as proof. */
export function smsKeywordChanges(sms: InboundSms): SmsKeywordOutcome {
  const keyword = parseSmsKeyword(sms.body);
  if (keyword === 'none' || keyword === 'help') return { keyword, subscription: null, consent: null };
  const proof: SubscriptionProof = {
    source: 'sms',
    at: sms.at,
    method: 'keyword',
    keyword: normaliseKeyword(sms.body),
    ...(sms.providerMessageId !== undefined ? { eventMessageId: sms.providerMessageId } : {}),
    ...(sms.sourceId !== undefined ? { sourceId: sms.sourceId } : {}),
  };
  const contactPoint = { channel: 'sms', address: sms.from.trim() } as const;
  if (keyword === 'stop') return { keyword, subscription: { contactPoint, status: 'unsubscribed', proof }, consent: null };
  const { method: _method, keyword: _keyword, ...consentProof } = proof;
  return {
    keyword,
    subscription: { contactPoint, status: 'subscribed', proof },
    consent: { purpose: 'sms_marketing', choice: 'granted', proof: consentProof },
  };
}
