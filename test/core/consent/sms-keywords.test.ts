/** Inbound SMS keywords: whole-message matching, the changes they make, the standard replies. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSmsKeyword, smsKeywordChanges, smsReply, type SmsKeyword } from '../../../src/core/consent/index.ts';
import { T0 } from './builders.ts';

describe('parseSmsKeyword', () => {
  const cases: Array<[string, SmsKeyword]> = [
    ['STOP', 'stop'],
    ['  stop ', 'stop'],
    ['Stop!', 'stop'],
    ['stop all', 'stop'],
    ['unsubscribe', 'stop'],
    ['Cancel', 'stop'],
    ['end', 'stop'],
    ['QUIT.', 'stop'],
    ['start', 'start'],
    ['Yes', 'start'],
    ['unstop', 'start'],
    ['help', 'help'],
    ['INFO', 'help'],
    ['please stop texting me', 'none'],
    ['stopping', 'none'],
    ['', 'none'],
    ['see you at the start', 'none'],
  ];
  for (const [body, keyword] of cases)
    it(`reads ${JSON.stringify(body)} as ${keyword}`, () => assert.equal(parseSmsKeyword(body), keyword));
});

describe('smsKeywordChanges', () => {
  const inbound = (body: string) =>
    smsKeywordChanges({ from: '+15551234567', body, at: T0, providerMessageId: 'SM123', sourceId: 'twilio' });

  it('unsubscribes the sender on STOP, and leaves the purpose alone', () => {
    const outcome = inbound(' Stop ');
    assert.deepEqual(outcome.subscription, {
      contactPoint: { channel: 'sms', address: '+15551234567' },
      status: 'unsubscribed',
      proof: { source: 'sms', at: T0, method: 'keyword', keyword: 'STOP', eventMessageId: 'SM123', sourceId: 'twilio' },
    });
    assert.equal(outcome.consent, null);
  });

  it('subscribes the sender and grants sms_marketing on START, with the message as proof', () => {
    const outcome = inbound('yes');
    assert.equal(outcome.subscription?.status, 'subscribed');
    assert.equal(outcome.subscription?.proof.keyword, 'YES');
    assert.deepEqual(outcome.consent, {
      purpose: 'sms_marketing',
      choice: 'granted',
      proof: { source: 'sms', at: T0, eventMessageId: 'SM123', sourceId: 'twilio' },
    });
  });

  for (const body of ['HELP', 'hello there']) {
    it(`changes nothing for ${JSON.stringify(body)}`, () => {
      const outcome = inbound(body);
      assert.equal(outcome.subscription, null);
      assert.equal(outcome.consent, null);
    });
  }
});

describe('smsReply', () => {
  it('fills in the brand and contact', () => {
    assert.equal(
      smsReply('help', 'Acme', 'support@acme.io'),
      'Acme: For help contact support@acme.io. Msg & data rates may apply. Reply STOP to cancel.',
    );
    assert.match(smsReply('stop', 'Acme', '') ?? '', /^Acme: You are unsubscribed/);
  });
  it('does not reply to an ordinary message', () => assert.equal(smsReply('none', 'Acme', ''), null));
});
