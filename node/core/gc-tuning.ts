/**
 * V8 settings the SIP node runs with, applied once at start-up before any traffic (warm-up too).
 *
 * Allocation-site pretenuring is turned off. V8 watches how many objects of each allocation site
 * survive a scavenge and, past a ratio, allocates that site's objects straight into the old
 * generation. A node handling a batch of datagrams has the whole batch's transactions and proxy
 * response contexts alive when a scavenge falls inside it, so V8 pretenures those sites. A finished
 * transaction then lies in the old generation still pointing at its request, and every scavenge
 * until the next full mark-compact keeps that young request alive and promotes it, with everything it
 * points at. Measured in bench:pipeline, 60,000 REGISTERs through the inbound batcher: 329 MB promoted
 * and about 1 s of scavenge pauses with pretenuring, 92 MB and 0.35–0.39 s without. Objects that do
 * live long (bindings, settled transactions) now reach the old generation by surviving two
 * scavenges; those figures include that cost.
 *
 * Node documents changing V8 flags at run time as unpredictable in general; this flag is read only
 * by the collector's feedback pass, and the node sets it before it has decided anything.
 */
import { setFlagsFromString } from 'node:v8';

export function tuneGarbageCollector(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
