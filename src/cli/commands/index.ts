import type { Command } from '../command.js';
import { launchCommand } from './launch.js';
import { connectCommand, forgetCommand, stopCommand } from './control.js';
import { reportCommand, statusCommand } from './status.js';
import { versionCommand } from './version.js';
import { secretCommand } from './secret.js';
import { setupCniCommand } from './setup-cni.js';
import { resetCommand, rmpeerCommand } from './ipam.js';
import { attachCommand, detachCommand, exposeCommand, hideCommand, labelCommand, psCommand } from './endpoints.js';
import { policyCommand } from './policy.js';
import { dnsAddCommand, dnsArgsCommand, dnsLookupCommand, dnsRemoveCommand } from './dns.js';

/** Every `weft` command, in `weft --help` order. A new command is one file plus one line here. */
export const COMMANDS: readonly Command[] = [
  launchCommand,
  stopCommand,
  statusCommand,
  reportCommand,
  connectCommand,
  forgetCommand,
  secretCommand,
  attachCommand,
  detachCommand,
  exposeCommand,
  hideCommand,
  psCommand,
  labelCommand,
  policyCommand,
  dnsAddCommand,
  dnsRemoveCommand,
  dnsLookupCommand,
  dnsArgsCommand,
  rmpeerCommand,
  resetCommand,
  versionCommand,
  setupCniCommand,
];
