/**
 * The whole node configuration: one section per file under `sections/`, composed here. A new
 * feature adds its section file and one line below; `SiphonConfig` follows automatically.
 */
import { ConfigIssue } from './config-error.js';
import { join, obj, type Field, type Infer } from './fields.js';
import { adminSection } from './sections/admin.js';
import { authSection } from './sections/auth.js';
import { clusterSection } from './sections/cluster.js';
import { dnsSection } from './sections/dns.js';
import { advertisedAddressKey, listenSection } from './sections/listen.js';
import { logSection } from './sections/log.js';
import { metricsSection } from './sections/metrics.js';
import { natSection } from './sections/nat.js';
import { overloadSection } from './sections/overload.js';
import { proxySection } from './sections/proxy.js';
import { registrarSection } from './sections/registrar.js';
import { scriptSection } from './sections/script.js';
import { serverSection } from './sections/server.js';
import { transactionSection } from './sections/transaction.js';
import { transportSection } from './sections/transport.js';
import { tlsSection } from './sections/tls.js';
import { warmupSection } from './sections/warmup.js';

const configFields = obj({
  listen: listenSection,
  advertised_address: advertisedAddressKey,
  transaction: transactionSection,
  transport: transportSection,
  server: serverSection,
  log: logSection,
  metrics: metricsSection,
  admin: adminSection,
  registrar: registrarSection,
  auth: authSection,
  script: scriptSection,
  proxy: proxySection,
  cluster: clusterSection,
  nat: natSection,
  dns: dnsSection,
  overload: overloadSection,
  warmup: warmupSection,
  tls: tlsSection,
});

export type SiphonConfig = Infer<typeof configFields>;

/** The whole document, with the rules that span sections. */
export const configSchema: Field<SiphonConfig> = {
  expects: configFields.expects,
  decode(raw, path) {
    const config = configFields.decode(raw, path);
    for (const key of ['tls', 'wss'] as const) {
      if (config.listen[key].length > 0 && config.tls.certificate === null) {
        throw new ConfigIssue(join(path, 'tls.certificate'), `required when listen.${key} has listeners (with tls.private_key)`);
      }
    }
    return config;
  },
};
