/**
 * Loading data without a server (demo, import): append to the node's durable log, then run the same
 * processor the server runs (with its collection gate) until the log is drained. Segments and consent
 * followers catch up from the event store when the server next starts. Only while no server runs on this data directory:
 * the log has one writer. With a server, send over HTTP instead.
 */
import type { Config } from '../config/config.ts';
import type { EventLog } from '../log/event-log.ts';
import { openClientLog } from '../log/open-log.ts';
import { createPrivacyGate } from '../privacy/gate-factory.ts';
import { Processor, processorSettings } from '../processor/processor.ts';
import type { Store } from '../storage/store.ts';

export async function loadDirect<T>(config: Config, store: Store, append: (log: EventLog) => Promise<T>): Promise<T> {
  const { log, follow } = await openClientLog(config.log, store);
  try {
    const result = await append(log);
    const head = log.headSeq();
    // The same collection gate the server applies: policies, consent carried on events, suppression.
    const gate = await createPrivacyGate(store, config, Date.now);
    const processor = new Processor({ log, store, ...processorSettings(config), gate, now: Date.now, report: () => undefined });
    await processor.init();
    follow(processor.processedSeq);
    // Until everything appended is processed (a NATS stream reaches the reader a little after the append).
    while (processor.processedSeq < head) if ((await processor.runOnce()) === 0) await new Promise((r) => setTimeout(r, 5));
    await processor.makeDurable();
    log.truncate(processor.durableSeq);
    return result;
  } finally {
    await log.close();
  }
}
